"""The index read from a real store (both kinds) and the cache that keeps it current."""

from __future__ import annotations

import asyncio

from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.placement import ClusterSpec, Level, PlacementCache, index_from_inventory, load_index, plan
from metalgraph.server.store.base import GraphStore
from metalgraph.server.tenancy import tenants
from metalgraph.server.topology.paths import shortest_path


async def test_the_index_read_from_a_store_equals_the_one_built_from_the_inventory(store: GraphStore) -> None:
    inventory = generate_fabric(1024, nvl72=False)
    await service.import_inventory(store, inventory)
    await store.write_atomically([("MATCH (p:Port {key: 'leaf-p01-su02-r3/swp7'}) SET p.oper_status = 'down'", {})])
    switches = tuple(
        sw.model_copy(
            update={
                "ports": tuple(
                    p.model_copy(update={"oper_status": "down"}) if p.name == "swp7" else p for p in sw.ports
                )
            }
        )
        if sw.name == "leaf-p01-su02-r3"
        else sw
        for sw in inventory.switches
    )
    loaded = await load_index(store)
    direct = index_from_inventory(inventory.model_copy(update={"switches": switches}))
    assert loaded.signature() == direct.signature()
    assert loaded.occupancy.link_error.sum() == 1


async def test_hop_diameter_agrees_with_the_path_query(store: GraphStore) -> None:
    await service.import_inventory(store, generate_fabric(1024))
    index = await load_index(store)
    p = plan(index, ClusterSpec(nodes=40, exclude_unhealthy=False))  # spans two leaf domains
    assert len(p.domains[Level.LEAF]) == 2
    first, last = p.nodes[0], p.nodes[-1]
    assert index.domain_of(first, Level.LEAF) != index.domain_of(last, Level.LEAF)
    path = await shortest_path(store, first, last)
    assert p.hop_diameter == path.hop_count == 4
    assert p.bottleneck_gbps == path.bottleneck_gbps


_JOIN = """
MATCH (t:Tenant {key: 'acme'}), (n:Node {key: $node})
CREATE (t)-[:OWNS]->(c:Cluster {key: 'acme/train', name: 'train', tenant: 'acme', state: 'ready'})-[:MEMBER]->(n)
"""


async def test_the_cache_follows_the_store(store: GraphStore) -> None:
    await service.import_inventory(store, generate_fabric(256))
    cache = PlacementCache(store, occupancy_max_age_s=3600, topology_max_age_s=3600)
    first = await cache.index()
    assert await cache.index() is first  # nothing changed: the same snapshot
    node = first.topology.node_names[5]
    await tenants.create_tenant(store, "acme")
    await store.write_atomically([(_JOIN, {"node": node})])  # a membership written without an audit entry
    assert (await cache.index()) is first  # no audit entry, max age not reached: still the snapshot
    cache.invalidate()
    second = await cache.index()
    pos = second.topology.node_pos[node]
    assert second.occupancy.member[pos] and not first.occupancy.member[pos]
    assert second.topology is first.topology and cache.topology_loads == 1
    # an audit append that carries changes (what every API change does) is seen without invalidate()
    await store.write_atomically([("MERGE (h:AuditHead {key: 'head'}) SET h.seq = 7, h.changes = 7", {})])
    await store.write_atomically([("MATCH (:Cluster)-[m:MEMBER]->(:Node {key: $node}) DELETE m", {"node": node})])
    third = await cache.index()
    assert not third.occupancy.member[pos] and cache.topology_loads == 1
    # more nodes in the store: the topology is rebuilt
    await service.import_inventory(store, generate_fabric(512))
    await store.write_atomically([("MATCH (h:AuditHead {key: 'head'}) SET h.seq = 8, h.changes = 8", {})])
    fourth = await cache.index()
    assert fourth.topology.size == 64 and cache.topology_loads == 2
    assert not plan(fourth, ClusterSpec(nodes=1, gpu_model="B200")).feasible
    # an inventory change that keeps every count (one node's GPUs are now B200s) moves the
    # inventory's generation: the topology is rebuilt before the next answer
    fabric = generate_fabric(512)
    changed = fabric.nodes[3]
    b200s = tuple(g.model_copy(update={"model": "B200"}) for g in changed.gpus)
    nodes = tuple(n.model_copy(update={"gpus": b200s}) if n is changed else n for n in fabric.nodes)
    await service.import_inventory(store, fabric.model_copy(update={"nodes": nodes}))
    fifth = await cache.index()
    assert cache.topology_loads == 3
    assert list(plan(fifth, ClusterSpec(nodes=1, gpu_model="B200")).nodes) == [changed.name]
    # past its age the topology is rebuilt in the background, the current one answering meanwhile
    cache.topology_max_age_s = 0
    assert await cache.index() is fifth
    async with asyncio.timeout(60):
        while cache.topology_loads < 4:
            await asyncio.sleep(0.05)
    assert (await cache.index()) is not fifth
    await cache.close()
