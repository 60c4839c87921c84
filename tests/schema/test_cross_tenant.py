"""No tenant observes or changes another tenant's objects, by any route the schema offers.

The schema is read by introspection and walked: every root query field, with every nested object
field to a bounded depth, is asked by tenant B (member and admin) with arguments that name tenant A's
objects and B's own, over the world of `tenant_world` where every identifier of A is recognisable.
Every mutation is tried by B against A's objects. A field or mutation added to the schema is walked
without anyone touching this file.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLNamedType, get_named_type, is_required_argument

from metalgraph.server.store.base import GraphStore

sys.path.append(str(Path(__file__).parent))  # the helpers next to this file

from schema_walk import Call, Walker, _item_type
from tenant_world import (
    A_CLUSTERS,
    A_NODES,
    A_TENANT,
    A_VLANS,
    B_CLUSTER,
    B_CLUSTERS,
    B_FAR_CLUSTER,
    B_NODES,
    B_TENANT,
    B_VLAN,
    LEAVES,
    MARKER,
    SHARED_LEAF,
    SHARED_LEAF2,
    SITE2_PORTS,
    SPINE2,
    SPINES,
    Forbidden,
    World,
    a_macs,
    error_codes,
    find_leaks,
    introspected_schema,
    open_world,
)

B_CALLERS = ("b_member", "b_admin")
CONCURRENCY = 8
"""Requests of a walk in flight at once (queries only: their order does not matter)."""
TENANT_QUERY_CODES = frozenset({"NOT_FOUND", "FORBIDDEN", "INVALID_INPUT"})
"""What a tenant's query may be refused with; anything else (INTERNAL above all) is a bug."""
TENANT_MUTATION_CODES = frozenset({"NOT_FOUND", "FORBIDDEN", "INVALID_INPUT"})


