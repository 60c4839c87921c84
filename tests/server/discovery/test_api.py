"""`linkDrift` and `discover` in GraphQL: roles, the typed summary, and writes through the context's store.

The resolvers run in a schema of their own here (the app's schema includes them once wired), with a
real context on each store. The demo's sim devices live in the process-wide lab: each test removes
the ones it seeded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.drivers.sim import default_lab
from metalgraph.schema.context import new_context
from metalgraph.schema.discovery_schema import DiscoveryMutation, DiscoveryQuery
from metalgraph.schema.errors import ErrorCodes
from metalgraph.schema.schema import schema as app_schema
from metalgraph.server.auth.principal import AuthMethod, Principal, Role
from metalgraph.server.devices.demo_lab import forget_sim_devices
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.store.base import GraphStore
from metalgraph.server.topology.scope import EVERYTHING


@strawberry.type
class Query(DiscoveryQuery):
    pass


@strawberry.type
class Mutation(DiscoveryMutation):
    pass


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, extensions=[ErrorCodes])
ADMIN = Principal("admin", Role.PROVIDER_ADMIN, None, AuthMethod.ADMIN_TOKEN)
VIEWER = Principal("viewer", Role.PROVIDER_VIEWER, None, AuthMethod.LOOPBACK)
TENANT = Principal("t1", Role.TENANT_ADMIN, "acme", AuthMethod.API_TOKEN)

DISCOVER = """
mutation Discover($apply: Boolean!) {
  discover(apply: $apply, maxChanges: 3) {
    applied devices read failed skipped changeCount
    summary { kind added changed removed }
    changes { action kind subject detail }
    errors { kind name error message }
    drift { missingCount unexpectedCount wrongRailCount scannedSwitches }
  }
}
"""
DRIFT = """
query Drift($kind: DriftKind, $first: Int) {
  linkDrift(kind: $kind, first: $first) {
    totalCount missingCount unexpectedCount wrongRailCount scannedSwitches unscannedSwitches truncated
    items { kind sourceKind source port switch node reason seenAt }
  }
}
"""


@pytest.fixture
def sim_devices(fabric: Inventory) -> Iterator[None]:
    yield
    addresses = [sw.mgmt_address for sw in fabric.switches] + [n.bmc.address for n in fabric.nodes if n.bmc]
    forget_sim_devices(default_lab(), addresses)


async def execute(store: GraphStore, tmp_path: Path, principal: Principal, query: str, **variables: Any) -> Any:
    context = new_context(store, principal, EVERYTHING, make_settings(tmp_path, device_timeout_s=2), services=None)
    return await SCHEMA.execute(query, variable_values=variables, context_value=context)


def codes(result: Any) -> list[str]:
    return [e.extensions["code"] for e in result.errors or []]


def refused(result: Any) -> str:
    """The refusal message of a denied operation (its code is the ErrorCodes extension's business)."""
    assert result.data is None and result.errors is not None and len(result.errors) == 1
    return result.errors[0].message


async def test_providers_read_drift_and_only_admins_discover(demo_store: GraphStore, tmp_path: Path) -> None:
    viewer = await execute(demo_store, tmp_path, VIEWER, DRIFT)
    assert viewer.errors is None
    assert viewer.data["linkDrift"]["scannedSwitches"] == 0 and len(viewer.data["linkDrift"]["unscannedSwitches"]) == 14
    assert refused(await execute(demo_store, tmp_path, TENANT, DRIFT)) == "only a provider may read this"
    assert refused(await execute(demo_store, tmp_path, VIEWER, DISCOVER, apply=False)) == (
        "only a provider-admin may do this"
    )
    assert refused(await execute(demo_store, tmp_path, TENANT, DISCOVER, apply=True)) == (
        "only a provider-admin may do this"
    )
    assert codes(await execute(demo_store, tmp_path, VIEWER, DRIFT, first=100_000)) == ["PAGE_SIZE_LIMIT"]
    assert await demo_store.read("MATCH ()-[o:OBSERVED]->() RETURN count(o) AS n") == [{"n": 0}]


async def test_discover_on_the_demo_then_apply_then_nothing(
    demo_store: GraphStore, tmp_path: Path, fabric: Inventory, sim_devices: None
) -> None:
    dry = await execute(demo_store, tmp_path, ADMIN, DISCOVER, apply=False)
    assert dry.errors is None, dry.errors
    found = dry.data["discover"]
    links = sum(1 for n in fabric.nodes for nic in n.nics if nic.port) + 2 * len(fabric.links)
    assert (found["applied"], found["devices"], found["read"], found["failed"]) == (False, 16, 16, 0)
    assert found["changeCount"] == links and len(found["changes"]) == 3
    assert found["summary"] == [{"kind": "OBSERVED", "added": links, "changed": 0, "removed": 0}]
    assert found["changes"][0]["action"] == "ADD" and found["changes"][0]["subject"].startswith("(NIC gpu-0001/")
    assert (await execute(demo_store, tmp_path, VIEWER, DRIFT)).data["linkDrift"]["scannedSwitches"] == 0

    applied = (await execute(demo_store, tmp_path, ADMIN, DISCOVER, apply=True)).data["discover"]
    assert applied["applied"] and applied["drift"] == {
        "missingCount": 0,
        "unexpectedCount": 0,
        "wrongRailCount": 0,
        "scannedSwitches": 14,
    }
    again = (await execute(demo_store, tmp_path, ADMIN, DISCOVER, apply=False)).data["discover"]
    assert again["changeCount"] == 0 and again["changes"] == []


async def test_drift_items_and_failures_over_the_api(demo_store: GraphStore, tmp_path: Path, sim_devices: None) -> None:
    await execute(demo_store, tmp_path, ADMIN, DISCOVER, apply=True)  # seeds the lab from the graph
    lab = default_lab()
    lab.switch("sim://leaf-p01-su01-r5").port("swp1").neighbour = None
    lab.switch("sim://oob-su01").faults.unreachable = True
    result = (await execute(demo_store, tmp_path, ADMIN, DISCOVER, apply=True)).data["discover"]
    assert result["errors"] == [
        {"kind": "switch", "name": "oob-su01", "error": "DeviceUnreachable", "message": result["errors"][0]["message"]}
    ]
    assert result["read"] == 15 and result["drift"]["missingCount"] == 1

    drift = (await execute(demo_store, tmp_path, VIEWER, DRIFT, kind="MISSING", first=1)).data["linkDrift"]
    assert (drift["totalCount"], drift["missingCount"], drift["truncated"]) == (1, 1, False)
    (item,) = drift["items"]
    assert item["kind"] == "MISSING" and item["sourceKind"] == "NIC" and item["node"] == "gpu-0001"
    assert (item["source"], item["port"], item["switch"]) == (
        "gpu-0001/rail5",
        "leaf-p01-su01-r5/swp1",
        "leaf-p01-su01-r5",
    )
    assert "hears nothing" in item["reason"] and item["seenAt"] is None
    none = (await execute(demo_store, tmp_path, VIEWER, DRIFT, kind="WRONG_RAIL")).data["linkDrift"]
    assert none["totalCount"] == 0 and none["items"] == []


WIRED = "linkDrift" in app_schema.as_str()


@pytest.mark.skipif(not WIRED, reason="DiscoveryQuery and DiscoveryMutation are not in schema/schema.py yet")
async def test_the_app_serves_discovery_and_audits_what_it_writes(
    api: httpx.AsyncClient, demo_store: GraphStore, sim_devices: None
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = await api.post("/graphql", json={"query": DISCOVER, "variables": {"apply": True}}, headers=admin)
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["discover"]["applied"] and body["data"]["discover"]["read"] == 16
    entries = await demo_store.read("MATCH (e:AuditEntry) RETURN e.operation AS op, e.outcome AS outcome")
    assert {"op": "discover", "outcome": "ok"} in entries
    drift = (await api.post("/graphql", json={"query": DRIFT})).json()  # loopback: provider-viewer
    assert drift["data"]["linkDrift"]["scannedSwitches"] == 14
