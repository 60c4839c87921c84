"""Nothing tenant A does changes anything tenant B can observe.

Tenant B's complete walk of the schema (every root query field, nested fields to a bounded depth, with
arguments naming B's objects and A's, as B's member and admin; see `schema_walk`) is recorded. Then A,
through the API with its own tokens, creates, grows, shrinks, fails and releases clusters on simulated
switches and BMCs, with the job runner running them, and makes refused requests of every kind. Once A's
jobs have settled, B's walk is repeated: every answer must be identical, except the fields of
`ALLOWED_CHANGES`. A field added to the schema is walked and compared without anyone touching this file.

The fabric has two sites with the same VLAN pool, B has clusters in both, and A's cluster shares a leaf
and its uplink trunks with B, so that what the sites and the switches share is compared too. Besides the
walk: B's next audit entry must follow B's previous one the same way with or without A's acts in between
(`b_follow_up`), B's VLANs on the simulated switches must stay as they were (`b_network`), and B reads the
server's other routes too (`ROUTES`).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import build_client_schema, get_introspection_query

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.drivers.sim import default_lab
from metalgraph.server.app import create_app
from metalgraph.server.devices.demo_lab import forget_sim_devices
from metalgraph.server.inventory import model, service
from metalgraph.server.store.base import GraphStore

sys.path.append(str(Path(__file__).parent))  # the helpers next to this file

from lifecycle_fabric import sim_node
from schema_walk import Call, Walker
from tenant_world import WALK_LIMITS, Cursor, Pools, error_codes, wire

A_TENANT = "acme-corp"
B_TENANT = "bravo-co"
B_CALLERS = ("b_member", "b_admin")
CONCURRENCY = 8
FAST_JOBS: dict[str, Any] = {
    "job_poll_s": 0.05,
    "sanitize_poll_s": 0.05,
    "device_timeout_s": 2.0,
    "held_vlan_retry_s": 0.5,
}
STRICT_LIMITS: dict[str, Any] = {"rate_limit_per_s": 0.2, "rate_limit_burst": 10, "run_jobs": False}
"""A second server on the same store, with small limits, where A's requests are refused for their rate."""
SETTLED = frozenset({"READY", "FAILED", "RELEASED"})
SETTLE_TIMEOUT_S = 180.0

ALLOWED_CHANGES: dict[str, str] = {
    "freeCapacity": "free nodes and GPUs per site, pod and GPU model: aggregates of the pool, which A's clusters "
    "draw from (a bucket with nothing free left is left out)",
    "planCluster.feasible": "a plan of the pool as it is now (aggregate): A's clusters hold nodes",
    "planCluster.nodeCount": "likewise",
    "planCluster.gpuCount": "likewise",
    "planCluster.site": "likewise: the site a plan picks depends on what is free",
    "planCluster.domains": "likewise: free nodes per domain level, as counts (tenants get no names)",
    "planCluster.domains[].count": "likewise",
    "planCluster.hopDiameter": "likewise",
    "planCluster.bottleneckGbps": "likewise",
    "planCluster.fragmentation[].score": "likewise: how fragmented the free pool is",
    "planCluster.explanations": "likewise: why a plan is infeasible, from counts of eligible nodes",
    "planCluster.explanations[]": "likewise (a feasible plan may become infeasible, in other words)",
}
"""Paths (root field, nested fields, `[]` for any list item) whose values may change when A acts, and why.
Nothing of B's own objects changes: B does not act between its walks, and its reads change nothing. An answer
that changed is searched for A's words too (`a_words`), so an allowed field cannot carry a name of A."""


