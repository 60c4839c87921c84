"""What the cluster lifecycle owns survives an import and whole-definition edits; what a cluster holds
cannot be removed by them. On both stores.

The small inventory: site bu, rack r1, leaf1 (swp1..3), spine1 (swp1), node n1 (ib0 on leaf1/swp1),
and a link leaf1/swp3 -- spine1/swp1.
"""

from __future__ import annotations

from typing import Any

import pytest

from metalgraph.server.errors import InUse
from metalgraph.server.inventory import editing, service
from metalgraph.server.inventory.diff import ClusterHolds
from metalgraph.server.inventory.model import Inventory, Link, Node, Port, PortRef, Switch
from metalgraph.server.store.base import GraphStore

CLUSTER = "acme/train"


async def _write(store: GraphStore, query: str, **params: Any) -> None:
    await store.write_atomically([(query, params)])


async def _lifecycle_sets(store: GraphStore) -> None:
    """What the lifecycle writes when it allocates n1 into a cluster on VLAN 1234."""
    await _write(
        store,
        "MATCH (n:Node {key: 'n1'}) SET n.state = 'allocated', n.power_state = 'on', n.failure_reason = 'none yet'",
    )
    await _write(store, "MATCH (p:Port {key: 'leaf1/swp1'}) SET p.access_vlan = 1234")
    await _write(store, "MATCH (p:Port {key: 'leaf1/swp3'}) SET p.mode = 'trunk', p.allowed_vlans = [1234]")
    await _write(store, "MATCH (p:Port {key: 'leaf1/swp2'}) SET p.access_vlan = 4000")  # quarantine


async def _make_member(store: GraphStore, node: str = "n1", *, vlan: int = 1234, state: str = "ready") -> None:
    await _write(
        store,
        "MERGE (c:Cluster {key: $key}) SET c.name = 'train', c.tenant = 'acme', c.state = $state, c.vlan = $vlan",
        key=CLUSTER,
        state=state,
        vlan=vlan,
    )
    await _write(store, "MATCH (c:Cluster {key: $c}), (n:Node {key: $n}) CREATE (c)-[:MEMBER]->(n)", c=CLUSTER, n=node)


async def _props(store: GraphStore, label: str, key: str) -> dict[str, Any]:
    rows = await store.read(f"MATCH (v:{label} {{key: $k}}) RETURN v{{.*}} AS p", {"k": key})
    return dict(rows[0]["p"]) if rows else {}


@pytest.fixture
async def loaded(store: GraphStore, small_inventory: Inventory) -> GraphStore:
    await service.import_inventory(store, small_inventory)
    return store


async def test_reimport_keeps_what_the_lifecycle_set(loaded: GraphStore, small_inventory: Inventory) -> None:
    await _lifecycle_sets(loaded)
    assert (await service.plan_import(loaded, small_inventory)).empty
    # A change the file does own still applies, next to the kept values.
    node = small_inventory.nodes[0].model_copy(update={"memory_gb": 4096})
    changes = await service.import_inventory(loaded, small_inventory.model_copy(update={"nodes": (node,)}))
    assert changes.lines() == ["~ Node n1: memory_gb 2048.0 -> 4096"]

    n1 = await _props(loaded, "Node", "n1")
    assert (n1["state"], n1["power_state"], n1["failure_reason"], n1["memory_gb"]) == (
        "allocated",
        "on",
        "none yet",
        4096,
    )
    assert (await _props(loaded, "Port", "leaf1/swp1"))["access_vlan"] == 1234
    assert (await _props(loaded, "Port", "leaf1/swp2"))["access_vlan"] == 4000
    trunk = await _props(loaded, "Port", "leaf1/swp3")
    assert (trunk["mode"], list(trunk["allowed_vlans"])) == ("trunk", [1234])


async def test_export_carries_the_stored_values_and_imports_as_a_no_op(loaded: GraphStore) -> None:
    await _lifecycle_sets(loaded)
    exported = await service.export_inventory(loaded)  # failure_reason is not part of the file format
    assert exported.nodes[0].state == "allocated"
    assert {p.name: p.access_vlan for p in exported.switches[0].ports} == {"swp1": 1234, "swp2": 4000, "swp3": None}
    assert (await service.plan_import(loaded, exported)).empty


