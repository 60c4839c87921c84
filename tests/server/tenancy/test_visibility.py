"""What a tenant's scope holds, on a demo fabric where tenants share leaf switches."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.inventory.model import Nic, PortRef
from metalgraph.server.inventory.records import port_key
from metalgraph.server.store.base import GraphStore
from metalgraph.server.tenancy import tenants
from metalgraph.server.tenancy.visibility import ScopeCache, tenant_scope
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


async def test_an_inventory_change_without_an_audit_entry_shows_in_a_cached_scope_at_once(
    shared_fabric: GraphStore,
) -> None:
    """The CLI's `import` writes no audit entry; a tenant's cached scope still follows it."""
    store = shared_fabric
    scopes = ScopeCache(store)
    before = await scopes.scope("a")
    inventory = await service.export_inventory(store)
    cabled = {(nic.port.switch, nic.port.port) for n in inventory.nodes for nic in n.nics if nic.port}
    cabled |= {(end.switch, end.port) for link in inventory.links for end in (link.a, link.b)}
    leaf = next(s for s in inventory.switches if s.name in (before.keys("Switch") or ()) and s.role == "leaf")
    free = next(p for p in leaf.ports if (leaf.name, p.name) not in cabled)
    node = next(n for n in inventory.nodes if n.name == sorted(before.keys("Node") or ())[0])
    extra = Nic(
        name="extra0",
        mac="02:00:5e:00:99:01",
        speed_gbps=free.speed_gbps,
        port=PortRef(switch=leaf.name, port=free.name),
    )
    recabled = node.model_copy(update={"nics": (*node.nics, extra)})
    await service.import_inventory(
        store, inventory.model_copy(update={"nodes": tuple(recabled if n is node else n for n in inventory.nodes)})
    )
    assert port_key(leaf.name, free.name) not in (before.keys("Port") or ())
    assert port_key(leaf.name, free.name) in ((await scopes.scope("a")).keys("Port") or ())