# --- the fabric ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fabric:
    """Two sites, each a spine over leaves; every device simulated. Big nodes (8 GPUs) are where B's
    clusters go (B asks for 8 GPUs per node), small ones (2 GPUs) are left for A. East: a shared leaf with
    a big and a small node, a second big-and-small leaf, and a leaf with one small node; so A's two-node
    cluster spans two leaves and its VLAN rides the uplink trunks of a leaf B uses. West: B's two clusters,
    and small nodes for A's first cluster, the one it names like B's and the one that fails."""

    prefix: str

    @property
    def east(self) -> str:
        return f"{self.prefix}east"

    @property
    def west(self) -> str:
        return f"{self.prefix}west"

    def leaves(self) -> dict[str, dict[str, list[tuple[str, int]]]]:
        """site -> leaf -> its nodes and their GPU counts."""
        p = self.prefix
        return {
            self.east: {
                f"{p}e-leaf-1": [(f"{p}e-big-1", 8), (f"{p}e-small-1", 2)],
                f"{p}e-leaf-2": [(f"{p}e-big-2", 8), (f"{p}e-small-2", 2)],
                f"{p}e-leaf-3": [(f"{p}e-small-3", 2)],
            },
            self.west: {
                f"{p}w-leaf-1": [(f"{p}w-big-1", 8), (f"{p}w-big-3", 8), (f"{p}w-small-1", 2), (f"{p}w-small-3", 2)],
                f"{p}w-leaf-2": [(f"{p}w-big-2", 8), (f"{p}w-small-2", 2)],
            },
        }

    def spine(self, site: str) -> str:
        return f"{site}-spine"

    def switches(self) -> list[str]:
        return [name for site, leaves in self.leaves().items() for name in (*leaves, self.spine(site))]

    def nodes(self) -> list[str]:
        return [n for leaves in self.leaves().values() for nodes in leaves.values() for n, _ in nodes]

    def leaf_of(self, node: str) -> str:
        return next(leaf for leaves in self.leaves().values() for leaf, ns in leaves.items() if node in dict(ns))

    def inventory(self) -> model.Inventory:
        sites: list[model.Site] = []
        racks: list[model.Rack] = []
        switches: list[model.Switch] = []
        nodes: list[model.Node] = []
        links: list[model.Link] = []
        for site, leaves in self.leaves().items():
            sites.append(model.Site(name=site, region="us-east", country="US", jurisdiction="US"))
            rack = f"{site}-rack"
            racks.append(model.Rack(name=rack, site=site, row="A"))
            spine = self.spine(site)
            for li, (leaf, members) in enumerate(leaves.items()):
                ports = [
                    model.Port(name=f"swp{i + 1}", index=i + 1, speed_gbps=400, oper_status="up")
                    for i in range(len(members))
                ]
                ports.append(_trunk("up1", 49))
                switches.append(_switch(leaf, rack, model.SwitchRole.LEAF, ports))
                links.append(
                    model.Link(
                        a=model.PortRef(switch=leaf, port="up1"),
                        b=model.PortRef(switch=spine, port=f"swp{li + 1}"),
                        speed_gbps=800,
                    )
                )
                for i, (name, gpus) in enumerate(members):
                    nodes.append(_node(name, rack, len(nodes), gpus, model.PortRef(switch=leaf, port=f"swp{i + 1}")))
            downs = [_trunk(f"swp{i + 1}", i + 1) for i in range(len(leaves))]
            switches.append(_switch(spine, rack, model.SwitchRole.SPINE, downs))
        return model.Inventory(
            sites=tuple(sites), racks=tuple(racks), switches=tuple(switches), nodes=tuple(nodes), links=tuple(links)
        )

    def forget(self) -> None:
        forget_sim_devices(default_lab(), [f"sim://{n}" for n in (*self.switches(), *self.nodes())])


def _trunk(name: str, index: int) -> model.Port:
    return model.Port(name=name, index=index, speed_gbps=800, mode=model.PortMode.TRUNK, oper_status="up")


def _switch(name: str, rack: str, role: model.SwitchRole, ports: list[model.Port]) -> model.Switch:
    return model.Switch(
        name=name, rack=rack, role=role, pod="pod-1", driver="sim", mgmt_address=f"sim://{name}", ports=tuple(ports)
    )


def _node(name: str, rack: str, index: int, gpus: int, port: model.PortRef) -> model.Node:
    return sim_node(name, rack, index, gpus, f"02:5b:00:00:{index:02x}:00", port)


# --- the world: two servers on one store, two tenants --------------------------------------------------


