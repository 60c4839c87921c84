"""What `tenancy.clusters` still does beside the lifecycle: a cluster's key, lookup and description.
Names are per tenant, and another tenant's cluster is not found."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from metalgraph.server.errors import NotFound
from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.store.base import GraphStore
from metalgraph.server.tenancy import clusters, tenants

sys.path.append(str(Path(__file__).parents[2] / "schema"))  # the fixture helper of the schema tests

from allocated import allocate_cluster


@pytest.fixture
async def fabric(store: GraphStore) -> list[str]:
    inventory = generate_fabric(64)
    await service.import_inventory(store, inventory)
    for tenant in ("a", "b"):
        await tenants.create_tenant(store, tenant)
    return sorted(n.name for n in inventory.nodes)


async def test_names_are_per_tenant_and_other_tenants_clusters_are_not_found(
    store: GraphStore, fabric: list[str]
) -> None:
    await allocate_cluster(store, "a", "train", fabric[:1], vlan=1200)
    await allocate_cluster(store, "b", "train", fabric[1:2], vlan=1201)  # the same name elsewhere
    assert clusters.cluster_key("a", "train") == "a/train"
    found = await clusters.get_cluster(store, "a", "train")
    assert found is not None and found["tenant"] == "a" and found["vlan"] == 1200
    assert await clusters.get_cluster(store, "a", "only-b-has-this") is None
    await clusters.update_cluster(store, "b", "train", "nightly")
    assert (await clusters.get_cluster(store, "b", "train") or {})["description"] == "nightly"
    assert (await clusters.get_cluster(store, "a", "train") or {})["description"] == ""
    with pytest.raises(NotFound):
        await clusters.update_cluster(store, "b", "only-a-has-this", "x")
