"""The network path between two nodes, for debugging a slow or hung distributed job.

A path runs from node A out of one of its NICs of a role (backend by default), over that NIC's
cable to a switch port, through switches over switch-to-switch cables, and over a cable into a
NIC of node B:

    node A -(cable)- switch -(cable)- ... -(cable)- switch -(cable)- node B

Only the intended cabling (`CABLED`) counts; switch-to-switch cables are undirected, whichever
way they were stored. Port state (oper_status) and observed (LLDP) links are not considered.

Semantics:
- `hop_count` is the number of cables traversed: 2 for two nodes on one leaf, 4 through a spine.
  It equals `switch_count + 1` and `len(hops) - 1`.
- The chosen path has the fewest cables over all NIC pairs of the role. Among those it prefers,
  in order: a pair of NICs on the same rail (how NCCL talks on a rail-optimized fabric), then
  the highest bottleneck bandwidth, then the lowest names in path order (from-NIC, ports and
  switches in natural order, e.g. `swp9` before `swp10`, to-NIC). The answer is deterministic
  and the same on every store.
- The same node at both ends is refused (`InvalidTopologyRequest`): a node does not reach
  itself over the fabric.

Cost: one store round trip for both ends, then one per breadth-first level. The search runs
from both ends at once (always expanding the smaller frontier), so the round trips are the
number of switch-to-switch cables on the path, whatever the size of the fabric, and each level
reads only the ports of its frontier. The search gives up after `MAX_SWITCH_LINKS` such cables.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from ..inventory.model import NicRole
from ..inventory.records import port_key
from ..store.base import GraphStore
from .scope import EVERYTHING, Scope

Props = dict[str, Any]
HopKind = Literal["node", "switch"]

MAX_SWITCH_LINKS = 16
"""Bound of the search: switch-to-switch cables on a path (a 5-tier fabric needs 8)."""


class TopologyQueryError(Exception):
    """Base of the errors of topology queries."""


class UnknownVertex(TopologyQueryError):
    """No vertex of that label (or of any searched label) has that key."""

    def __init__(self, label: str, key: str) -> None:
        super().__init__(f"{label} {key!r} not found")
        self.label = label
        self.key = key


class PathNotFound(TopologyQueryError):
    """Both nodes exist but no path of cables joins them (with NICs of the asked role)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        """`no_nic` (a node has no NIC of the role), `uncabled` (none of them is cabled),
        `disconnected` (no switch path) or `too_long` (more than MAX_SWITCH_LINKS switch cables)."""


class InvalidTopologyRequest(TopologyQueryError):
    """The arguments of a topology query make no sense (same node twice, depth out of range)."""


@dataclass(frozen=True)
class Hop:
    """One device on a path.

    `ingress`/`egress` are port names on a switch; on the first node `egress` is the NIC that
    sends, on the last node `ingress` the NIC that receives. `link_speed_gbps` is the speed of
    the cable leaving this device towards node B (None on the last hop). The `*_key` fields are
    the keys of those ports or NICs.
    """

    kind: HopKind
    name: str
    ingress: str | None
    egress: str | None
    link_speed_gbps: float | None
    ingress_key: str | None = None
    egress_key: str | None = None


@dataclass(frozen=True)
class NodePath:
    hops: tuple[Hop, ...]
    from_nic: Props
    """Stored properties of node A's NIC the path leaves by."""
    to_nic: Props
    """Stored properties of node B's NIC the path arrives at."""

    @property
    def hop_count(self) -> int:
        """Cables traversed."""
        return len(self.hops) - 1

    @property
    def switch_count(self) -> int:
        return sum(1 for hop in self.hops if hop.kind == "switch")

    @property
    def bottleneck_gbps(self) -> float:
        """The slowest cable on the path."""
        return min(hop.link_speed_gbps for hop in self.hops if hop.link_speed_gbps is not None)


_ENDS = """
UNWIND $names AS name
MATCH (n:Node {key: name})
OPTIONAL MATCH (n)-[:HAS_NIC]->(c:NIC)
WHERE c.role = $role
OPTIONAL MATCH (c)-[cab:CABLED]->(p:Port)
RETURN name, c{.*} AS nic, p.key AS port_key, p.name AS port, p.switch AS switch, cab.speed_gbps AS speed
"""

_LEVEL = """
UNWIND $frontier AS s
MATCH (:Switch {key: s})-[:HAS_PORT]->(p:Port)-[c:CABLED]-(q:Port)
RETURN s AS src, p.name AS egress, q.switch AS dst, q.name AS ingress, c.speed_gbps AS speed
"""
# Every value returned costs client time (FalkorDB's reply parsing); port keys are derived instead.


@dataclass(frozen=True)
class _End:
    """A NIC of an end node and the switch port it is cabled to."""

    nic: Props
    port: str
    port_key: str
    switch: str
    speed: float

    @property
    def name(self) -> str:
        return str(self.nic["name"])

    @property
    def rail(self) -> int | None:
        return self.nic.get("rail")