@dataclass
class World:
    fabric: Fabric
    shared: httpx.AsyncClient
    """The server B walks, and where A does everything but the requests refused for their rate."""
    strict: httpx.AsyncClient
    secrets: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, str] = field(default_factory=dict)

    async def post(
        self, who: str | None, query: str, variables: dict[str, Any] | None = None, *, strict: bool = False
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN if who == 'admin' else self.secrets[who]}"} if who else {}
        client = self.strict if strict else self.shared
        return await client.post("/graphql", json={"query": query, "variables": wire(variables or {})}, headers=headers)

    async def call(self, who: str | None, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(who, query, variables)
        assert response.status_code == 200, f"HTTP {response.status_code} for {who}: {query}\n{response.text}"
        return response.json()

    async def ok(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.call(who, query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def codes(self, who: str | None, query: str, **variables: Any) -> list[str]:
        return error_codes(await self.call(who, query, variables))

    async def create(self, who: str, name: str, spec: dict[str, Any]) -> None:
        await self.ok(who, CREATE, n=name, s=spec)

    async def clusters(self) -> dict[str, dict[str, Any]]:
        """Every cluster as the provider sees it, by `tenant/name`."""
        data = await self.ok(
            "admin",
            "{ clusters(first: 1000) { edges { node { name state reason vlan site tenant { name } "
            "nodes { name } } } } }",
        )
        return {f"{c['tenant']['name']}/{c['name']}": c for c in (e["node"] for e in data["clusters"]["edges"])}

    async def settle(self, *clusters: str) -> dict[str, dict[str, Any]]:
        """Waits until every cluster is READY, FAILED or RELEASED, no node is being erased and, unless
        `clusters` are named, no failed cluster holds its VLAN any more (the server tries again)."""
        async with asyncio.timeout(SETTLE_TIMEOUT_S):
            while True:
                found = await self.clusters()
                nodes = await self.ok("admin", "{ nodes(first: 1000) { edges { node { name state } } } }")
                erasing = [e["node"]["name"] for e in nodes["nodes"]["edges"] if e["node"]["state"] == "SANITIZING"]
                if (
                    all(found.get(c, {}).get("state") in SETTLED for c in clusters)
                    and all(c["state"] in SETTLED for c in found.values())
                    and not erasing
                    and (clusters or all(c["vlan"] is None for c in found.values() if c["state"] == "FAILED"))
                ):
                    return found
                await asyncio.sleep(0.1)


CREATE = "mutation($n: String!, $s: ClusterSpecInput!) { createCluster(name: $n, spec: $s) { name state } }"


async def _token(world: World, who: str, role: str, tenant: str) -> None:
    data = await world.ok(
        "admin",
        "mutation($r: Role!, $t: String, $d: String!) { createApiToken(role: $r, tenant: $t, description: $d) "
        "{ token apiToken { id } } }",
        r=role,
        t=tenant,
        d=who,
    )
    world.secrets[who] = data["createApiToken"]["token"]
    world.token_ids[who] = data["createApiToken"]["apiToken"]["id"]


@asynccontextmanager
async def open_world(store: GraphStore, tmp_path: Path) -> AsyncIterator[World]:
    """The fabric loaded, B's clusters ready in both sites (B asks for them itself), A's first cluster ready."""
    fabric = Fabric(f"ni{secrets.token_hex(3)}-")
    shared = create_app(make_settings(tmp_path / "shared", **{**WALK_LIMITS, **FAST_JOBS}), store=store)
    strict = create_app(make_settings(tmp_path / "strict", **STRICT_LIMITS), store=store)
    client = ("198.51.100.30", 40000)  # not loopback
    try:
        async with (
            shared.router.lifespan_context(shared),
            strict.router.lifespan_context(strict),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=shared, client=client), base_url="http://a") as one,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=strict, client=client), base_url="http://b") as two,
        ):
            await service.import_inventory(store, fabric.inventory())
            world = World(fabric, one, two)
            for tenant in (A_TENANT, B_TENANT):
                await world.ok("admin", "mutation($n: String!) { createTenant(name: $n) { name } }", n=tenant)
            for who, role, tenant in (
                ("a_admin", "TENANT_ADMIN", A_TENANT),
                ("a_member", "TENANT_MEMBER", A_TENANT),
                ("b_admin", "TENANT_ADMIN", B_TENANT),
                ("b_member", "TENANT_MEMBER", B_TENANT),
            ):
                await _token(world, who, role, tenant)
            # One at a time, so that the VLANs are the lowest of each site's pool in this order: B's east
            # cluster and B's first west cluster take the same VLAN id, B's second west cluster the next one,
            # which is the one A's first east cluster will take.
            for who, name, spec in (
                ("b_admin", "bravo-east", {"nodes": 2, "gpusPerNode": 8, "sites": [fabric.east]}),
                ("b_admin", "bravo-west", {"nodes": 2, "gpusPerNode": 8, "sites": [fabric.west]}),
                ("b_admin", "bravo-west2", {"nodes": 1, "gpusPerNode": 8, "sites": [fabric.west]}),
                ("a_admin", "acme-base", {"nodes": 1, "sites": [fabric.west]}),
            ):
                await world.create(who, name, spec)
                tenant = B_TENANT if who.startswith("b_") else A_TENANT
                settled = await world.settle(f"{tenant}/{name}")
                assert settled[f"{tenant}/{name}"]["state"] == "READY", settled[f"{tenant}/{name}"]
            yield world
    finally:
        fabric.forget()


# --- what B asks -----------------------------------------------------------------------------------------


def b_pools(world: World, clusters: dict[str, dict[str, Any]]) -> Pools:
    """B's own objects (its clusters, their nodes, the leaves and spines they use) and the sites."""
    f = world.fabric
    mine = {key.split("/", 1)[1]: c for key, c in clusters.items() if key.startswith(f"{B_TENANT}/")}
    nodes = sorted(n["name"] for c in mine.values() for n in c["nodes"])
    leaves = sorted({f.leaf_of(n) for n in nodes})
    spines = [f.spine(f.east), f.spine(f.west)]
    ports = [{"switch": f.leaf_of(n), "name": f"swp{_port_index(f, n)}"} for n in nodes]
    return Pools(
        objects={
            "Tenant": [{"name": B_TENANT}],
            "Cluster": [{"name": name, "tenant": B_TENANT} for name in mine] + [{"name": name} for name in mine],
            "Node": [{"name": n} for n in nodes],
            "Gpu": [{"uuid": f"GPU-{n}-0"} for n in nodes],
            "Nic": [{"node": n, "name": "ib0"} for n in nodes],
            "Port": ports
            + [{"switch": leaf, "name": "up1"} for leaf in leaves]
            + [{"switch": spines[0], "name": "swp1"}],
            "Switch": [{"name": s} for s in (*leaves, *spines)],
            "Rack": [{"name": f"{f.east}-rack"}],
            "Site": [{"name": f.east}, {"name": f.west}],
            "Path": [{"fromNode": nodes[0], "toNode": nodes[1]}, {"fromNode": nodes[0], "toNode": nodes[-1]}],
            "Neighborhood": [
                {"name": key, "depth": 4} for key in (*leaves[:2], spines[0], f.east, nodes[0], f"{leaves[0]}/up1")
            ],
            "ApiToken": [{"tenant": B_TENANT}],
            "PlacementPlan": [
                {"spec": {"nodes": 1}},
                {"spec": {"nodes": 2, "sites": [f.east]}},
                {"spec": {"nodes": 3, "level": "LEAF", "mode": "REQUIRED"}},
                {"spec": {"gpus": 16, "sites": [f.west]}},
            ],
        },
        by_argument={
            "tenant": [B_TENANT],
            "site": [f.east, f.west],
            "rack": [f"{f.west}-rack"],
            "namePrefix": [world.fabric.prefix, "bravo"],
            "switch": leaves[:1],
            "node": nodes[:1],
            "depth": [4],
            "after": [Cursor("a")],
        },
        fallback_string=B_TENANT,
    )


