"""Links seen over LLDP, stored apart from the intended cabling.

`(:NIC|Port)-[:OBSERVED {seen_at}]->(:Port)`: the far end (a host NIC, or another switch's port)
as the switch that owns the target port hears it. The intended cabling stays in `CABLED`; the
difference between the two is a query (`drift.link_drift`).

Each switch read replaces that switch's observations as a whole (a cable pulled since the last
read disappears), and leaves an `(:LldpScan {key: switch, seen_at, neighbours})` record, so that
"intended but not seen" is only claimed for switches that have been read. A switch that could not
be read keeps its previous observations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..inventory.records import VertexId
from ..store.base import GraphStore, Statement

OBSERVED = "OBSERVED"
SCAN = "LldpScan"
SOURCES = ("NIC", "Port")


@dataclass(frozen=True, order=True)
class ObservedLink:
    """`source` (a NIC or a switch port) is heard on `port` (the key `switch/port` of the listening switch)."""

    source: VertexId
    port: str
    seen_at: str = ""

    @property
    def switch(self) -> str:
        return switch_of(self.port)

    @property
    def ends(self) -> tuple[VertexId, VertexId]:
        return self.source, ("Port", self.port)


def switch_of(port_key: str) -> str:
    """`leaf-01/Ethernet1/1` -> `leaf-01` (switch names never hold a slash)."""
    return port_key.split("/", 1)[0]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


async def load_observed(store: GraphStore, switches: Sequence[str] | None = None) -> list[ObservedLink]:
    """The stored observations: all, or those heard by `switches`."""
    found: list[ObservedLink] = []
    row = "{s: x.key, d: p.key, t: o.seen_at}"
    for label in SOURCES:
        if switches is None:
            rows = await store.read_collected(f"MATCH (x:{label})-[o:{OBSERVED}]->(p:Port)", row)
        elif switches:
            rows = await store.read_collected(
                f"UNWIND $switches AS k MATCH (:Switch {{key: k}})-[:HAS_PORT]->(p:Port)<-[o:{OBSERVED}]-(x:{label})",
                row,
                {"switches": list(switches)},
            )
        else:
            rows = []
        found.extend(ObservedLink((label, r["s"]), r["d"], r.get("t") or "") for r in rows)
    return sorted(found)


async def load_scans(store: GraphStore) -> dict[str, str]:
    """When each switch of the graph had its LLDP table last read into it: switch -> seen_at."""
    rows = await store.read_collected(f"MATCH (x:{SCAN}) MATCH (s:Switch {{key: x.key}})", "{k: x.key, t: x.seen_at}")
    return {r["k"]: r["t"] for r in rows}


def replace_statements(observed: Mapping[str, Sequence[ObservedLink]], seen_at: str | None = None) -> list[Statement]:
    """Statements that make the stored observations of each switch in `observed` exactly its links."""
    if not observed:
        return []
    at = seen_at or now_iso()
    switches = sorted(observed)
    out: list[Statement] = [
        (
            f"UNWIND $switches AS k MATCH (:Switch {{key: k}})-[:HAS_PORT]->(:Port)<-[o:{OBSERVED}]-() DELETE o",
            {"switches": switches},
        )
    ]
    for label in SOURCES:
        rows = [
            {"s": link.source[1], "d": link.port, "t": at}
            for switch in switches
            for link in observed[switch]
            if link.source[0] == label
        ]
        if rows:
            out.append(
                (
                    f"UNWIND $rows AS r MATCH (a:{label} {{key: r.s}}), (b:Port {{key: r.d}}) "
                    f"CREATE (a)-[e:{OBSERVED}]->(b) SET e.seen_at = r.t",
                    {"rows": rows},
                )
            )
    scans = [{"k": s, "t": at, "n": len(observed[s])} for s in switches]
    out.append(
        (f"UNWIND $rows AS r MERGE (x:{SCAN} {{key: r.k}}) SET x.seen_at = r.t, x.neighbours = r.n", {"rows": scans})
    )
    return out