@pytest.fixture
async def world(store: GraphStore, tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(store, tmp_path) as w:
        yield w


def _names_a(call: Call, world: World) -> bool:
    """Whether the call's arguments name something of A (and so has a ghost twin)."""
    return world.ghost(call.args) != _plain(call.args)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass
class Findings:
    problems: list[str]

    def add(self, caller: str, call: Call, what: str) -> None:
        self.problems.append(f"[{caller}] {call}: {what}\n    {call.document()[:300]}")

    def check(self) -> None:
        assert not self.problems, f"{len(self.problems)} problem(s):\n" + "\n".join(self.problems[:60])


async def _ask(world: World, caller: str, call: Call, findings: Findings, allowed: frozenset[str]) -> dict | None:
    """Sends `call` as `caller` and records every way the answer is wrong; returns the body when there is one."""
    query, variables = call.document(), call.args
    response = await world.post(caller, query, variables)
    if response.status_code != 200:
        findings.add(caller, call, f"HTTP {response.status_code}: {response.text[:300]}")
        return None
    if "Traceback" in response.text:
        findings.add(caller, call, "traceback in the answer")
    body = response.json()
    for leak in world.leaks(body, query, variables):
        findings.add(caller, call, f"LEAK {leak}")
    unexpected = [c for c in error_codes(body) if c not in allowed]
    if unexpected:
        findings.add(caller, call, f"unexpected error codes {unexpected}: {body.get('errors')}")
    return body


# --- the checker can fail -----------------------------------------------------------------------------


def test_the_leak_checker_finds_each_kind_of_leak_and_its_path() -> None:
    forbidden = Forbidden(frozenset({MARKER, "02:ac:00:00:00:00", "abcdefghijklmnop"}), frozenset(A_VLANS))
    leaking = {
        "data": {
            "node": {"name": "bravo-n1", "cluster": {"name": "ACME-train"}},
            "nics": [{"mac": "02:AC:00:00:00:00"}],
            "port": {"accessVlan": A_VLANS[0], "allowedVlans": [B_VLAN, A_VLANS[1]], "index": A_VLANS[0]},
            "entry": {"actor": "token:abcdefghijklmnop", "detail": "VLAN 3917 belongs to another cluster"},
        },
        "errors": [{"message": "node(s) not available: acme-n2", "extensions": {"code": "IN_USE"}}],
    }
    leaks = find_leaks(leaking, forbidden, echoes={"acme", "acme-n1"})
    assert [leak.split(":")[0] for leak in leaks] == [
        "data.node.cluster.name",
        "data.nics[0].mac",
        "data.port.accessVlan",
        "data.port.allowedVlans[1]",
        "data.entry.actor",
        "data.entry.detail",
        "errors[0].message",
    ]
    # What the caller sent itself may come back in an error, and in its own audit entries; nothing else.
    echoed = {
        "data": {"entry": {"variables": {"cluster": {"name": "acme-train", "vlan": 3917}}, "detail": "x 'acme-train'"}},
        "errors": [{"message": "cluster 'acme-train' not found", "extensions": {"name": "acme-train"}}],
    }
    assert find_leaks(echoed, forbidden, echoes={"acme-train"}, history={3917}) == []
    assert find_leaks({"data": {"name": "acme-train"}}, forbidden, echoes={"acme-train"}) != []
    assert find_leaks(echoed, forbidden) != []
    # A VLAN id is A's in one site only: forbidden on the ports of that site, B's own elsewhere.
    per_site = Forbidden(frozenset({MARKER}), frozenset(), {SITE2_PORTS[0]: frozenset({B_VLAN})})
    ports = {
        "data": {
            "a": {"name": SITE2_PORTS[0], "allowedVlans": [B_VLAN], "peer": {"name": "up1", "allowedVlans": [B_VLAN]}},
            "cluster": {"name": B_CLUSTER, "vlan": B_VLAN},
        }
    }
    assert find_leaks(ports, per_site) == [f"data.a.allowedVlans[0]: VLAN {B_VLAN}"]


async def test_the_world_gives_a_leak_to_find(world: World) -> None:
    """The admin's answers hold every kind of identifier the checker looks for: the checker has something to find."""
    data = await world.ok(
        "admin",
        '{ nodes(filter: {namePrefix: "acme"}) '
        "{ edges { node { name serial nics { mac port { name accessVlan } } } } } "
        'apiTokens(tenant: "acme-corp") { id } }',
    )
    leaks = world.leaks({"data": data})
    assert any(".mac" in leak for leak in leaks)
    assert any("accessVlan" in leak for leak in leaks)
    assert any("apiTokens" in leak and ".id" in leak for leak in leaks)
    assert {n["node"]["name"] for n in data["nodes"]["edges"]} == set(A_NODES)
    with pytest.raises(AssertionError, match=r"nodes\.edges\[0\]\.node\.name"):
        world.assert_no_leak({"data": data})


# --- the walk ------------------------------------------------------------------------------------------


async def test_no_query_field_shows_b_anything_of_a(world: World, request: pytest.FixtureRequest) -> None:
    """Every root query field, to DEPTH levels, with A's identifiers and B's own, as B's member and admin:
    nothing of A in the data or the errors, no HTTP 500, only the expected error codes. The provider asking
    the same questions does see A (so the questions reach A's objects)."""
    walker = Walker(await introspected_schema(world))
    a_calls = walker.calls("query", world.a_pools())
    calls = list({c.document() + repr(c.args): c for c in a_calls + walker.calls("query", world.b_pools())}.values())
    findings = Findings([])
    gate = asyncio.Semaphore(CONCURRENCY)

    async def ask(call: Call, caller: str) -> bool:
        async with gate:
            body = await _ask(world, caller, call, findings, TENANT_QUERY_CODES)
        return body is not None and bool(body.get("data"))

    answered = sum(await asyncio.gather(*(ask(call, caller) for call in calls for caller in B_CALLERS)))
    findings.check()
    fields = set(walker.schema.query_type.fields)  # type: ignore[union-attr]
    assert {c.field for c in calls} == fields, "every root query field is walked"
    assert answered > len(calls), "B got data for most questions"
    # The same questions reach A's objects when the provider asks them: a field about a type A has objects
    # of (a lookup, a connection) shows the provider something of A for at least one of its argument sets.
    pools = world.a_pools()
    about_a = {c.field for c in a_calls if _item_type(_field_type(walker, c.field)).name in pools.objects}
    admin_saw_a: set[str] = set()
    for call in a_calls:
        if call.field in about_a and call.field not in admin_saw_a:
            body = await world.call("admin", call.document(), call.args)
            if world.leaks({"data": body.get("data")}):
                admin_saw_a.add(call.field)
    assert about_a - admin_saw_a == set(), "the walk never reaches A's objects through these fields"
    assert len(about_a) >= 12


def _field_type(walker: Walker, name: str) -> GraphQLNamedType:
    root = walker.schema.query_type
    assert root is not None
    return get_named_type(root.fields[name].type)


async def test_b_sees_its_own_and_the_shared_switch_but_only_its_ports(world: World) -> None:
    """Positive visibility, so that the walk is not vacuous: B's member sees its nodes, its cluster, the
    shared leaf with B's ports and uplinks only, the spines, its path through them."""
    data = await world.ok(
        "b_member",
        """{
          nodes { totalCount edges { node { name cluster { name vlan tenant { name } } } } }
          switches { edges { node { name ports { name accessVlan nic { node { name } } } } } }
          clusters { edges { node { name vlan nodes { name } } } }
          tenants { edges { node { name contactEmail clusters { name } } } }
          racks { edges { node { name nodes { name } } } }
          links { totalCount }
          path(fromNode: "bravo-n1", toNode: "bravo-n2") { hopCount hops { name } }
          shared: neighborhood(name: "leaf-shared", depth: 4) { vertices { label key } }
          viewer { tenantName role }
        }""",
    )
    world.assert_no_leak({"data": data})
    assert [e["node"]["name"] for e in data["nodes"]["edges"]] == list(B_NODES)
    assert data["nodes"]["totalCount"] == len(B_NODES)
    assert {e["node"]["cluster"]["name"] for e in data["nodes"]["edges"]} == set(B_CLUSTERS)
    switches = {e["node"]["name"]: e["node"]["ports"] for e in data["switches"]["edges"]}
    assert set(switches) == {SHARED_LEAF, "leaf-b", *SPINES, SHARED_LEAF2, SPINE2}
    assert [p["name"] for p in switches[SHARED_LEAF]] == ["eth-bravo-1", "up1", "up2"]
    assert switches[SHARED_LEAF][0] == {
        "name": "eth-bravo-1",
        "accessVlan": B_VLAN,
        "nic": {"node": {"name": "bravo-n1"}},
    }
    assert [p["name"] for p in switches[SPINES[0]]] == ["swp1", "swp2"]  # not the one down to A's own leaf
    assert [(e["node"]["name"], e["node"]["vlan"]) for e in data["clusters"]["edges"]] == [
        (B_FAR_CLUSTER, B_CLUSTERS[B_FAR_CLUSTER][0]),
        (B_CLUSTER, B_VLAN),
    ]
    assert [e["node"]["name"] for e in data["tenants"]["edges"]] == [B_TENANT]
    assert data["tenants"]["edges"][0]["node"]["contactEmail"] is None  # members do not see personal data
    assert [e["node"]["name"] for e in data["racks"]["edges"]] == ["rack-bravo", "rack-bravo2"]
    assert data["links"]["totalCount"] == 5  # the uplinks of B's three leaves
    assert data["path"]["hopCount"] == 4
    assert [h["name"] for h in data["path"]["hops"]][0::4] == ["bravo-n1", "bravo-n2"]
    keys = {(v["label"], v["key"]) for v in data["shared"]["vertices"]}
    assert ("Node", "bravo-n1") in keys and ("Cluster", f"{B_TENANT}/{B_CLUSTER}") in keys
    assert data["viewer"] == {"tenantName": B_TENANT, "role": "TENANT_MEMBER"}
    admin = await world.ok("b_admin", "{ tenants { edges { node { contactEmail } } } apiTokens { tenant } }")
    assert admin["tenants"]["edges"][0]["node"]["contactEmail"] == "ops@bravo.example"
    assert {t["tenant"] for t in admin["apiTokens"]} == {B_TENANT}


async def test_not_yours_looks_exactly_like_does_not_exist(world: World) -> None:
    """For every query field and argument set naming A's objects: B's answer is the answer about a
    never-existing object of the same shape, identifier for identifier (data, error codes and messages)."""
    walker = Walker(await introspected_schema(world), depth=1)
    calls = [c for c in walker.calls("query", world.a_pools()) if _names_a(c, world)]
    differences = []
    for call in calls:
        ghost = Call(call.operation, call.field, world.ghost(call.args), call.arg_types, call.selection)
        for caller in B_CALLERS:
            mine = await world.call(caller, call.document(), call.args)
            theirs = await world.call(caller, ghost.document(), ghost.args)
            if world.ghost(mine) != theirs:
                differences.append(f"[{caller}] {call}:\n    A's: {mine}\n    none: {theirs}")
    assert not differences, "\n".join(differences)
    assert {c.field for c in calls} >= {"node", "cluster", "tenant", "port", "nic", "gpu", "path", "neighborhood"}


async def test_total_count_is_what_b_can_page_through(world: World, request: pytest.FixtureRequest) -> None:
    """Every connection's totalCount, for B, equals the items B gets by paging (with and without A's filters)."""
    walker = Walker(await introspected_schema(world), depth=0)
    root = walker.schema.query_type
    assert root is not None
    connections = [
        name
        for name, f in root.fields.items()
        if get_named_type(f.type).name.endswith("Connection") and {"first", "after"} <= set(f.args)
    ]
    assert len(connections) >= 8
    calls = [
        c
        for c in walker.calls("query", world.a_pools()) + walker.calls("query", world.b_pools())
        if c.field in connections and "after" not in c.args and "first" not in c.args
    ]
    mismatches = []
    for call in calls:
        decl = ", ".join(["$first: Int", "$after: String", *(f"${a}: {call.arg_types[a]}" for a in call.args)])
        use = ", ".join(["first: $first", "after: $after", *(f"{a}: ${a}" for a in call.args)])
        query = (
            f"query({decl}) {{ {call.field}({use}) {{ totalCount pageInfo {{ hasNextPage endCursor }} "
            "edges { cursor } } }"
        )
        for caller in B_CALLERS:
            cursors: list[str] = []
            after = None
            total = None
            for _ in range(100):
                body = await world.call(caller, query, {**call.args, "first": 2, "after": after})
                if "errors" in body:
                    assert error_codes(body) == ["FORBIDDEN"], body
                    break
                page = body["data"][call.field]
                total = page["totalCount"] if total is None else total
                cursors += [e["cursor"] for e in page["edges"]]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            if total is not None and (total != len(cursors) or len(set(cursors)) != len(cursors)):
                mismatches.append(f"[{caller}] {call}: totalCount {total}, paged {len(cursors)}")
    assert not mismatches, "\n".join(mismatches)


# --- mutations -----------------------------------------------------------------------------------------

SNAPSHOT_SKIP = frozenset({"auditLog", "viewer", "isolationReport"})
"""Root fields that change by design when B acts (the audit log), depend on the caller, or report how
long they took (the isolation report, which reads devices rather than the graph's state anyway)."""


async def _snapshot(world: World, walker: Walker) -> dict[str, Any]:
    """Everything the provider can list (every root query field without required arguments), to depth 2."""
    root = walker.schema.query_type
    assert root is not None
    out = {}
    for name, f in root.fields.items():
        if name in SNAPSHOT_SKIP or any(is_required_argument(a) for a in f.args.values()):
            continue
        args = "(first: 1000)" if "first" in f.args else ""
        out[name] = await world.ok("admin", f"{{ {name}{args} {walker.selection(get_named_type(f.type))} }}")
    return out


async def test_every_mutation_by_b_on_a_fails_like_a_missing_object_and_is_audited(world: World) -> None:
    """Every mutation of the schema, by B's admin and member, with arguments naming A's objects (and every
    value of its enum arguments): refused with NOT_FOUND, FORBIDDEN or INVALID_INPUT, exactly as the same
    mutation naming a never-existing object; nothing of A in the answer; nothing changed; one audit entry
    per attempt, B's, never A's."""
    schema = await introspected_schema(world)
    walker = Walker(schema, depth=1)
    state = Walker(schema, depth=2)
    calls = walker.calls("mutation", world.a_pools())
    assert {c.field for c in calls} == set(schema.mutation_type.fields), "every mutation is tried"  # type: ignore[union-attr]
    before = await _snapshot(world, state)
    audit_before, a_audit_before = await world.audit_count(), await world.audit_count(A_TENANT)
    findings = Findings([])
    attempts = 0
    for call in calls:
        for caller in B_CALLERS:
            body = await _ask(world, caller, call, findings, TENANT_MUTATION_CODES)
            attempts += 1
            if body is not None and (not body.get("errors") or (body.get("data") or {}).get(call.field) is not None):
                findings.add(caller, call, f"B's mutation on A's object was not refused: {body}")
            if body is not None and _names_a(call, world):
                ghost = Call(call.operation, call.field, world.ghost(call.args), call.arg_types, call.selection)
                twin = await world.call(caller, ghost.document(), ghost.args)
                attempts += 1
                if world.ghost(body) != twin:
                    findings.add(
                        caller, call, f"differs from a missing object's answer:\n    A's: {body}\n    none: {twin}"
                    )
    findings.check()
    assert await _snapshot(world, state) == before, "B's attempts changed the world"
    added = await world.audit_count() - audit_before
    assert added == attempts, f"{attempts} attempts, {added} audit entries"
    entries = await world.newest_audit_entries(attempts)
    assert {e["tenant"] for e in entries} == {B_TENANT}
    assert {e["actor"] for e in entries} == {f"token:{i}" for i in world.b_token_ids}
    assert {e["outcome"] for e in entries} <= {"DENIED", "NOT_FOUND", "INVALID"}
    assert await world.audit_count(A_TENANT) == a_audit_before, "B's attempts landed in A's audit log"


# --- the audit log -------------------------------------------------------------------------------------


async def test_b_reads_its_own_audit_entries_only(world: World, request: pytest.FixtureRequest) -> None:
    entries_query = (
        "query($f: AuditFilter, $after: String) { auditLog(first: 500, filter: $f, after: $after) { totalCount "
        "edges { node { seq actor role tenant operation variables outcome detail prevHash hash } } } }"
    )
    # B tries something against A first, so that B's log has an entry that names A (B's own words).
    refused = await world.call("b_admin", 'mutation { updateCluster(name: "acme-train", description: "x") { name } }')
    assert error_codes(refused) == ["NOT_FOUND"]
    mine = await world.call("b_admin", entries_query)
    world.assert_no_leak(mine, entries_query)
    b_entries = [e["node"] for e in mine["data"]["auditLog"]["edges"]]
    assert b_entries and {e["tenant"] for e in b_entries} == {B_TENANT}
    assert mine["data"]["auditLog"]["totalCount"] == len(b_entries)
    assert any(e["operation"] == "updateCluster" and e["outcome"] == "NOT_FOUND" for e in b_entries)
    a_entries = (await world.ok("a_admin", entries_query))["auditLog"]["edges"]
    assert a_entries and {e["node"]["tenant"] for e in a_entries} == {A_TENANT}
    # Each tenant reads its own sequence and no chain hash: nothing derived from the other's entries.
    for entries in (b_entries, [e["node"] for e in a_entries]):
        assert [e["seq"] for e in entries] == list(range(len(entries), 0, -1))
        assert {e["hash"] for e in entries} == {e["prevHash"] for e in entries} == {None}
    for f in (
        {"tenant": A_TENANT},
        {"actor": f"token:{sorted(world.a_token_ids)[0]}"},
        {"operation": "revokeApiToken"},
    ):
        body = await world.call("b_admin", entries_query, {"f": f})
        world.assert_no_leak(body, entries_query, {"f": f})
        assert body["data"]["auditLog"]["totalCount"] == len(body["data"]["auditLog"]["edges"])
        assert {e["node"]["tenant"] for e in body["data"]["auditLog"]["edges"]} <= {B_TENANT}
    refused = await world.call("b_member", entries_query)
    assert error_codes(refused) == ["FORBIDDEN"] and refused["data"] is None


async def test_tenants_cannot_introspect_the_schema(world: World) -> None:
    for caller in (*B_CALLERS, "a_admin"):
        for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Node") { name } }'):
            body = await world.call(caller, query)
            assert error_codes(body) == ["INTROSPECTION_DISABLED"], body
            assert body.get("data") is None


# --- dedicated routes ----------------------------------------------------------------------------------


async def test_traversal_from_the_shared_switch_never_reaches_a(world: World) -> None:
    """From the leaf both tenants use, down every port to NICs, nodes, their clusters and tenants, and back
    up through the spines: B finds only its own."""
    query = """{ switch(name: "leaf-shared") { ports { name accessVlan allowedVlans nic { name mac node {
        name serial cluster { name vlan tenant { name } } gpus { uuid } } } peer { name switch { name ports {
        name nic { name node { name } } peer { switch { name } } } } } } } }"""
    for caller in B_CALLERS:
        body = await world.call(caller, query)
        world.assert_no_leak(body, query)
        ports = body["data"]["switch"]["ports"]
        assert [p["name"] for p in ports] == ["eth-bravo-1", "up1", "up2"]
        downs = {q["name"] for p in ports if p["peer"] for q in p["peer"]["switch"]["ports"]}
        assert downs == {"swp1", "swp2"}


async def test_neighborhoods_and_paths_toward_a_are_dead_ends(world: World) -> None:
    for name in (SHARED_LEAF, *SPINES, "site-1", "bravo-n1", "rack-bravo"):
        query = (
            f'{{ neighborhood(name: "{name}", depth: 4, limit: 5000) '
            "{ vertices { label key name } edges { type source target } truncated } }"
        )
        for caller in B_CALLERS:
            body = await world.call(caller, query)
            world.assert_no_leak(body, query)
            assert body["data"]["neighborhood"]["truncated"] is False
    for a_node in A_NODES:
        for ends in ((a_node, B_NODES[0]), (B_NODES[1], a_node)):
            query = f'{{ path(fromNode: "{ends[0]}", toNode: "{ends[1]}") {{ hops {{ name }} }} }}'
            body = await world.call("b_member", query)
            world.assert_no_leak(body, query)
            assert error_codes(body) == ["NOT_FOUND"]


async def test_a_s_cluster_names_are_not_taken_for_b(world: World) -> None:
    """Cluster names are per tenant: A's names exist for B neither as a clash nor as a lookup."""
    for name in A_CLUSTERS:
        for query in (
            f'{{ cluster(name: "{name}") {{ name }} }}',
            f'{{ cluster(name: "{name}", tenant: "{A_TENANT}") {{ name }} }}',
            f'{{ clusters(tenant: "{A_TENANT}") {{ totalCount }} }}',
        ):
            body = await world.call("b_admin", query)
            world.assert_no_leak(body, query)
            assert "errors" not in body and body["data"] in ({"cluster": None}, {"clusters": {"totalCount": 0}})


@pytest.mark.parametrize("trunks", [True, False], ids=["l2-trunk-uplinks", "l3-routed-uplinks"])
async def test_shared_uplinks_show_b_its_own_vlans_only(store: GraphStore, tmp_path: Path, trunks: bool) -> None:
    """On a layer-2 fabric the shared leaf's uplinks (which B sees) are trunks that also carry A's VLAN.
    A tenant never sees another tenant's VLAN ids: B's view of those ports lists B's VLAN only."""
    async with open_world(store, tmp_path, trunk_uplinks=trunks) as w:
        query = (
            "{ switches { edges { node { name ports { name mode accessVlan allowedVlans } } } } "
            "links { edges { node { a { name allowedVlans } b { name allowedVlans } } } } "
            'port(switch: "leaf-shared", name: "up1") { allowedVlans peer { allowedVlans } } }'
        )
        admin = await w.ok("admin", query)
        on_trunks = [leak for leak in w.leaks({"data": admin}) if "allowedVlans" in leak]
        assert bool(on_trunks) == trunks, "the provider sees A's VLAN on the trunks (and only there)"
        for caller in B_CALLERS:
            body = await w.call(caller, query)
            w.assert_no_leak(body, query)
            expected = [B_VLAN] if trunks else []
            assert body["data"]["port"] == {"allowedVlans": expected, "peer": {"allowedVlans": expected}}


async def test_a_vlan_is_owned_per_site_on_shared_trunks(world: World) -> None:
    """B holds 2001 in site 1 and 3917 in site 2; A the other way round. On the trunks of each site B reads
    its own VLAN of that site only, never A's VLAN there, though B holds the same id in the other site."""
    query = """query($s: String!, $p: String!) { port(switch: $s, name: $p) { allowedVlans peer { allowedVlans } }
        switch(name: $s) { ports { name accessVlan allowedVlans } } }"""
    site1 = {"s": SHARED_LEAF, "p": "up1"}
    site2 = {"s": SHARED_LEAF2, "p": SITE2_PORTS[0]}
    b_far_vlan = B_CLUSTERS[B_FAR_CLUSTER][0]
    for where in (site1, site2):
        admin = await world.ok("admin", query, where)
        assert sorted(admin["port"]["allowedVlans"]) == sorted({B_VLAN, b_far_vlan}), "trunks carry both tenants'"
    for caller in B_CALLERS:
        for where, own in ((site1, B_VLAN), (site2, b_far_vlan)):
            body = await world.call(caller, query, where)
            world.assert_no_leak(body, query, where)
            assert body["data"]["port"] == {"allowedVlans": [own], "peer": {"allowedVlans": [own]}}, where
            ports = body["data"]["switch"]["ports"]
            assert {p["accessVlan"] for p in ports} <= {own, None}
            assert {v for p in ports for v in p["allowedVlans"]} == {own}


async def _wait_for_entry(world: World, caller: str, operation: str) -> dict[str, Any]:
    query = "{ auditLog(first: 100) { edges { node { seq operation variables detail } } } }"
    for _ in range(600):
        edges = (await world.ok(caller, query))["auditLog"]["edges"]
        found = [e["node"] for e in edges if e["node"]["operation"] == operation]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {operation} entry in the audit log of {caller}")


async def test_b_s_audit_entries_read_like_its_events_naming_no_infrastructure(world: World) -> None:
    """B's own reservation: the lifecycle's audit entry names the leaf domain and spine pod it used, for the
    provider; B reads the entry as it reads the cluster's events, no leaf, pod or switch named."""
    await world.ok("admin", 'mutation { setNodeStatus(name: "free-n1", health: OK) { name } }')
    created = await world.call("b_admin", 'mutation { createCluster(name: "bravo-new", spec: {nodes: 1}) { name } }')
    assert "errors" not in created, created
    mine = await _wait_for_entry(world, "b_admin", "reserveNodes")
    provider = await _wait_for_entry(world, "admin", "reserveNodes")
    assert "pod-1" in provider["detail"] and any(leaf in provider["detail"] for leaf in LEAVES), provider
    infrastructure = ("pod-1", "pod-2", *LEAVES, *SPINES, SHARED_LEAF2, SPINE2, "sim://")
    assert not [name for name in infrastructure if name in mine["detail"] + str(mine["variables"])], mine
    assert "a leaf domain" in mine["detail"] and "a spine pod" in mine["detail"]
    events = await world.ok("b_member", '{ cluster(name: "bravo-new") { events { kind message } } }')
    reserved = [e["message"] for e in events["cluster"]["events"] if e["kind"] == "reserved"]
    assert reserved == [mine["detail"]], "one rule for the events and the audit log"


async def test_b_reads_a_shared_switch_s_name_and_role_only(world: World) -> None:
    """Of a switch it shares with A, B reads what it needs to debug (name, role, its ports), not how the
    provider manages the switch (management address, driver, model) nor the layout (its spine pod), not
    even through a filter; the provider reads them all."""
    query = """{ switch(name: "leaf-shared") { name role model mgmtAddress driver pod }
        switches { totalCount edges { node { name model mgmtAddress driver pod } } }
        pod: switches(filter: {pod: "pod-1"}) { totalCount } }"""
    admin = await world.ok("admin", query)
    assert admin["switch"] == {
        "name": SHARED_LEAF,
        "role": "LEAF",
        "model": "SN5600",
        "mgmtAddress": f"sim://{SHARED_LEAF}",
        "driver": "sim",
        "pod": "pod-1",
    }
    assert admin["pod"]["totalCount"] > 0
    hidden = {"model": None, "mgmtAddress": None, "driver": None, "pod": None}
    for caller in B_CALLERS:
        body = await world.ok(caller, query)
        assert body["switch"] == {"name": SHARED_LEAF, "role": "LEAF", **hidden}
        assert body["switches"]["totalCount"] == 6
        assert all({k: n["node"][k] for k in hidden} == hidden for n in body["switches"]["edges"])
        assert body["pod"]["totalCount"] == 0


async def test_a_provider_batch_naming_both_tenants_does_not_reach_b_s_audit_log(world: World) -> None:
    """A provider changing both tenants in one document: the entry must not show A's names to B's admin."""
    await world.ok(
        "admin",
        f'mutation {{ b: updateCluster(tenant: "{B_TENANT}", name: "{B_CLUSTER}", description: "nightly") {{ name }} '
        f'a: updateCluster(tenant: "{A_TENANT}", name: "acme-eval", description: "nightly") {{ name }} }}',
    )
    query = "{ auditLog(first: 500) { edges { node { tenant operation variables detail } } } }"
    body = await world.call("b_admin", query)
    world.assert_no_leak(body, query)


async def test_a_provider_error_about_a_s_node_does_not_reach_b_s_audit_log(world: World) -> None:
    """A provider names A's node in a change to B's cluster: B's admin must not learn from its log that the
    node exists."""
    for mutation in (
        f'resizeCluster(tenant: "{B_TENANT}", name: "{B_CLUSTER}", remove: ["{A_NODES[0]}"])',
        f'replaceNode(tenant: "{B_TENANT}", name: "{B_CLUSTER}", node: "{A_NODES[0]}")',
    ):
        refused = await world.call("admin", f"mutation {{ {mutation} {{ name }} }}")
        assert error_codes(refused) == ["NOT_FOUND"], refused
    query = "{ auditLog(first: 500) { edges { node { tenant operation variables detail } } } }"
    body = await world.call("b_admin", query)
    world.assert_no_leak(body, query)


def test_a_s_macs_are_hex_only() -> None:
    assert all(set(mac) <= set("0123456789abcdef:") for mac in a_macs())
    assert len(a_macs()) == 2 * len(A_NODES)


async def test_a_s_token_id_with_a_wrong_secret_is_just_an_unknown_token(world: World) -> None:
    """Presenting A's token id (live or revoked) with a made-up secret reads exactly like a token id that
    never existed: the refusal does not confirm that A's token exists."""
    query = "{ viewer { subject } }"
    answers = []
    for token_id in (*sorted(world.a_token_ids), "q" * 16):
        response = await world.client.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer mg_{token_id}_{'x' * 43}"}
        )
        assert response.status_code == 200
        answers.append(response.json())
        world.assert_no_leak(response.json(), query)
    assert all(a == answers[-1] for a in answers), answers
    assert error_codes(answers[-1]) == ["UNAUTHENTICATED"]


async def test_a_caller_without_credentials_cannot_write_into_b_s_audit_log(world: World) -> None:
    query = '{ clusters(tenant: "bravo-co") { totalCount } x: tenant(name: "acme-was-here") { name } }'
    b_before, all_before = await world.audit_count(B_TENANT), await world.audit_count()
    for headers in ({}, {"Authorization": "Bearer garbage"}, {"Authorization": f"Bearer mg_{'q' * 16}_{'x' * 43}"}):
        response = await world.client.post("/graphql", json={"query": query}, headers=headers)
        assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    # Anonymous refusals are audited per caller and window: the first now, the others as one count when
    # the window closes (tests/schema/test_audit_api.py checks the counts).
    assert await world.audit_count() == all_before + 1, "refused requests are audited"
    assert await world.audit_count(B_TENANT) == b_before, "but not in B's log, which they could flood"