def a_pools(world: World) -> Pools:
    """What A has or will have: its tenant, tokens and cluster names, the small nodes its clusters use, the
    leaf only A uses. B's answers about them must not change either."""
    f = world.fabric
    smalls = [n for n in f.nodes() if "-small-" in n]
    names = ("acme-base", "acme-train", "acme-doomed", "acme-cut", "acme-huge", "bravo-east", "bravo-west")
    a_ids = sorted(world.token_ids[w] for w in ("a_admin", "a_member"))
    return Pools(
        objects={
            "Tenant": [{"name": A_TENANT}],
            "Cluster": [{"name": name, "tenant": A_TENANT} for name in names] + [{"name": n} for n in names[:3]],
            "Node": [{"name": n} for n in smalls],
            "Gpu": [{"uuid": f"GPU-{n}-0"} for n in smalls],
            "Nic": [{"node": n, "name": "ib0"} for n in smalls],
            "Port": [{"switch": f.leaf_of(n), "name": f"swp{_port_index(f, n)}"} for n in smalls],
            "Switch": [{"name": f"{f.prefix}e-leaf-3"}],
            "Path": [{"fromNode": smalls[0], "toNode": smalls[1]}],
            "Neighborhood": [{"name": key, "depth": 4} for key in (smalls[0], f"{f.prefix}e-leaf-3")],
            "ApiToken": [{"id": i, "tenant": A_TENANT} for i in a_ids],
            "AuditEntry": [{"filter": {"tenant": A_TENANT}}, *({"filter": {"actor": f"token:{i}"}} for i in a_ids)],
        },
        by_argument={
            "tenant": [A_TENANT],
            "node": smalls[:1],
            "id": a_ids[:1],
            "actor": [f"token:{i}" for i in a_ids[:1]],
            "after": [Cursor(smalls[0])],
        },
        fallback_string=A_TENANT,
    )


def _port_index(f: Fabric, node: str) -> int:
    for leaves in f.leaves().values():
        for members in leaves.values():
            names = [n for n, _ in members]
            if node in names:
                return names.index(node) + 1
    raise KeyError(node)


ROUTES = ("/healthz", "/metrics")
"""The server's other routes: B asks them too (whatever B may read of them must not move with A)."""
AUDIT_READ = "auditLog"
"""The root field whose answer B's own refused requests change (they are audited into B's log)."""

Question = tuple[str, Call]


def _key(who: str, call: Call) -> str:
    return f"[{who}] {call.document()} {json.dumps(wire(call.args), sort_keys=True)}"


async def _answer(world: World, who: str, call: Call) -> Any:
    response = await world.post(who, call.document(), call.args)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return {"status": response.status_code, "body": body}


async def ask(world: World, questions: list[Question]) -> dict[str, Any]:
    """B's answers to `questions`, asked concurrently (they are queries: their order does not matter)."""
    answers: dict[str, Any] = {}
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(who: str, call: Call) -> None:
        async with gate:
            answers[_key(who, call)] = await _answer(world, who, call)

    async def route(who: str, path: str) -> None:
        async with gate:
            response = await world.shared.get(path, headers={"Authorization": f"Bearer {world.secrets[who]}"})
            answers[f"[{who}] GET {path}"] = {"status": response.status_code, "body": response.text}

    await asyncio.gather(
        *(one(who, call) for who, call in questions), *(route(who, path) for path in ROUTES for who in B_CALLERS)
    )
    return answers


async def read(world: World, reads: list[Question]) -> dict[str, Any]:
    """B's reads of its audit log, one at a time. Some questions are refusals, audited into B's log, so the
    reads come after the questions the first time and before them the second: between the two reads B's
    log changes only by what the test has B do on purpose."""
    return {_key(who, call): await _answer(world, who, call) for who, call in reads}