async def test_the_provider_still_owns_maintenance_and_unmanaged_ports(
    loaded: GraphStore, small_inventory: Inventory
) -> None:
    node = small_inventory.nodes[0].model_copy(update={"state": "maintenance"})
    leaf = small_inventory.switches[0]
    ports = (leaf.ports[0].model_copy(update={"mode": "trunk", "allowed_vlans": (10,)}), *leaf.ports[1:])
    edited = small_inventory.model_copy(
        update={"nodes": (node,), "switches": (leaf.model_copy(update={"ports": ports}), small_inventory.switches[1])}
    )
    await service.import_inventory(loaded, edited)
    assert (await _props(loaded, "Node", "n1"))["state"] == "maintenance"
    assert (await _props(loaded, "Port", "leaf1/swp1"))["mode"] == "trunk"  # it had no VLAN: the file's


async def test_pruning_a_member_node_is_refused_and_changes_nothing(
    loaded: GraphStore, small_inventory: Inventory
) -> None:
    await _lifecycle_sets(loaded)
    await _make_member(loaded)
    before = await service.export_inventory(loaded)
    without_n1 = small_inventory.model_copy(update={"nodes": ()})
    for attempt in (service.plan_import, service.import_inventory):
        with pytest.raises(InUse) as caught:
            await attempt(loaded, without_n1)
        assert f"node n1 is a member of cluster {CLUSTER}" in caught.value.message
    assert await service.export_inventory(loaded) == before
    # Without prune nothing is removed, so nothing is refused.
    assert (await service.plan_import(loaded, without_n1, prune=False)).empty


async def test_removing_a_member_nic_or_cable_or_a_cluster_vlan_port_is_refused(
    loaded: GraphStore, small_inventory: Inventory
) -> None:
    await _lifecycle_sets(loaded)
    await _make_member(loaded)
    node = small_inventory.nodes[0]
    recabled = node.nics[0].model_copy(update={"port": PortRef(switch="leaf1", port="swp2")})
    leaf, spine = small_inventory.switches
    attempts = {
        "NIC ib0 of node n1": {"nodes": (node.model_copy(update={"nics": (), "pcie": ()}),)},
        "the cable from NIC ib0 of node n1": {"nodes": (node.model_copy(update={"nics": (recabled,)}),)},
        "the cable leaf1/swp3 -- spine1/swp1": {"links": ()},
        "switch port leaf1/swp3 carries VLAN 1234 of cluster acme/train": {
            "switches": (leaf.model_copy(update={"ports": leaf.ports[:2]}), spine),
            "links": (),
        },
    }
    before = await service.export_inventory(loaded)
    for expected, update in attempts.items():
        with pytest.raises(InUse) as caught:
            await service.import_inventory(loaded, small_inventory.model_copy(update=update))
        assert expected in caught.value.message, caught.value.message
    assert await service.export_inventory(loaded) == before


async def test_a_released_cluster_holds_nothing(loaded: GraphStore, small_inventory: Inventory) -> None:
    await _lifecycle_sets(loaded)
    await _make_member(loaded, state="released")
    await _write(loaded, "MATCH (:Cluster)-[m:MEMBER]->() DELETE m")
    await _write(loaded, "MATCH (n:Node {key: 'n1'}) SET n.state = 'available'")
    pruned = small_inventory.model_copy(update={"nodes": (), "links": ()})
    changes = await service.import_inventory(loaded, pruned)
    assert ("Node", "n1") in changes.remove_vertices


async def test_a_network_vertex_holds_its_vlan_in_its_site(loaded: GraphStore, small_inventory: Inventory) -> None:
    await _lifecycle_sets(loaded)
    leaf, spine = small_inventory.switches
    drop_swp3 = small_inventory.model_copy(
        update={"switches": (leaf.model_copy(update={"ports": leaf.ports[:2]}), spine), "links": ()}
    )
    await _write(loaded, "CREATE (:Network {key: 'elsewhere/1234', vlan_id: 1234, site: 'elsewhere', cluster: 'x/y'})")
    assert (await service.plan_import(loaded, drop_swp3)).remove_vertices == [("Port", "leaf1/swp3")]
    await _write(loaded, "CREATE (:Network {key: 'bu/1234', vlan_id: 1234, site: 'bu', cluster: 'x/y'})")
    with pytest.raises(InUse, match="VLAN 1234 of cluster x/y"):
        await service.plan_import(loaded, drop_swp3)


# --------------------------------------------------------------------------- editing


