"""The difference between the intended cabling (`CABLED`) and the links seen over LLDP (`OBSERVED`).

- `missing`: an intended link that a switch which has been read does not see (links of switches
  never read are not claimed missing; they are listed in `unscanned`);
- `unexpected`: a link seen that the inventory does not list;
- `wrong_rail`: a backend NIC of rail r seen on a leaf of another rail. A leaf's rail is the most
  common rail of the backend NICs meant for it (the NIC in question left out), else of the other
  NICs seen on it, else the `-r<N>` at the end of its name (as the demo names leaves).

Links are compared without direction: a switch-to-switch cable is seen from both ends.
Each item says why, in words.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..inventory.records import VertexId
from ..store.base import GraphStore
from .observed import ObservedLink, load_observed, load_scans, switch_of
from .propose import Proposal

MISSING, UNEXPECTED, WRONG_RAIL = "missing", "unexpected", "wrong_rail"
KINDS = (MISSING, UNEXPECTED, WRONG_RAIL)
_RAIL_NAME = re.compile(r"-r(\d+)$")
Link = frozenset[VertexId]


@dataclass(frozen=True)
class DriftItem:
    kind: str
    source: VertexId
    """The NIC, or the switch port, at the far end of `port`."""
    port: str
    """The switch port (key `switch/port`) the link is on."""
    reason: str
    seen_at: str = ""

    @property
    def switch(self) -> str:
        return switch_of(self.port)

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "source_kind": self.source[0],
            "source": self.source[1],
            "port": self.port,
            "reason": self.reason,
            "seen_at": self.seen_at,
        }


@dataclass
class LinkDrift:
    items: list[DriftItem] = field(default_factory=list)
    scanned: dict[str, str] = field(default_factory=dict)
    """Switches whose LLDP table is in the graph, with when it was read."""
    unscanned: list[str] = field(default_factory=list)
    """Switches with intended links whose LLDP table has never been read."""

    def of(self, kind: str) -> list[DriftItem]:
        return [item for item in self.items if item.kind == kind]

    def counts(self) -> dict[str, int]:
        return {kind: len(self.of(kind)) for kind in KINDS}


@dataclass
class _Graph:
    intended: set[Link]
    observed: dict[Link, ObservedLink]
    scanned: dict[str, str]
    rails: dict[str, int]
    """Backend NIC key -> rail."""
    leaves: set[str]


async def link_drift(store: GraphStore, pending: Proposal | None = None) -> LinkDrift:
    """The drift in the graph; with `pending`, as it will be once that proposal is applied."""
    intended: set[Link] = set()
    for label in ("NIC", "Port"):
        for r in await store.read_collected(f"MATCH (a:{label})-[:CABLED]->(b:Port)", "{s: a.key, d: b.key}"):
            intended.add(frozenset({(label, r["s"]), ("Port", r["d"])}))
    links = await load_observed(store)
    scanned = await load_scans(store)
    if pending is not None:
        links = [link for link in links if link.switch not in pending.observed]
        links += [link for found in pending.observed.values() for link in found]
        scanned |= dict.fromkeys(pending.observed, "pending")
    rails = {
        r["k"]: int(r["r"])
        for r in await store.read_collected("MATCH (n:NIC) WHERE n.role = 'backend'", "{k: n.key, r: n.rail}")
        if r["r"] is not None
    }
    leaves = {r["k"] for r in await store.read_collected("MATCH (s:Switch) WHERE s.role = 'leaf'", "{k: s.key}")}
    observed = {frozenset(link.ends): link for link in links}
    return compute_drift(_Graph(intended, observed, scanned, rails, leaves))


def compute_drift(g: _Graph) -> LinkDrift:
    at_port: dict[str, list[VertexId]] = defaultdict(list)  # port key -> what it hears
    seen_on: dict[VertexId, list[str]] = defaultdict(list)  # vertex -> ports it is heard on
    for heard in g.observed.values():
        at_port[heard.port].append(heard.source)
        seen_on[heard.source].append(heard.port)
    meant: dict[VertexId, list[VertexId]] = defaultdict(list)
    for a, b in (tuple(sorted(link)) for link in g.intended):
        meant[a].append(b)
        meant[b].append(a)
    rails = _Rails(g, meant, at_port)
    drift = LinkDrift(scanned=dict(g.scanned))
    drift.unscanned = sorted({switch_of(v[1]) for link in g.intended for v in link if v[0] == "Port"} - set(g.scanned))
    for cable in sorted(g.intended, key=sorted):
        ports = sorted(v[1] for v in cable if v[0] == "Port" and switch_of(v[1]) in g.scanned)
        if ports and cable not in g.observed:
            port = ports[0]
            others = sorted(cable - {("Port", port)})
            source = others[0] if others else ("Port", port)
            drift.items.append(DriftItem(MISSING, source, port, _missing_reason(source, port, at_port, seen_on)))
    for ends, seen in sorted(g.observed.items(), key=lambda item: item[1]):
        if ends not in g.intended:
            reason = _unexpected_reason(seen, meant)
            drift.items.append(DriftItem(UNEXPECTED, seen.source, seen.port, reason, seen.seen_at))
        rail = g.rails.get(seen.source[1]) if seen.source[0] == "NIC" else None
        if rail is not None and seen.switch in g.leaves:
            leaf_rail, basis = rails.of(seen.switch, seen.source[1])
            if leaf_rail is not None and leaf_rail != rail:
                reason = (
                    f"{seen.source[1]} is a rail-{rail} NIC but is seen on {seen.port}; "
                    f"{seen.switch} is a rail-{leaf_rail} leaf ({basis})"
                )
                drift.items.append(DriftItem(WRONG_RAIL, seen.source, seen.port, reason, seen.seen_at))
    drift.items.sort(key=lambda item: (KINDS.index(item.kind), item.port, item.source))
    return drift


def _names(vertices: list[VertexId] | list[str]) -> str:
    return ", ".join(sorted(v if isinstance(v, str) else v[1] for v in vertices))


def _missing_reason(
    source: VertexId, port: str, at_port: dict[str, list[VertexId]], seen_on: dict[VertexId, list[str]]
) -> str:
    heard = at_port.get(port, [])
    text = f"{source[1]} is cabled to {port} but LLDP on {switch_of(port)} does not see it there"
    text += f"; {port} hears {_names(heard)} instead" if heard else f"; {port} hears nothing"
    elsewhere = [p for p in seen_on.get(source, []) if p != port]
    if elsewhere:
        text += f"; {source[1]} is seen on {_names(elsewhere)}"
    return text


def _unexpected_reason(seen: ObservedLink, meant: dict[VertexId, list[VertexId]]) -> str:
    text = f"LLDP on {seen.switch} sees {seen.source[1]} on {seen.port}, which the inventory does not list"
    peers = meant.get(("Port", seen.port), [])
    text += f"; {seen.port} is meant for {_names(peers)}" if peers else f"; {seen.port} has no intended cable"
    targets = meant.get(seen.source, [])
    if targets:
        text += f"; {seen.source[1]} is meant for {_names(targets)}"
    return text


class _Rails:
    """The rail of each leaf, from the backend NICs meant for it, else those seen on it, else its name."""

    def __init__(self, g: _Graph, meant: dict[VertexId, list[VertexId]], at_port: dict[str, list[VertexId]]) -> None:
        self.rails = g.rails
        self.intended = self._by_leaf(g, ((port, peers) for port, peers in meant.items() if port[0] == "Port"))
        self.heard = self._by_leaf(g, ((("Port", port), sources) for port, sources in at_port.items()))

    @staticmethod
    def _by_leaf(g: _Graph, pairs: Iterable[tuple[VertexId, list[VertexId]]]) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(dict)  # leaf -> backend NIC -> rail
        for port, peers in pairs:
            leaf = switch_of(port[1])
            if leaf in g.leaves:
                out[leaf].update({v[1]: g.rails[v[1]] for v in peers if v[0] == "NIC" and v[1] in g.rails})
        return out

    def of(self, leaf: str, nic: str) -> tuple[int | None, str]:
        """The rail of `leaf` leaving `nic` out, and what it is based on."""
        for nics, basis in (
            (self.intended.get(leaf, {}), "the rail of the NICs cabled to it"),
            (self.heard.get(leaf, {}), "the rail of the other NICs seen on it"),
        ):
            counts = Counter(rail for key, rail in nics.items() if key != nic)
            if counts:
                return counts.most_common(1)[0][0], basis
        named = _RAIL_NAME.search(leaf)
        return (int(named.group(1)), "by its name") if named else (None, "")