def b_questions(
    walker: Walker, world: World, clusters: dict[str, dict[str, Any]]
) -> tuple[list[Question], list[Question]]:
    calls = walker.calls("query", b_pools(world, clusters)) + walker.calls("query", a_pools(world))
    unique = list({c.document() + repr(c.args): c for c in calls}.values())
    assert {c.field for c in unique} == set(walker.schema.query_type.fields), "every root query field is asked"  # type: ignore[union-attr]
    reads = [("b_admin", c) for c in unique if c.field == AUDIT_READ]
    questions = [(who, c) for c in unique for who in B_CALLERS if not (who == "b_admin" and c.field == AUDIT_READ)]
    return questions, reads


# --- what A does -------------------------------------------------------------------------------------------

RESIZE = "mutation($n: String!, $add: Int, $rc: Int) { resizeCluster(name: $n, add: $add, removeCount: $rc) { name } }"
RELEASE = "mutation($n: String!) { releaseCluster(name: $n) { name } }"
REPLACE = "mutation($n: String!, $node: String!) { replaceNode(name: $n, node: $node) { name } }"


async def a_acts(world: World, b_vlans: dict[str, set[int]]) -> list[str]:
    """A's lifecycle and A's refused requests; returns what A did, in words, for the failure message."""
    f = world.fabric
    done: list[str] = []
    train = f"{A_TENANT}/acme-train"

    # A two-node cluster in the east: no leaf has two small nodes free, so it spans two leaves, and its
    # VLAN rides the uplink trunks of at least one leaf that B's east cluster uses.
    await world.create("a_admin", "acme-train", {"nodes": 2, "sites": [f.east]})
    found = (await world.settle(train))[train]
    assert found["state"] == "READY", found
    leaves = {f.leaf_of(n["name"]) for n in found["nodes"]}
    assert len(leaves) == 2, found
    assert found["vlan"] in b_vlans[f.west] - b_vlans[f.east], "A's east VLAN is one B has in the west only"
    done.append(f"created acme-train (VLAN {found['vlan']} on leaves {sorted(leaves)})")
    for add, remove, size in ((1, None, 3), (None, 1, 2)):
        await world.ok("a_admin", RESIZE, n="acme-train", add=add, rc=remove)
        found = (await world.settle(train))[train]
        assert found["state"] == "READY" and len(found["nodes"]) == size, found
    done.append("grew acme-train to 3 nodes and shrank it to 2")
    replaced = found["nodes"][0]["name"]
    await world.ok("a_admin", REPLACE, n="acme-train", node=replaced)
    found = (await world.settle(train))[train]
    assert found["state"] == "READY" and replaced not in {n["name"] for n in found["nodes"]}, found
    done.append(f"replaced {replaced} in acme-train")

    # A cluster named like B's, in A's own namespace, created and released.
    await world.create("a_admin", "bravo-east", {"nodes": 1, "sites": [f.east]})
    found = (await world.settle(f"{A_TENANT}/bravo-east"))[f"{A_TENANT}/bravo-east"]
    assert found["state"] == "READY", found
    await world.ok("a_admin", RELEASE, n="bravo-east")
    found = (await world.settle(f"{A_TENANT}/bravo-east"))[f"{A_TENANT}/bravo-east"]
    assert found["state"] == "RELEASED", found
    deleted = await world.ok("a_admin", 'mutation { deleteCluster(name: "bravo-east") { deleted } }')
    assert deleted["deleteCluster"]["deleted"] is True
    done.append("created, released and deleted its own cluster named bravo-east")
    await world.create("a_admin", "bravo-west", {"nodes": 1, "sites": [f.west]})
    found = (await world.settle(f"{A_TENANT}/bravo-west"))[f"{A_TENANT}/bravo-west"]
    assert found["state"] == "READY", found
    done.append("created its own cluster named bravo-west, which it keeps")

    # Tokens and descriptions, by A's admin and by a provider acting on A only.
    issued = await world.ok(
        "a_admin", 'mutation { createApiToken(role: TENANT_MEMBER, description: "acme ci") { apiToken { id } } }'
    )
    revoke = "mutation($id: ID!) { revokeApiToken(id: $id) { id } }"
    world.token_ids["a_ci"] = issued["createApiToken"]["apiToken"]["id"]
    await world.ok("a_admin", revoke, id=world.token_ids["a_ci"])
    issued = await world.ok(
        "admin",
        f'mutation {{ createApiToken(role: TENANT_ADMIN, tenant: "{A_TENANT}", description: "acme on call") '
        "{ apiToken { id } } }",
    )
    world.token_ids["a_on_call"] = issued["createApiToken"]["apiToken"]["id"]
    await world.ok("admin", revoke, id=world.token_ids["a_on_call"])
    describe = (
        'mutation($t: String, $d: String!) { updateCluster(name: "acme-train", tenant: $t, description: $d) { name } }'
    )
    await world.ok("a_admin", describe, d="acme secret project")
    await world.ok("admin", describe, t=A_TENANT, d="acme secret project, reviewed")
    done.append("made and revoked tokens, described acme-train (A's admin and a provider)")

    # A cluster that fails while its network is configured: the west leaves refuse changes.
    lab = default_lab()
    west_leaves = list(f.leaves()[f.west])
    for leaf in west_leaves:
        lab.switch(leaf).faults.reject_changes = True
    try:
        await world.create("a_admin", "acme-doomed", {"nodes": 1, "sites": [f.west]})
        found = (await world.settle(f"{A_TENANT}/acme-doomed"))[f"{A_TENANT}/acme-doomed"]
    finally:
        for leaf in west_leaves:
            lab.switch(leaf).faults.reject_changes = False
    assert found["state"] == "FAILED" and found["reason"], found
    done.append(f"acme-doomed failed: {found['reason']}")

    # A cluster whose switch does not answer: the east leaves (B's among them) are unreachable while A's
    # job runs; the cluster fails holding its VLAN, and the server releases it once they answer again.
    east_leaves = list(f.leaves()[f.east])
    for leaf in east_leaves:
        lab.switch(leaf).faults.unreachable = True
    try:
        await world.create("a_admin", "acme-cut", {"nodes": 1, "sites": [f.east]})
        found = (await world.settle(f"{A_TENANT}/acme-cut"))[f"{A_TENANT}/acme-cut"]
    finally:
        for leaf in east_leaves:
            lab.switch(leaf).faults.unreachable = False
    assert found["state"] == "FAILED", found
    await world.settle()  # the held VLANs released
    done.append(f"acme-cut failed and its held VLAN was released: {found['reason']}")

    # Refused: capacity, roles, B's objects, bad input.
    refusals: list[tuple[str | None, str, dict[str, Any], set[str]]] = [
        ("a_admin", CREATE, {"n": "acme-huge", "s": {"nodes": 40}}, {"INSUFFICIENT_CAPACITY"}),
        (
            "a_admin",
            CREATE,
            {"n": "acme-huge", "s": {"gpus": 8, "sites": [f.east], "gpusPerNode": 8}},
            {"INSUFFICIENT_CAPACITY"},
        ),
        ("a_member", CREATE, {"n": "acme-member", "s": {"nodes": 1}}, {"FORBIDDEN"}),
        ("a_member", RELEASE, {"n": "acme-train"}, {"FORBIDDEN"}),
        ("a_member", "{ auditLog { totalCount } }", {}, {"FORBIDDEN"}),
        ("a_admin", 'mutation { createTenant(name: "acme-shadow") { name } }', {}, {"FORBIDDEN"}),
        ("a_admin", 'mutation { createApiToken(role: PROVIDER_ADMIN, description: "x") { token } }', {}, {"FORBIDDEN"}),
        ("a_admin", "{ isolationReport { ok } }", {}, {"FORBIDDEN"}),
        ("a_admin", "{ linkDrift { __typename } }", {}, {"FORBIDDEN"}),
        ("a_admin", RELEASE, {"n": "bravo-west2"}, {"NOT_FOUND"}),  # B's; A has a bravo-west of its own
        ("a_admin", RESIZE, {"n": "bravo-west2", "add": 1}, {"NOT_FOUND"}),
        (
            "a_admin",
            f'mutation {{ releaseCluster(name: "bravo-west", tenant: "{B_TENANT}") {{ name }} }}',
            {},
            {"NOT_FOUND", "FORBIDDEN"},
        ),
        (
            "a_admin",
            f'mutation {{ updateCluster(name: "bravo-east", tenant: "{B_TENANT}", description: "x") {{ name }} }}',
            {},
            {"NOT_FOUND", "FORBIDDEN"},
        ),
        (
            "a_admin",
            f'mutation {{ deleteCluster(name: "bravo-west2", tenant: "{B_TENANT}") {{ deleted }} }}',
            {},
            {"NOT_FOUND", "FORBIDDEN"},
        ),
        (
            "a_admin",
            "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
            {"id": world.token_ids["b_admin"]},
            {"NOT_FOUND"},
        ),
        ("a_admin", CREATE, {"n": "Bad Name!", "s": {"nodes": 1}}, {"INVALID_INPUT"}),
        ("a_admin", CREATE, {"n": "nul\u0000name", "s": {"nodes": 1}}, {"INVALID_INPUT"}),
        ("a_admin", RESIZE, {"n": "acme-train", "add": 2147483647}, {"INVALID_INPUT", "INSUFFICIENT_CAPACITY"}),
        ("a_admin", "{ nodes(first: 100000) { totalCount } }", {}, {"PAGE_SIZE_LIMIT"}),
        ("a_admin", "{ nodes { ", {}, {"GRAPHQL_PARSE_FAILED", "INVALID_INPUT", "None"}),
        ("a_admin", "{ noSuchField }", {}, {"GRAPHQL_VALIDATION_FAILED", "INVALID_INPUT", "None"}),
        ("a_admin", "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(1001)) + " }", {}, {"ALIAS_LIMIT"}),
        (
            "a_admin",
            "{ nodes { edges { node { " + "cluster { nodes { " * 8 + "name" + " } }" * 8 + " } } } }",
            {},
            {"DEPTH_LIMIT"},
        ),
        ("a_admin", _costly(), {}, {"COST_LIMIT"}),
        (None, "{ viewer { role } }", {}, {"UNAUTHENTICATED"}),
    ]
    for who, query, variables, expected in refusals:
        codes = set(await world.codes(who, query, **variables))
        if not codes:  # accepted after all (its job refuses it later): still A's own business
            done.append(f"{query[:80]!r} {variables} was accepted")
        elif not codes <= expected:  # refused otherwise than meant: worth saying, not what this test is about
            done.append(f"{query[:80]!r} {variables} was refused with {sorted(codes)}, not {sorted(expected)}")
    for header in (f"Bearer mg_{world.token_ids['a_admin']}_{'x' * 43}", "Bearer garbage"):
        response = await world.shared.post(
            "/graphql", json={"query": "{ viewer { role } }"}, headers={"Authorization": header}
        )
        assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    oversized = {"query": "{ viewer { role } }", "variables": {"pad": "x" * 1_100_000}}
    response = await world.shared.post(
        "/graphql", json=oversized, headers={"Authorization": f"Bearer {world.secrets['a_admin']}"}
    )
    assert response.status_code == 413, response.status_code
    done.append(f"made {len(refusals) + 3} refused requests")

    # Refused for their rate (on the server with small limits): A's admin, and anonymous callers.
    limited = 0
    for who in ("a_admin", None):
        for _ in range(STRICT_LIMITS["rate_limit_burst"] + 5):
            response = await world.post(who, "{ viewer { role } }", strict=True)
            limited += error_codes(response.json()) == ["RATE_LIMITED"]
    assert limited >= 10
    # From the same address (one NAT for everyone), B is not limited for what A and the anonymous callers did.
    response = await world.post("b_member", "{ viewer { role } }", strict=True)
    assert error_codes(response.json()) == [], f"B is limited by A's requests: {response.json()}"
    done.append(f"was refused {limited} times for its rate")
    await world.settle()
    return done


