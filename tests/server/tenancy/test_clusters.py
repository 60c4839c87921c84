"""Clusters and node assignment: all or nothing, never one node in two clusters."""

from __future__ import annotations

import asyncio

import pytest

from metalgraph.server.errors import AlreadyExists, InUse, NotFound
from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.store.base import GraphStore
from metalgraph.server.tenancy import clusters, tenants


@pytest.fixture
async def fabric(store: GraphStore) -> list[str]:
    inventory = generate_fabric(64)
    await service.import_inventory(store, inventory)
    for tenant in ("a", "b"):
        await tenants.create_tenant(store, tenant)
    return sorted(n.name for n in inventory.nodes)


async def test_concurrent_assignments_never_book_a_node_twice(store: GraphStore, fabric: list[str]) -> None:
    contenders = [(t, f"c{i}") for i, t in enumerate(["a", "b"] * 10)]
    for tenant, name in contenders:
        await clusters.create_cluster(store, tenant, name)
    outcomes = await asyncio.gather(
        *(clusters.assign_nodes(store, t, n, fabric[:3]) for t, n in contenders), return_exceptions=True
    )
    won = [o for o in outcomes if o is None]
    assert len(won) == 1, outcomes
    assert all(isinstance(o, InUse) for o in outcomes if o is not None)
    rows = await store.read(
        "MATCH (c:Cluster)-[:MEMBER]->(n:Node) RETURN n.key AS node, count(c) AS clusters, n.state AS state"
    )
    assert sorted(r["node"] for r in rows) == fabric[:3]
    assert all(r["clusters"] == 1 and r["state"] == "allocated" for r in rows)


async def test_assignment_is_all_or_nothing(store: GraphStore, fabric: list[str]) -> None:
    await clusters.create_cluster(store, "a", "one")
    await clusters.create_cluster(store, "b", "two")
    await clusters.assign_nodes(store, "a", "one", fabric[:1])
    with pytest.raises(InUse):
        await clusters.assign_nodes(store, "b", "two", fabric[:2])
    with pytest.raises(NotFound):
        await clusters.assign_nodes(store, "b", "two", [fabric[1], "no-such-node"])
    rows = await store.read("MATCH (:Cluster {key: 'b/two'})-[:MEMBER]->(n) RETURN n.key AS n")
    assert rows == []


async def test_names_are_per_tenant_and_other_tenants_clusters_are_not_found(
    store: GraphStore, fabric: list[str]
) -> None:
    await clusters.create_cluster(store, "a", "train", vlan=200)
    await clusters.create_cluster(store, "b", "train", vlan=201)  # the same name in another tenant is fine
    with pytest.raises(AlreadyExists):
        await clusters.create_cluster(store, "a", "train")
    with pytest.raises(InUse):
        await clusters.create_cluster(store, "b", "other", vlan=200)
    with pytest.raises(NotFound):
        await clusters.update_cluster(store, "b", "only-a-has-this", "x")


async def test_unassigned_nodes_wait_for_sanitization(store: GraphStore, fabric: list[str]) -> None:
    await clusters.create_cluster(store, "a", "train")
    await clusters.assign_nodes(store, "a", "train", fabric[:2])
    await clusters.unassign_nodes(store, "a", "train", fabric[:1])
    rows = await store.read("MATCH (n:Node) WHERE n.key IN $k RETURN n.key AS k, n.state AS s", {"k": fabric[:2]})
    assert {r["k"]: r["s"] for r in rows} == {fabric[0]: "sanitizing", fabric[1]: "allocated"}
    await clusters.create_cluster(store, "b", "next")
    with pytest.raises(InUse):
        await clusters.assign_nodes(store, "b", "next", fabric[:1])
    with pytest.raises(InUse):
        await clusters.delete_cluster(store, "a", "train")
