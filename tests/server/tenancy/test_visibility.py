"""What a tenant's scope holds, on a demo fabric where tenants share leaf switches."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.store.base import GraphStore
from metalgraph.server.tenancy import tenants
from metalgraph.server.tenancy.visibility import tenant_scope
from metalgraph.server.topology import paths
from metalgraph.server.topology.neighborhood import neighborhood
from metalgraph.server.topology.pages import Selection, count, fetch_page
from metalgraph.server.topology.paths import UnknownVertex
from metalgraph.server.topology.reader import Relation, TopologyReader

sys.path.append(str(Path(__file__).parents[2] / "schema"))  # the fixture helper of the schema tests

from allocated import allocate_cluster


@pytest.fixture
async def shared_fabric(store: GraphStore) -> GraphStore:
    """64 nodes in two scalable units; tenant a has two nodes of SU 1, tenant b one node of SU 1."""
    inventory = generate_fabric(512)
    await service.import_inventory(store, inventory)
    names = sorted(n.name for n in inventory.nodes)
    for tenant, cluster, members in (("a", "train", names[:2]), ("b", "infer", names[2:3])):
        await tenants.create_tenant(store, tenant)
        await allocate_cluster(store, tenant, cluster, members, vlan=1000 + len(tenant) + len(members))
    return store


async def test_a_tenant_sees_its_nodes_their_parts_and_the_fabric_above_them(shared_fabric: GraphStore) -> None:
    store = shared_fabric
    scope = await tenant_scope(store, "a")
    nodes = sorted(scope.keys("Node") or ())
    assert len(nodes) == 2
    assert scope.keys("Tenant") == {"a"} and scope.keys("Cluster") == {"a/train"}
    assert len(scope.keys("GPU") or ()) == 16
    leaves = {s for s in scope.keys("Switch") or () if "leaf" in s}
    spines = {s for s in scope.keys("Switch") or () if "spine" in s}
    assert len(leaves) >= 8 and spines, "one leaf per rail, and the spines above them"
    # On a shared leaf, only the ports of its own NICs and the uplinks are visible.
    reader = TopologyReader(store, scope)
    leaf = sorted(leaves)[0]
    ports = await reader.related(Relation("Switch", "HAS_PORT", "Port"), [leaf])
    visible = [p.props for p in ports[0]]
    cabled_to_nodes = await store.read(
        "MATCH (:Switch {key: $s})-[:HAS_PORT]->(p:Port)<-[:CABLED]-(:NIC)<-[:HAS_NIC]-(n:Node) "
        "RETURN p.key AS port, n.key AS node",
        {"s": leaf},
    )
    own = {r["port"] for r in cabled_to_nodes if r["node"] in nodes}
    foreign = {r["port"] for r in cabled_to_nodes if r["node"] not in nodes}
    assert own and foreign, "the fixture must share the leaf"
    assert own <= {p["key"] for p in visible}
    assert not foreign & {p["key"] for p in visible}


async def test_pages_counts_lookups_paths_and_neighborhoods_stay_inside_the_scope(shared_fabric: GraphStore) -> None:
    store = shared_fabric
    scope_a, scope_b = await tenant_scope(store, "a"), await tenant_scope(store, "b")
    node_b = next(iter(scope_b.keys("Node") or ()))
    node_a1, node_a2 = sorted(scope_a.keys("Node") or ())
    rows, more = await fetch_page(store, scope_a, Selection("Node"), 100, None)
    assert {r["key"] for r in rows} == {node_a1, node_a2} and not more
    assert await count(store, scope_a, Selection("Node")) == 2
    assert await count(store, scope_a, Selection("Cluster")) == 1
    reader = TopologyReader(store, scope_a)
    looked_up = await reader.vertices("Node", [node_b, node_a1])
    assert looked_up[0] is None and looked_up[1] is not None and looked_up[1]["key"] == node_a1
    with pytest.raises(UnknownVertex):
        await paths.shortest_path(store, node_a1, node_b, scope=scope_a)
    found = await paths.shortest_path(store, node_a1, node_a2, scope=scope_a)
    assert found.hop_count >= 2
    around = await neighborhood(store, node_a1, depth=3, scope=scope_a, limit=2000)
    assert all(scope_a.sees(v.label, v.key) for v in around.vertices)
    assert node_b not in {v.key for v in around.vertices}
    with pytest.raises(UnknownVertex):
        await neighborhood(store, node_b, depth=1, scope=scope_a)


async def test_a_tenant_without_clusters_sees_only_itself(store: GraphStore) -> None:
    await tenants.create_tenant(store, "lonely")
    scope = await tenant_scope(store, "lonely")
    assert scope.keys("Tenant") == {"lonely"}
    assert not scope.keys("Node") and not scope.keys("Switch")
    assert (await tenant_scope(store, "no-such-tenant")).keys("Tenant") == frozenset()


async def test_a_shared_trunk_shows_a_tenant_its_own_vlans_only(shared_fabric: GraphStore) -> None:
    store = shared_fabric
    vlans = {r["t"]: r["v"] for r in await store.read("MATCH (c:Cluster) RETURN c.tenant AS t, c.vlan AS v")}
    scope_b = await tenant_scope(store, "b")
    uplinks = await store.read(
        "MATCH (:Switch {role: 'leaf'})-[:HAS_PORT]->(p:Port)-[:CABLED]-(:Port)<-[:HAS_PORT]-(:Switch {role: 'spine'}) "
        "RETURN p.key AS p"
    )
    uplink = next(r["p"] for r in uplinks if scope_b.sees("Port", r["p"]))
    await store.write(
        "MATCH (p:Port {key: $k}) SET p.mode = 'trunk', p.allowed_vlans = $v, p.access_vlan = $a",
        {"k": uplink, "v": sorted(vlans.values()), "a": vlans["a"]},
    )
    seen = (await TopologyReader(store, scope_b).vertices("Port", [uplink]))[0]
    assert seen is not None
    assert seen["allowed_vlans"] == [vlans["b"]]
    assert "access_vlan" not in seen
    rows, _ = await fetch_page(store, scope_b, Selection("Port").equals("key", uplink), 10, None)
    assert rows[0]["allowed_vlans"] == [vlans["b"]]