def _costly() -> str:
    """Far above the walk's cost limit: page sizes multiply down the nesting."""
    deep = (
        "clusters(first: 1000) { edges { node { nodes { nics { port { switch { ports { nic { node "
        "{ gpus { uuid } } } } } } } } } } }"
    )
    return "{ " + " ".join(f"c{i}: {deep}" for i in range(100)) + " }"


# --- comparing -------------------------------------------------------------------------------------------

_ABSENT = "<absent>"


def differences(before: Any, after: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, before, after) of every leaf that differs; a list of another length differs as a whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        for k in sorted(set(before) | set(after), key=str):
            yield from differences(before.get(k, _ABSENT), after.get(k, _ABSENT), f"{path}.{k}" if path else str(k))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (x, y) in enumerate(zip(before, after, strict=True)):
            yield from differences(x, y, f"{path}[{i}]")
    elif before != after:
        yield path, before, after


def field_path(path: str) -> str:
    """`body.data.planCluster.domains[2].count` -> `planCluster.domains[].count` (what ALLOWED_CHANGES names)."""
    return re.sub(r"\[\d+\]", "[]", path.removeprefix("body.data."))


def allowed(path: str) -> bool:
    return any(fnmatchcase(field_path(path), pattern) for pattern in ALLOWED_CHANGES)


