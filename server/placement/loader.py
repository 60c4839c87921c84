"""Build a `PlacementIndex` from a store (eight collected reads), or straight from an `Inventory`.

Both stores run the same queries. Reading stays flat: owner names kept on GPUs, NICs and ports
(`node`, `switch`) and the rack's `site` replace traversals, GPUs are counted per node, model and
NVLink domain in the store. At 100,000 GPUs the reads return about 290,000 rows (mostly cables);
see bench/RESULTS.md for the time. Occupancy alone (states, health, members, link errors) is
three small reads and is what the cache refreshes between topology rebuilds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..inventory.model import Inventory
from ..store.base import GraphStore
from .build import GOOD_OPER_STATUS, IndexBuilder
from .index import Occupancy, PlacementIndex, Topology, occupancy

_SITES = (
    "MATCH (s:Site)",
    "{name: s.key, region: s.region, country: s.country, j: s.jurisdiction, c: s.certifications}",
)
_RACKS = ("MATCH (r:Rack)", "{name: r.key, site: r.site}")
_SWITCHES = ("MATCH (s:Switch)", "{name: s.key, role: s.role, pod: s.pod, rack: s.rack}")
_NODES = (
    "MATCH (n:Node)",
    "{name: n.key, rack: n.rack, cpu: n.cpu_cores, mem: n.memory_gb, sto: n.storage_gb, st: n.state, h: n.health}",
)
_GPUS = (
    "MATCH (g:GPU) WITH g.node AS node, g.model AS model, g.nvlink_domain AS dom, count(g) AS c",
    "{node: node, model: model, dom: dom, c: c}",
)
_NIC_CABLES = (
    "MATCH (c:NIC)-[cab:CABLED]->(p:Port)",
    "{node: c.node, role: c.role, speed: cab.speed_gbps, sw: p.switch, port: p.name, st: p.oper_status}",
)
_CABLES = ("MATCH (p:Port)-[c:CABLED]->(q:Port)", "{a: p.switch, pa: p.name, b: q.switch, pb: q.name, s: c.speed_gbps}")
_MEMBERS = ("MATCH (:Cluster)-[:MEMBER]->(n:Node)", "{n: n.key}")
_NODE_STATES = ("MATCH (n:Node)", "{n: n.key, st: n.state, h: n.health}")
_LINK_ERRORS = (
    "MATCH (c:NIC)-[:CABLED]->(p:Port) WHERE NOT coalesce(p.oper_status, '') IN $good",
    "{n: c.node}",
)
_SWITCH_COUNT = "MATCH (s:Switch) RETURN count(s) AS c"


async def load_index(store: GraphStore) -> PlacementIndex:
    b = IndexBuilder()
    for r in await store.read_collected(*_SITES):
        b.site(r["name"], r["region"], r["country"], r["j"], r["c"] or ())
    for r in await store.read_collected(*_RACKS):
        b.rack(r["name"], r["site"] or "")
    for r in await store.read_collected(*_SWITCHES):
        b.switch(r["name"], r["role"] or "", r["pod"] or "", r["rack"] or "")
    for r in await store.read_collected(*_NODES):
        b.node(r["name"], r["rack"], r["cpu"], r["mem"], r["sto"], r["st"] or "", r["h"] or "")
    for r in await store.read_collected(*_GPUS):
        b.gpus(r["node"], r["model"] or "", r["dom"] or "", int(r["c"]))
    for r in await store.read_collected(*_NIC_CABLES):
        b.nic_cable(r["node"], r["role"] or "", float(r["speed"] or 0), r["sw"], r["port"], r["st"] or "")
    for r in await store.read_collected(*_CABLES):
        b.cable(r["a"], r["pa"], r["b"], r["pb"], float(r["s"] or 0))
    for r in await store.read_collected(*_MEMBERS):
        b.member(r["n"])
    return b.build()


@dataclass(frozen=True)
class OccupancyRead:
    occupancy: Occupancy
    same_nodes: bool
    """The store holds exactly the index's nodes (else the topology must be rebuilt)."""
    switches: int


async def load_occupancy(store: GraphStore, topology: Topology) -> OccupancyRead:
    rows = await store.read_collected(*_NODE_STATES)
    states = {r["n"]: r["st"] or "" for r in rows}
    healths = {r["n"]: r["h"] or "" for r in rows}
    members = {r["n"] for r in await store.read_collected(*_MEMBERS)}
    errors = {r["n"] for r in await store.read_collected(*_LINK_ERRORS, {"good": sorted(GOOD_OPER_STATUS)})}
    count = await store.read(_SWITCH_COUNT)
    same = len(states) == topology.size and all(n in states for n in topology.node_names)
    return OccupancyRead(
        occupancy(topology, states, healths, members, errors), same, int(count[0]["c"]) if count else 0
    )


def index_from_inventory(inventory: Inventory, members: Iterable[str] = ()) -> PlacementIndex:
    """The index of an inventory as if imported into an empty store (plus cluster `members`)."""
    b = IndexBuilder()
    for s in inventory.sites:
        b.site(s.name, s.region, s.country, s.jurisdiction, s.certifications)
    for r in inventory.racks:
        b.rack(r.name, r.site)
    by_ports: dict[int, dict[str, tuple[str, float]]] = {}  # switches cabled alike share one ports tuple
    port_status: dict[str, dict[str, tuple[str, float]]] = {}
    for sw in inventory.switches:
        b.switch(sw.name, str(sw.role), sw.pod, sw.rack)
        if id(sw.ports) not in by_ports:
            by_ports[id(sw.ports)] = {p.name: (p.oper_status, p.speed_gbps) for p in sw.ports}
        port_status[sw.name] = by_ports[id(sw.ports)]
    for n in inventory.nodes:
        b.node(n.name, n.rack, n.cpu_cores, n.memory_gb, n.storage_gb, str(n.state), str(n.health))
        for g in n.gpus:
            b.gpus(n.name, g.model, g.nvlink_domain, 1)
        for nic in n.nics:
            if nic.port is not None:
                status, speed = port_status.get(nic.port.switch, {}).get(nic.port.port, ("", nic.speed_gbps))
                b.nic_cable(n.name, str(nic.role), min(nic.speed_gbps, speed), nic.port.switch, nic.port.port, status)
    for link in inventory.links:
        b.cable(link.a.switch, link.a.port, link.b.switch, link.b.port, link.speed_gbps)
    for m in members:
        b.member(m)
    return b.build()
