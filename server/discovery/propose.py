"""Observations turned into a proposal: the inventory diff of the hardware, plus the observed links.

An LLDP neighbour is matched to the graph by name first (system name = a switch and port id = one
of its ports; system name = a node and port id = one of its NICs), then by MAC (the port id or the
chassis id is a NIC's MAC). NICs this very discovery adds or re-MACs count. A neighbour that
matches nothing, or a local port the graph lacks, is a note, not a link.

The proposal's `ChangeSet` lists the hardware changes and, as `OBSERVED` edges, the links that
appear or vanish; `apply` writes the hardware changes and replaces the observations of every switch
that was read, in one atomic write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from metalgraph.drivers.types import LldpNeighbour

from ..inventory.diff import ChangeSet
from ..inventory.records import Records, VertexId, port_key
from ..inventory.repository import change_statements
from ..store.base import GraphStore
from . import observed as obs
from .hardware import plan_hardware
from .observe import Observations, SwitchObservation
from .observed import ObservedLink

_MAC = re.compile(r"[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}")


@dataclass
class Proposal:
    changes: ChangeSet = field(default_factory=ChangeSet)
    """Hardware changes and `OBSERVED` edges added or removed."""
    observed: dict[str, list[ObservedLink]] = field(default_factory=dict)
    """The links each switch that was read sees now: what its observations become on apply."""
    notes: list[str] = field(default_factory=list)
    """Findings that are not changes: hardware not reported, neighbours that match nothing."""

    @property
    def hardware(self) -> ChangeSet:
        """The changes without the observed links (those are replaced per switch on apply)."""
        c = self.changes
        return ChangeSet(
            add_vertices=c.add_vertices,
            change_vertices=c.change_vertices,
            add_edges={e: p for e, p in c.add_edges.items() if e[0] != obs.OBSERVED},
            change_edges=c.change_edges,
        )


@dataclass
class _Index:
    """The graph's names that LLDP neighbours are matched against."""

    switches: set[str]
    ports: set[str]
    nics: set[str]
    nic_by_mac: dict[str, str]


async def propose(store: GraphStore, found: Observations) -> Proposal:
    """What discovery would change in the graph, given what the devices said."""
    plan = await plan_hardware(store, found.nodes)
    proposal = Proposal(changes=plan.changes(), notes=list(plan.notes))
    if not found.switches:
        return proposal
    index = await _index(store, plan.desired)
    for seen in sorted(found.switches, key=lambda s: s.switch):
        proposal.observed[seen.switch] = _links(seen, index, proposal.notes)
    stored = {(link.source, link.port) for link in await obs.load_observed(store, sorted(proposal.observed))}
    now = {(link.source, link.port) for links in proposal.observed.values() for link in links}
    for source, port in sorted(now - stored):
        proposal.changes.add_edges[(obs.OBSERVED, source, ("Port", port))] = {}
    proposal.changes.remove_edges.extend((obs.OBSERVED, s, ("Port", p)) for s, p in sorted(stored - now))
    return proposal


async def apply(store: GraphStore, proposal: Proposal, seen_at: str | None = None) -> None:
    """Write the proposal as one atomic unit (through `store.write_atomically`, audited in the API)."""
    statements = change_statements(proposal.hardware) + obs.replace_statements(proposal.observed, seen_at)
    if statements:
        await store.write_atomically(statements)


async def _index(store: GraphStore, desired: Records) -> _Index:
    switches = {r["k"] for r in await store.read_collected("MATCH (s:Switch)", "{k: s.key}")}
    ports = {r["k"] for r in await store.read_collected("MATCH (p:Port)", "{k: p.key}")}
    nic_rows = await store.read_collected("MATCH (n:NIC)", "{k: n.key, m: n.mac}")
    macs = {r["k"]: str(r["m"]).lower() for r in nic_rows}
    macs |= {key: str(p["mac"]).lower() for (label, key), p in desired.vertices.items() if label == "NIC"}
    return _Index(switches, ports, set(macs), {mac: key for key, mac in macs.items()})


def _links(seen: SwitchObservation, index: _Index, notes: list[str]) -> list[ObservedLink]:
    links: set[ObservedLink] = set()
    for neighbour in seen.neighbours:
        local = port_key(seen.switch, neighbour.local_port)
        if local not in index.ports:
            notes.append(f"{seen.switch}: LLDP reports port {neighbour.local_port}, which the graph does not have")
            continue
        source = resolve(neighbour, index)
        if source is None:
            notes.append(
                f"{local} hears an unknown neighbour: system {neighbour.system_name!r}, port {neighbour.port_id!r}, "
                f"chassis {neighbour.chassis_id!r}"
            )
        elif source != ("Port", local):
            links.add(ObservedLink(source, local))
    return sorted(links)


def resolve(neighbour: LldpNeighbour, index: _Index) -> VertexId | None:
    """The NIC or switch port of the graph that `neighbour` is, or None."""
    systems = _unique([neighbour.system_name, neighbour.system_name.split(".", 1)[0]])
    ports = _unique([neighbour.port_id, neighbour.port_description])
    for system in systems:
        for port in ports:
            key = f"{system}/{port}"
            if system in index.switches and key in index.ports:
                return ("Port", key)
            if key in index.nics:
                return ("NIC", key)
    for value in (neighbour.port_id, neighbour.chassis_id):
        if _MAC.fullmatch(value):
            nic = index.nic_by_mac.get(value.lower().replace("-", ":"))
            if nic is not None:
                return ("NIC", nic)
    return None


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