def a_words(world: World) -> set[str]:
    """What may not appear in an answer that changed (unless the question sent it): the marker of A's tenant
    and cluster names, A's token ids, and what B never sees of the pool: the small nodes A's clusters take
    and the leaf only A uses."""
    f = world.fabric
    pool = {n.lower() for n in f.nodes() if "-small-" in n} | {f"{f.prefix}e-leaf-3"}
    return {"acme", *(i for who, i in world.token_ids.items() if who.startswith("a_")), *pool}


def words_of_a(answer: Any, key: str, words: set[str]) -> list[str]:
    """A's words in `answer` that the question (`key`: document and variables) did not send itself."""
    text = json.dumps(answer).lower()
    sent_strings = {s for s in re.findall(r'"((?:[^"\\]|\\.)*)"', key.lower()) if len(s) >= 3}
    for sent in sorted(sent_strings, key=len, reverse=True):
        text = text.replace(sent, "")
    return sorted(w for w in words if w in text)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 300 else text[:300] + "..."


def report(before: dict[str, Any], after: dict[str, Any], words: set[str]) -> list[str]:
    """Every difference not allowed, grouped by the field that differs and how, each group with the paths it
    was found at and the first question that shows it; and every changed answer that names A."""
    groups: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    lines = []
    for key in sorted(set(before) | set(after)):
        changed = list(differences(before.get(key, _ABSENT), after.get(key, _ABSENT)))
        for path, x, y in changed:
            if not allowed(path):
                name = field_path(path).rsplit(".", 1)[-1]
                groups.setdefault((name, _short(x), _short(y)), []).append((field_path(path), key))
        named = words_of_a(after.get(key), key, words) if changed else []
        if named:
            lines.append(f"A's {named} in a changed answer: {_short(after.get(key))}\n    to {key[:300]}")
    for (name, x, y), found in sorted(groups.items()):
        paths = sorted({p for p, _ in found})
        lines.append(
            f"{name}: {x} -> {y} in {len(found)} answer(s), at {', '.join(paths[:4])}"
            + (f" and {len(paths) - 4} more" if len(paths) > 4 else "")
            + f"\n    e.g. {found[0][1][:300]}"
        )
    return lines