async def test_delete_node_of_a_member_is_refused(loaded: GraphStore) -> None:
    await _make_member(loaded)
    with pytest.raises(InUse, match=f"member of cluster {CLUSTER}"):
        await editing.delete_node(loaded, "n1")
    assert await _props(loaded, "Node", "n1")


async def test_replace_node_keeps_lifecycle_values_and_protects_members(
    loaded: GraphStore, small_inventory: Inventory
) -> None:
    await _lifecycle_sets(loaded)
    definition = small_inventory.nodes[0].model_dump()
    del definition["state"], definition["power_state"], definition["health"]  # left out: kept
    await editing.replace_node(loaded, Node.model_validate({**definition, "memory_gb": 1}))
    n1 = await _props(loaded, "Node", "n1")
    assert (n1["state"], n1["power_state"], n1["failure_reason"], n1["memory_gb"]) == ("allocated", "on", "none yet", 1)

    await _make_member(loaded)
    with pytest.raises(InUse, match="NIC ib0 of node n1"):
        await editing.replace_node(loaded, Node.model_validate({**definition, "nics": [], "pcie": []}))
    with pytest.raises(InUse, match="its state is the cluster lifecycle's"):
        await editing.replace_node(loaded, Node.model_validate({**definition, "state": "available"}))
    assert (await _props(loaded, "NIC", "n1/ib0"))["name"] == "ib0"
    assert (await _props(loaded, "Node", "n1"))["state"] == "allocated"


async def test_replace_switch_keeps_port_vlans_and_refuses_dropping_a_cluster_port(
    loaded: GraphStore, small_inventory: Inventory
) -> None:
    await _lifecycle_sets(loaded)
    leaf = small_inventory.switches[0]
    await editing.replace_switch(loaded, leaf.model_copy(update={"model": "SN5600"}))
    assert (await _props(loaded, "Port", "leaf1/swp1"))["access_vlan"] == 1234
    assert (await _props(loaded, "Switch", "leaf1"))["model"] == "SN5600"

    # swp2 carries only the quarantine VLAN: it is no cluster's, so an unused swp2 may go.
    await _make_member(loaded)
    extra = Port(name="swp9", index=9, speed_gbps=400)
    await editing.replace_switch(loaded, leaf.model_copy(update={"ports": (*leaf.ports, extra)}))
    await _write(loaded, "MATCH (p:Port {key: 'leaf1/swp9'}) SET p.access_vlan = 1234")
    with pytest.raises(InUse, match="switch port leaf1/swp9 carries VLAN 1234"):
        await editing.replace_switch(loaded, leaf)
    await editing.replace_switch(loaded, leaf.model_copy(update={"ports": (leaf.ports[0], leaf.ports[2], extra)}))
    assert not await _props(loaded, "Port", "leaf1/swp2")


async def test_delete_link_carrying_a_cluster_vlan_is_refused(loaded: GraphStore) -> None:
    await _lifecycle_sets(loaded)
    await _make_member(loaded)
    with pytest.raises(InUse, match="carries VLAN 1234"):
        await editing.delete_link(loaded, PortRef(switch="leaf1", port="swp3"), PortRef(switch="spine1", port="swp1"))
    await editing.create_switch(
        loaded, Switch(name="leaf2", rack="r1", role="leaf", ports=(Port(name="swp1", index=1, speed_gbps=400),))
    )
    link = Link(a=PortRef(switch="leaf2", port="swp1"), b=PortRef(switch="leaf1", port="swp2"), speed_gbps=400)
    await editing.create_link(loaded, link)
    await editing.delete_link(loaded, link.a, link.b)  # quarantine only: no cluster's


async def test_a_node_that_joins_a_cluster_after_the_check_fails_the_write(
    loaded: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check reads; the write re-checks under a lock in the same transaction (a race, simulated by
    a check that sees nothing)."""

    async def sees_nothing(*_args: Any, **_kwargs: Any) -> ClusterHolds:
        return ClusterHolds()

    async def passes(*_args: Any, **_kwargs: Any) -> None:
        return None

    monkeypatch.setattr(editing, "cluster_holds", sees_nothing)
    monkeypatch.setattr(editing, "check_cluster_holds", passes)
    await _make_member(loaded)
    await _write(loaded, "MATCH (n:Node {key: 'n1'}) SET n.state = 'available'")
    with pytest.raises(InUse, match="joined a cluster meanwhile"):
        await editing.delete_node(loaded, "n1")
    n1 = await _props(loaded, "Node", "n1")
    assert n1 and "inventory_editing" not in n1