@dataclass(frozen=True)
class _Cable:
    """A switch-to-switch cable oriented a -> b."""

    a: str
    a_port: str
    a_port_key: str
    b: str
    b_port: str
    b_port_key: str
    speed: float

    def reversed(self) -> _Cable:
        return _Cable(self.b, self.b_port, self.b_port_key, self.a, self.a_port, self.a_port_key, self.speed)


def natural(name: str) -> tuple[Any, ...]:
    """Sort key that orders `swp9` before `swp10`."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", name)))


async def shortest_path(
    store: GraphStore, from_node: str, to_node: str, role: NicRole | str = NicRole.BACKEND, scope: Scope = EVERYTHING
) -> NodePath:
    """The path with the fewest cables from `from_node` to `to_node` over NICs of `role`, through
    switches and ports that `scope` can see only."""
    try:
        role_value = NicRole(role).value
    except ValueError as e:
        raise InvalidTopologyRequest(f"unknown NIC role {role!r}") from e
    if from_node == to_node:
        raise InvalidTopologyRequest(f"a path needs two different nodes; got {from_node!r} twice")
    for name in (from_node, to_node):
        if not scope.sees("Node", name):
            raise UnknownVertex("Node", name)
    sources, targets = await _ends(store, scope, from_node, to_node, role_value)
    search = _Search(store, scope, {e.switch for e in sources}, {e.switch for e in targets})
    await search.run(from_node, to_node)
    return _choose(search, sources, targets)


async def _ends(store: GraphStore, scope: Scope, a: str, b: str, role: str) -> tuple[list[_End], list[_End]]:
    rows = await store.read(_ENDS, {"names": [a, b], "role": role})
    found: dict[str, list[_End]] = {}
    for row in rows:
        ends = found.setdefault(row["name"], [])
        if row["nic"] is not None and row["switch"] is not None and row["speed"] is not None:
            nic = scope.redact("NIC", dict(row["nic"]))
            ends.append(_End(nic, row["port"], row["port_key"], row["switch"], float(row["speed"])))
    for name in (a, b):
        if name not in found:
            raise UnknownVertex("Node", name)
    for name in (a, b):
        if not found[name]:
            has_nic = any(row["nic"] is not None for row in rows if row["name"] == name)
            if has_nic:
                raise PathNotFound("uncabled", f"no {role} NIC of node {name!r} is cabled to a switch port")
            raise PathNotFound("no_nic", f"node {name!r} has no {role} NIC")
    return found[a], found[b]


class _Search:
    """Breadth-first search from both ends of the switch graph, one full level per round trip."""

    def __init__(self, store: GraphStore, scope: Scope, sources: set[str], targets: set[str]) -> None:
        self.store = store
        self.scope = scope
        self.dist: tuple[dict[str, int], dict[str, int]] = ({s: 0 for s in sources}, {t: 0 for t in targets})
        self.frontier: tuple[set[str], set[str]] = (set(sources), set(targets))
        self.depth = [0, 0]
        self.cables: dict[tuple[str, str], _Cable] = {}
        """Every switch-to-switch cable seen, by its two port keys in order."""
        self.length = -1
        """Switch-to-switch cables on a shortest path, once found."""

    def _meet(self) -> int | None:
        a, b = self.dist
        common = a.keys() & b.keys()
        return min(a[v] + b[v] for v in common) if common else None

    async def run(self, from_node: str, to_node: str) -> None:
        length = self._meet()
        while length is None:
            side = 0 if len(self.frontier[0]) <= len(self.frontier[1]) else 1
            if not self.frontier[side]:
                raise PathNotFound("disconnected", f"no cabled path joins {from_node!r} and {to_node!r}")
            if sum(self.depth) >= MAX_SWITCH_LINKS:
                raise PathNotFound(
                    "too_long", f"no path from {from_node!r} to {to_node!r} within {MAX_SWITCH_LINKS} switch links"
                )
            await self._expand(side)
            length = self._meet()
        self.length = length

    async def _expand(self, side: int) -> None:
        dist, frontier = self.dist[side], self.frontier[side]
        rows = await self.store.read(_LEVEL, {"frontier": sorted(frontier)})
        depth = self.depth[side] + 1
        reached: set[str] = set()
        for row in rows:
            dst = row["dst"]
            if dst is None or row["speed"] is None:
                continue
            src, out, into = row["src"], row["egress"], row["ingress"]
            cable = _Cable(src, out, port_key(src, out), dst, into, port_key(dst, into), float(row["speed"]))
            if not (self.scope.sees("Port", cable.a_port_key) and self.scope.sees("Port", cable.b_port_key)):
                continue
            ident = (cable.a_port_key, cable.b_port_key)
            if ident[0] > ident[1]:
                cable, ident = cable.reversed(), (ident[1], ident[0])
            self.cables[ident] = cable
            if dst not in dist:
                dist[dst] = depth
                reached.add(dst)
        self.frontier = (reached, self.frontier[1]) if side == 0 else (self.frontier[0], reached)
        self.depth[side] = depth

    def position(self, switch: str) -> int | None:
        """Place of a switch on a shortest path (0 at A's switches), when it can be on one."""
        a, b = self.dist
        if switch in a:
            return a[switch]
        if switch in b:
            return self.length - b[switch]
        return None

    def forward(self) -> dict[str, list[_Cable]]:
        """Cables that advance one position towards B, by the switch they leave."""
        out: dict[str, list[_Cable]] = defaultdict(list)
        for cable in self.cables.values():
            pa, pb = self.position(cable.a), self.position(cable.b)
            if pa is None or pb is None:
                continue
            if pb == pa + 1:
                out[cable.a].append(cable)
            elif pa == pb + 1:
                out[cable.b].append(cable.reversed())
        return out


def _cable_key(cable: _Cable) -> tuple[Any, ...]:
    return (natural(cable.a_port), natural(cable.b), natural(cable.b_port))


Forward = dict[str, list[tuple[int, _Cable]]]
"""Cables that advance one position towards B, by the switch they leave, with their rank in name order."""


def _ranked(forward: dict[str, list[_Cable]]) -> Forward:
    cables = sorted((c for cs in forward.values() for c in cs), key=lambda c: (natural(c.a), *_cable_key(c)))
    rank = {id(c): i for i, c in enumerate(cables)}
    return {switch: [(rank[id(c)], c) for c in cs] for switch, cs in forward.items()}


def _walks(start: str, length: int, forward: Forward, floor: float) -> dict[str, list[_Cable]]:
    """The first walk in name order, of `length` cables no slower than `floor`, to each switch it can reach."""
    best: dict[str, tuple[tuple[int, ...], tuple[_Cable, ...]]] = {start: ((), ())}
    for _ in range(length):
        step: dict[str, tuple[tuple[int, ...], tuple[_Cable, ...]]] = {}
        for switch, (key, walk) in best.items():
            for rank, cable in forward.get(switch, ()):
                if cable.speed < floor:
                    continue
                known = step.get(cable.b)
                candidate = (*key, rank)
                if known is None or candidate < known[0]:
                    step[cable.b] = (candidate, (*walk, cable))
        best = step
    return {switch: list(walk) for switch, (_key, walk) in best.items()}


def _choose(search: _Search, sources: list[_End], targets: list[_End]) -> NodePath:
    forward = _ranked(search.forward())
    speeds = {e.speed for e in sources} | {e.speed for e in targets}
    speeds |= {c.speed for cables in forward.values() for _rank, c in cables}
    firsts = sorted(
        (e for e in sources if search.position(e.switch) == 0), key=lambda e: (natural(e.name), natural(e.port))
    )
    lasts = sorted(targets, key=lambda e: (natural(e.port), natural(e.name)))
    walks_from: dict[tuple[str, float], dict[str, list[_Cable]]] = {}
    for same_rail in (True, False):
        for floor in sorted(speeds, reverse=True):
            # Sources are in name order, so the first one with a walk to an end wins; among the
            # walks of one source, the ends compare by walk, then port and name.
            for a in firsts:
                if a.speed < floor:
                    continue
                if (a.switch, floor) not in walks_from:
                    walks_from[(a.switch, floor)] = _walks(a.switch, search.length, forward, floor)
                walks = walks_from[(a.switch, floor)]
                best: tuple[tuple[Any, ...], _End] | None = None
                for b in lasts:
                    if b.speed < floor or b.switch not in walks:
                        continue
                    if same_rail and (a.rail is None or a.rail != b.rail):
                        continue
                    key = (tuple(_cable_key(c) for c in walks[b.switch]), natural(b.port), natural(b.name))
                    if best is None or key < best[0]:
                        best = (key, b)
                if best is not None:
                    return _assemble(a, walks[best[1].switch], best[1])
    raise AssertionError("the search met but no walk joins the ends")  # pragma: no cover


def _assemble(a: _End, walk: list[_Cable], b: _End) -> NodePath:
    hops = [Hop("node", str(a.nic["node"]), None, a.name, a.speed, None, str(a.nic["key"]))]
    ingress, ingress_key, at = a.port, a.port_key, a.switch
    for cable in walk:
        hops.append(Hop("switch", at, ingress, cable.a_port, cable.speed, ingress_key, cable.a_port_key))
        ingress, ingress_key, at = cable.b_port, cable.b_port_key, cable.b
    hops.append(Hop("switch", at, ingress, b.port, b.speed, ingress_key, b.port_key))
    hops.append(Hop("node", str(b.nic["node"]), b.name, None, None, str(b.nic["key"]), None))
    return NodePath(tuple(hops), a.nic, b.nic)