# --- B's audit entries ------------------------------------------------------------------------------------


def _relative(name: str) -> str | None:
    """How a value of an audit entry that cannot repeat is compared: a sequence number as its step from the
    entry before it in B's log, the time not at all (B's own); a digest is not compared but must be null, as
    the chain's hashes are derived from every tenant's entries."""
    if name == "seq" or name.endswith("Seq"):
        return "step"
    if name == "at" or name.endswith("At"):
        return "time"
    if name == "hash" or name.endswith("Hash"):
        return "link"
    return None


async def b_follow_up(world: World, entry_fields: str) -> dict[str, Any]:
    """B's admin rewrites its cluster's description as it is (an audited change that changes nothing) and
    reads its two newest audit entries. How the new entry follows the one before it must be the same whether
    or not A acted in between."""
    read = '{ cluster(name: "bravo-east") { description } }'
    description = (await world.ok("b_admin", read))["cluster"]["description"]
    update = 'mutation($d: String!) { updateCluster(name: "bravo-east", description: $d) { name } }'
    await world.ok("b_admin", update, d=description)
    data = await world.ok("b_admin", f"{{ auditLog(first: 2) {{ edges {{ node {entry_fields} }} }} }}")
    new, old = (e["node"] for e in data["auditLog"]["edges"])
    assert new["operation"] == "updateCluster", new
    follows: dict[str, Any] = {}
    for name, value in new.items():
        how = _relative(name)
        if how is None:
            follows[name] = value
        elif how == "step":
            follows[f"{name} step"] = value - old[name] if value is not None and old[name] is not None else value
        elif how == "link":
            shown = {f"{which}.{name}": e[name] for which, e in (("new", new), ("old", old)) if e[name] is not None}
            assert not shown, f"B's audit log shows B the chain's hashes: {shown}"
    return follows


# --- B's network on the switches ---------------------------------------------------------------------------


def b_network(world: World, b_vlans: dict[str, set[int]]) -> dict[str, Any]:
    """What the simulated switches do for B: every port that carries one of B's VLANs of its site, with its
    link, its mode and B's VLANs on it. A's jobs change trunks B's VLAN rides on; they must leave B's part."""
    lab = default_lab()
    carried: dict[str, Any] = {}
    for site, leaves in world.fabric.leaves().items():
        mine = b_vlans.get(site, set())
        for name in (*leaves, world.fabric.spine(site)):
            for port in lab.switch(name).ports.values():
                vlans = sorted(({port.access_vlan} | set(port.allowed_vlans)) & mine)
                if vlans:
                    link = (port.admin_up, port.oper_up, port.mode.value)
                    carried[f"{name}/{port.name}"] = {"link": link, "vlans": vlans}
    return carried


# --- the test ---------------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_nothing_tenant_a_does_changes_what_tenant_b_sees(store: GraphStore, tmp_path: Path) -> None:
    started = time.monotonic()
    async with open_world(store, tmp_path) as world:
        introspection = await world.ok("admin", get_introspection_query(descriptions=False))
        walker = Walker(build_client_schema(introspection))  # type: ignore[arg-type]
        clusters = await world.clusters()
        b_vlans: dict[str, set[int]] = {}
        for key, c in clusters.items():
            if key.startswith(f"{B_TENANT}/"):
                b_vlans.setdefault(c["site"], set()).add(c["vlan"])
        questions, reads = b_questions(walker, world, clusters)
        entry_fields = walker.selection(walker.schema.get_type("AuditEntry"))  # type: ignore[arg-type]

        network_before = b_network(world, b_vlans)
        before = await ask(world, questions)
        follows_before = await b_follow_up(world, entry_fields)  # follows B's questions
        before |= await read(world, reads)
        done = await a_acts(world, b_vlans)
        after = await read(world, reads)
        follows_after = await b_follow_up(world, entry_fields)  # follows the first follow-up, and A's acts
        after |= await ask(world, questions)
        network_after = b_network(world, b_vlans)
        elapsed = time.monotonic() - started

    problems = report(before, after, a_words(world))
    assert network_before, "B's VLANs are on the switches"
    problems += [
        f"B's VLANs on switch port {path}: {_short(x)} -> {_short(y)}"
        for path, x, y in differences(network_before, network_after)
    ]
    if follows_after != follows_before:
        problems.append(
            "B's next audit entry follows its previous one differently after A acted:\n"
            f"    before: {_short(follows_before)}\n    after:  {_short(follows_after)}"
        )
    assert len(before) == len(after) > 250, "the walk asks enough to mean something"
    assert not problems, (
        f"{len(problems)} field(s) of B's view changed when A acted ({len(questions) + len(reads)} questions, "
        f"{elapsed:.0f} s):\n" + "\n".join(problems) + "\nA: " + "; ".join(done)
    )
