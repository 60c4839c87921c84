"""The cluster lifecycle through the API: self-service by role, plans tenants read as counts only, a
cluster created, provisioned on simulated devices, resized, released and deleted, and the error codes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.drivers.sim import default_lab
from metalgraph.schema.errors import Code, domain_code
from metalgraph.server.app import create_app
from metalgraph.server.errors import InUse, InvalidReference, NotFound
from metalgraph.server.inventory import service
from metalgraph.server.lifecycle.admission import AdmissionRefused
from metalgraph.server.lifecycle.reserve import CannotPlace
from metalgraph.server.lifecycle.service import InvalidState
from metalgraph.server.store.base import GraphStore

sys.path.append(str(Path(__file__).parent))  # the helpers next to this file

from lifecycle_fabric import SimFabric, sim_fabric

TENANT = "lc-tenant"
FAST_JOBS: dict[str, Any] = {"job_poll_s": 0.05, "sanitize_poll_s": 0.05, "rate_limit_burst": 10_000}
CLUSTER_FIELDS = "name state reason vlan site spec { nodes gpus level mode } nodes { name state }"
PLAN_FIELDS = (
    "feasible nodeCount gpuCount nodes site domains { level count names } hopDiameter bottleneckGbps "
    "fragmentation { level score } explanations"
)


@dataclass
class Lab:
    client: httpx.AsyncClient
    fabric: SimFabric
    tokens: dict[str, str]

    async def call(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        token = ADMIN_TOKEN if who == "admin" else self.tokens[who]
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        assert "Traceback" not in response.text
        return response.json()

    async def ok(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.call(who, query, **variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def codes(self, who: str, query: str, **variables: Any) -> list[str]:
        body = await self.call(who, query, **variables)
        return [e["extensions"]["code"] for e in body.get("errors", [])]

    async def cluster(self, who: str, name: str, tenant: str | None = None) -> dict[str, Any]:
        query = f"query($n: String!, $t: String) {{ cluster(name: $n, tenant: $t) {{ {CLUSTER_FIELDS} }} }}"
        return (await self.ok(who, query, n=name, t=tenant))["cluster"]

    async def wait_for(self, name: str, *states: str, timeout_s: float = 60.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while True:
                found = await self.cluster("t_admin", name)
                if found["state"] in states:
                    return found
                await asyncio.sleep(0.05)


async def open_lab(store: GraphStore, tmp_path: Path, **settings: Any) -> AsyncIterator[Lab]:
    fabric = sim_fabric()
    app = create_app(make_settings(tmp_path, **{**FAST_JOBS, **settings}), store=store)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))  # not loopback
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://lab", timeout=60) as client,
        ):
            await service.import_inventory(store, fabric.inventory())
            lab = Lab(client, fabric, {})
            await lab.ok("admin", f'mutation {{ createTenant(name: "{TENANT}") {{ name }} }}')
            for who, role, tenant in (
                ("t_admin", "TENANT_ADMIN", TENANT),
                ("t_member", "TENANT_MEMBER", TENANT),
                ("viewer", "PROVIDER_VIEWER", None),
            ):
                data = await lab.ok(
                    "admin",
                    "mutation($r: Role!, $t: String) { createApiToken(role: $r, tenant: $t) { token } }",
                    r=role,
                    t=tenant,
                )
                lab.tokens[who] = data["createApiToken"]["token"]
            yield lab
    finally:
        fabric.forget()


@pytest.fixture
async def lab(store: GraphStore, tmp_path: Path) -> AsyncIterator[Lab]:
    async for found in open_lab(store, tmp_path):
        yield found


CREATE = """mutation($n: String!, $s: ClusterSpecInput!, $t: String) {
  createCluster(name: $n, spec: $s, tenant: $t) { name state spec { nodes level mode } } }"""
PLAN = f"query($s: ClusterSpecInput!) {{ planCluster(spec: $s) {{ {PLAN_FIELDS} }} }}"


async def test_a_tenant_admin_creates_resizes_releases_and_deletes_its_cluster(lab: Lab) -> None:
    created = (await lab.ok("t_admin", CREATE, n="train", s={"nodes": 2, "level": "LEAF", "mode": "REQUIRED"}))[
        "createCluster"
    ]
    assert created["name"] == "train"
    assert created["state"] in ("REQUESTED", "RESERVING", "CONFIGURING_NETWORK", "POWERING_ON", "READY")
    assert created["spec"] == {"nodes": 2, "level": "LEAF", "mode": "REQUIRED"}
    ready = await lab.wait_for("train", "READY", "FAILED")
    assert ready["state"] == "READY", ready
    assert ready["reason"] is None and ready["vlan"] and ready["site"] == lab.fabric.site
    members = [n["name"] for n in ready["nodes"]]
    assert len(members) == 2 and all(n["state"] == "ALLOCATED" for n in ready["nodes"])
    leaves = {lab.fabric.leaves[lab.fabric.nodes.index(m) // 2] for m in members}
    assert len(leaves) == 1, "REQUIRED LEAF: both nodes behind one leaf"

    events_query = '{ cluster(name: "train") { events { seq kind state message done total } } }'
    events = (await lab.ok("t_member", events_query))["cluster"]["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["kind"] == "requested" and events[-1]["kind"] == "ready" and events[-1]["state"] == "READY"
    kinds = [e["kind"] for e in events]
    assert kinds.index("reserved") < kinds.index("network") < kinds.index("power") < kinds.index("ready")
    later = await lab.ok("t_member", '{ cluster(name: "train") { events(after: 2, first: 1) { seq } } }')
    assert later["cluster"]["events"] == [{"seq": 3}]

    # The tenant's member reads but changes nothing; so does a provider-viewer.
    for who in ("t_member", "viewer"):
        tenant = TENANT if who == "viewer" else None
        for mutation in (
            f'releaseCluster(name: "train"{", tenant: " + repr(tenant).replace(chr(39), chr(34)) if tenant else ""})',
            'createCluster(name: "x", spec: {nodes: 1})',
            'resizeCluster(name: "train", add: 1)',
            f'replaceNode(name: "train", node: "{members[0]}")',
            'deleteCluster(name: "train")',
        ):
            assert await lab.codes(who, f"mutation {{ {mutation} {{ __typename }} }}") == ["FORBIDDEN"], (who, mutation)

    # Growing is placed like the cluster: REQUIRED LEAF cannot take a third node behind that leaf, so the grow
    # is undone and the cluster is ready again as it was, the reason in its events.
    grown = await lab.ok("t_admin", 'mutation { resizeCluster(name: "train", add: 1) { state } }')
    # The answer is the cluster as it is when read back; the job may already have moved on.
    assert grown["resizeCluster"]["state"] in ("RESIZING", "ROLLING_BACK", "READY")
    ready = await lab.wait_for("train", "READY")
    assert sorted(n["name"] for n in ready["nodes"]) == sorted(members)
    last = (await lab.ok("t_admin", events_query))["cluster"]["events"][-1]
    assert last["kind"] == "rolled_back" and last["state"] == "READY", last
    assert lab.fabric.prefix not in last["message"].replace(lab.fabric.site, ""), "names of other domains redacted"
    # Shrinking by a named node leaves the other.
    shrink = 'mutation($r: [String!]) { resizeCluster(name: "train", remove: $r) { state } }'
    await lab.ok("t_admin", shrink, r=[members[1]])
    ready = await lab.wait_for("train", "READY")
    assert [n["name"] for n in ready["nodes"]] == [members[0]]

    # Deleting a ready cluster is refused; releasing it first, then deleting it, forgets it.
    assert await lab.codes("t_admin", 'mutation { deleteCluster(name: "train") { deleted } }') == ["INVALID_STATE"]
    released = await lab.ok("t_admin", 'mutation { releaseCluster(name: "train") { state } }')
    assert released["releaseCluster"]["state"] in ("RELEASING", "RELEASED")
    assert await lab.codes("t_admin", 'mutation { releaseCluster(name: "train") { state } }') == ["INVALID_STATE"]
    done = await lab.wait_for("train", "RELEASED")
    assert done["nodes"] == [] and done["vlan"] is None
    deleted = await lab.ok("t_admin", 'mutation { deleteCluster(name: "train") { deleted name } }')
    assert deleted["deleteCluster"] == {"deleted": True, "name": "train"}
    assert (await lab.ok("t_admin", '{ cluster(name: "train") { name } }'))["cluster"] is None


async def test_plans_show_tenants_counts_only_and_providers_everything(lab: Lab) -> None:
    spec = {"nodes": 2, "gpuModel": "H100"}
    provider = (await lab.ok("viewer", PLAN, s=spec))["planCluster"]
    tenant = (await lab.ok("t_member", PLAN, s=spec))["planCluster"]
    assert provider["feasible"] and tenant["feasible"]
    assert len(provider["nodes"]) == 2 and set(provider["nodes"]) <= set(lab.fabric.nodes)
    assert provider["nodeCount"] == tenant["nodeCount"] == 2 and tenant["gpuCount"] == 16
    assert tenant["nodes"] == [] and all(d["names"] == [] for d in tenant["domains"])
    assert [(d["level"], d["count"]) for d in tenant["domains"]] == [
        (d["level"], d["count"]) for d in provider["domains"]
    ]
    assert any(d["names"] for d in provider["domains"] if d["level"] == "LEAF")
    assert {k: v for k, v in tenant.items() if k not in ("nodes", "domains")} == {
        k: v for k, v in provider.items() if k not in ("nodes", "domains")
    }
    # Infeasible: the explanations name domains for the provider, never for the tenant.
    for too_big in ({"nodes": 3, "level": "LEAF", "mode": "REQUIRED"}, {"nodes": 9}, {"gpus": 4, "maxHops": 2}):
        provider = (await lab.ok("admin", PLAN, s=too_big))["planCluster"]
        tenant = (await lab.ok("t_admin", PLAN, s=too_big))["planCluster"]
        assert tenant["feasible"] is provider["feasible"]
        if not provider["feasible"]:
            assert tenant["explanations"] and len(tenant["explanations"]) == len(provider["explanations"])
        text = " ".join(tenant["explanations"])
        assert lab.fabric.prefix.rstrip("-") not in text.replace(lab.fabric.site, ""), tenant["explanations"]
    provider = (await lab.ok("admin", PLAN, s={"nodes": 3, "level": "LEAF", "mode": "REQUIRED"}))["planCluster"]
    assert not provider["feasible"]
    assert any(lab.fabric.prefix in line.replace(lab.fabric.site, "") for line in provider["explanations"])


async def test_error_codes(lab: Lab) -> None:
    assert await lab.codes("t_admin", CREATE, n="c", s={}) == ["INVALID_INPUT"]
    assert await lab.codes("t_admin", CREATE, n="c", s={"nodes": 1, "gpus": 8}) == ["INVALID_INPUT"]
    assert await lab.codes("t_admin", CREATE, n="c", s={"nodes": 1, "maxHops": 1}) == ["INVALID_INPUT"]
    assert await lab.codes("t_admin", CREATE, n="Bad Name!", s={"nodes": 1}) == ["INVALID_INPUT"]
    assert await lab.codes("t_admin", PLAN, s={"nodes": 0}) == ["INVALID_INPUT"]
    body = await lab.call("t_admin", CREATE, n="c", s={"nodes": 5})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INSUFFICIENT_CAPACITY"]
    assert lab.fabric.prefix not in body["errors"][0]["message"].replace(lab.fabric.site, "")
    body = await lab.call("admin", CREATE, n="c", s={"nodes": 5}, t=TENANT)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INSUFFICIENT_CAPACITY"]
    assert await lab.codes("admin", CREATE, n="c", s={"nodes": 1}) == ["INVALID_INPUT"], "providers name the tenant"
    assert await lab.codes("admin", CREATE, n="c", s={"nodes": 1}, t="no-such-tenant") == ["NOT_FOUND"]
    assert await lab.codes("t_admin", CREATE, n="c", s={"nodes": 1}, t="another-tenant") == ["NOT_FOUND"]
    for mutation in (
        'releaseCluster(name: "nope")',
        'resizeCluster(name: "nope", add: 1)',
        'replaceNode(name: "nope", node: "n")',
        'deleteCluster(name: "nope")',
    ):
        assert await lab.codes("t_admin", f"mutation {{ {mutation} {{ __typename }} }}") == ["NOT_FOUND"], mutation
    for arguments in ("", ", add: 1, removeCount: 1", ", remove: [], add: 1"):
        query = f'mutation {{ resizeCluster(name: "nope"{arguments}) {{ name }} }}'
        assert await lab.codes("t_admin", query) == ["INVALID_INPUT"], arguments
    await lab.ok("t_admin", CREATE, n="c", s={"nodes": 1})
    assert await lab.codes("t_admin", CREATE, n="c", s={"nodes": 1}) == ["ALREADY_EXISTS"]
    busy = await lab.codes("t_admin", 'mutation { resizeCluster(name: "c", removeCount: 1) { name } }')
    assert busy in (["INVALID_STATE"], ["INVALID_INPUT"])  # still provisioning, or a one-node cluster
    await lab.wait_for("c", "READY")
    assert await lab.codes("t_admin", 'mutation { resizeCluster(name: "c", removeCount: 1) { name } }') == [
        "INVALID_INPUT"
    ], "a shrink must leave a node"
    assert await lab.codes("t_admin", 'mutation { replaceNode(name: "c", node: "not-a-member") { name } }') == [
        "NOT_FOUND"
    ]
    assert await lab.codes("t_admin", '{ cluster(name: "c") { events(first: 100000) { seq } } }') == ["PAGE_SIZE_LIMIT"]


async def test_admission_refuses_a_request_and_a_resize_at_once(store: GraphStore, tmp_path: Path) -> None:
    async for lab in open_lab(store, tmp_path, max_cluster_nodes=1):
        assert await lab.codes("t_admin", CREATE, n="big", s={"nodes": 2}) == ["ADMISSION_REFUSED"]
        assert (await lab.ok("t_admin", '{ cluster(name: "big") { name } }'))["cluster"] is None
        await lab.ok("t_admin", CREATE, n="small", s={"nodes": 1})
        await lab.wait_for("small", "READY")
        events = '{ cluster(name: "small") { state events { kind message } } }'
        before = (await lab.ok("t_admin", events))["cluster"]
        body = await lab.call("t_admin", 'mutation { resizeCluster(name: "small", add: 1) { state } }')
        assert [e["extensions"]["code"] for e in body["errors"]] == ["ADMISSION_REFUSED"]
        assert "at most 1 nodes" in body["errors"][0]["message"]
        assert (await lab.ok("t_admin", events))["cluster"] == before, "no job was started"


async def test_a_resize_beyond_any_inventory_is_refused_at_once(lab: Lab) -> None:
    await lab.ok("t_admin", CREATE, n="c", s={"nodes": 2})
    await lab.wait_for("c", "READY")
    events = '{ cluster(name: "c") { state nodes { name } events { seq } } }'
    before = (await lab.ok("t_admin", events))["cluster"]
    for arguments in (
        "add: 2147483647",
        f"add: {len(lab.fabric.nodes) - 1}",
        "add: 0",
        "add: -1",
        "add: -2147483648",
        "removeCount: 2147483647",
        "removeCount: 2",
        "removeCount: 0",
        "removeCount: -1",
    ):
        query = f'mutation {{ resizeCluster(name: "c", {arguments}) {{ state }} }}'
        body = await lab.call("t_admin", query)
        assert [e["extensions"]["code"] for e in body.get("errors", [])] == ["INVALID_INPUT"], (arguments, body)
    remove = 'mutation($r: [String!]) { resizeCluster(name: "c", remove: $r) { state } }'
    assert await lab.codes("t_admin", remove, r=[n["name"] for n in before["nodes"]]) == ["INVALID_INPUT"]
    assert await lab.codes("t_admin", remove, r=[f"n{i}" for i in range(5000)]) == ["NOT_FOUND"]
    assert (await lab.ok("t_admin", events))["cluster"] == before, "no job was started"


def test_domain_errors_map_to_codes() -> None:
    assert domain_code(CannotPlace("x")) is Code.INSUFFICIENT_CAPACITY
    assert domain_code(AdmissionRefused("x")) is Code.ADMISSION_REFUSED
    assert domain_code(InvalidState("x")) is Code.INVALID_STATE
    assert domain_code(InUse("x")) is Code.IN_USE
    assert domain_code(NotFound("x")) is Code.NOT_FOUND
    assert domain_code(InvalidReference("x")) is Code.INVALID_INPUT


ISOLATION = "{ isolationReport { ok switchesRead portsCompared clusters violations { kind message } } }"


async def test_providers_read_the_isolation_report_of_a_ready_cluster_and_tenants_may_not(lab: Lab) -> None:
    await lab.ok("t_admin", CREATE, n="iso", s={"nodes": 2})
    await lab.wait_for("iso", "READY")
    report = (await lab.ok("viewer", ISOLATION))["isolationReport"]
    assert report["violations"] == [] and report["ok"] is True
    assert report["clusters"] == 1 and report["switchesRead"] > 0 and report["portsCompared"] > 0
    assert await lab.codes("t_admin", ISOLATION) == ["FORBIDDEN"]

    vlan = (await lab.cluster("t_admin", "iso"))["vlan"]
    leaf = default_lab().switch(lab.fabric.leaves[-1])
    stray = next(p for p in leaf.ports.values() if p.mode.value == "access" and p.access_vlan != vlan)
    stray.access_vlan = vlan  # a port of a free node let into the tenant's VLAN
    broken = (await lab.ok("viewer", ISOLATION))["isolationReport"]
    assert broken["ok"] is False and broken["violations"]
