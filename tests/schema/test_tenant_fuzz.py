"""Random documents over the schema, sent with tenant B's tokens, never show B anything of tenant A and
never crash the server.

hypothesis-graphql builds the documents (valid ones, and ones with one schema violation) from the
introspected schema; its scalar strategies are replaced so that strings are A's identifiers, B's own and
shared names (and near misses of them), integers A's VLANs and small numbers. A string argument is then
often re-drawn from the identifiers its name asks for (a `node`'s `name` from node names, a `switch`
from switch names, an `after` from cursors), so that lookups hit real objects, where a leak would be.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    ArgumentNode,
    FieldNode,
    GraphQLSchema,
    ObjectFieldNode,
    StringValueNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from metalgraph.server.store.base import GraphStore

sys.path.insert(0, str(Path(__file__).parent))  # the helper next to this file

from tenant_world import (
    A_CLUSTERS,
    A_NIC,
    A_NODES,
    A_PORTS,
    A_TENANT,
    A_VLANS,
    B_CLUSTER,
    B_NODES,
    B_PORTS,
    B_TENANT,
    B_VLAN,
    FREE_NODES,
    LEAVES,
    SITE,
    SPINES,
    Cursor,
    World,
    a_macs,
    error_codes,
    introspected_schema,
    open_world,
)

B_CALLERS = ("b_member", "b_admin")
SERVER_FAULTS = frozenset({"INTERNAL", "UNAVAILABLE", "TIMEOUT"})
"""Codes that mean the server failed, whatever the document."""


def _strings(world: World) -> st.SearchStrategy[str]:
    """A's identifiers (the leak would be there), B's and shared names, near misses, and a little noise."""
    a = [
        A_TENANT,
        *A_CLUSTERS,
        *A_NODES,
        *(f"GPU-{n}-{g}" for n in A_NODES for g in (0, 1)),
        *(f"{n}/{A_NIC}" for n in A_NODES),
        A_NIC,
        *(p for _s, p in A_PORTS.values()),
        *(f"{s}/{p}" for s, p in A_PORTS.values()),
        "rack-acme",
        "acme",
        "Acme Corp",
        *sorted(a_macs()),
        *sorted(world.a_token_ids),
        *(f"token:{i}" for i in sorted(world.a_token_ids)),
    ]
    b = [B_TENANT, B_CLUSTER, *B_NODES, "rack-bravo", f"{B_NODES[0]}/ib0", f"GPU-{B_NODES[0]}-0", "eth-bravo-1"]
    shared = [SITE, *LEAVES, *SPINES, "up1", "swp1", "leaf-shared/up1", "Node", "Switch", "Port", "H100", ""]
    known = a + b + shared
    noise = st.text(st.characters(codec="utf-8", min_codepoint=1, exclude_categories=["Cs"]), max_size=12)
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(lambda s: s[:-1]),
        st.sampled_from(known).map(lambda s: s.upper()),
        noise,
    )


def _argument_pools(world: World) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Identifiers by argument (or input field) name, and for `name` arguments by what the field is about."""
    nodes_ = [*A_NODES, *B_NODES, *FREE_NODES]
    switches = [*LEAVES, *SPINES]
    ports = [p for _s, p in (*A_PORTS.values(), *B_PORTS.values())] + ["up1", "swp1", "swp3"]
    port_keys = [f"{s}/{p}" for s, p in (*A_PORTS.values(), *B_PORTS.values())] + ["leaf-shared/up1", "spine-1/swp3"]
    nics = [A_NIC, "ib0", f"{A_NIC}-fe", "ib0-fe"]
    gpus = [f"GPU-{n}-{g}" for n in nodes_ for g in (0, 1)]
    racks = ["rack-acme", "rack-bravo", "rack-free", "rack-net"]
    tenants, clusters = [A_TENANT, B_TENANT], [*A_CLUSTERS, B_CLUSTER]
    tokens = sorted(world.a_token_ids)
    vertex_keys = [*nodes_, *switches, *racks, SITE, *gpus, *port_keys, *(f"{n}/{A_NIC}" for n in A_NODES)]
    by_argument = {
        "tenant": tenants,
        "cluster": clusters,
        "node": nodes_,
        "nodes": nodes_,
        "fromNode": nodes_,
        "toNode": nodes_,
        "uuid": gpus,
        "switch": switches,
        "port": ports,
        "rack": racks,
        "site": [SITE],
        "id": tokens,
        "actor": [f"token:{i}" for i in tokens] + ["admin"],
        "operation": ["updateCluster", "createApiToken", "revokeApiToken", "createCluster", "releaseCluster"],
        "namePrefix": ["acme", "ACME", "bravo", "free", "leaf", "spine", "a", "b", "e"],
        "after": [Cursor(k).encode() for k in ("acme-n1", "a", "bravo-co", "leaf-shared/eth-acme-1", "000000000001")],
        "label": ["Node", "Switch", "Port", "NIC", "GPU", "Rack", "Site", "Tenant", "Cluster"],
        "gpuModel": ["H100"],
    }
    names_by_field = {  # what a `name` argument names, by a word of its field's name
        "neighborhood": vertex_keys,
        "cluster": clusters,
        "tenant": tenants,
        "node": nodes_,
        "switch": switches,
        "port": ports,
        "nic": nics,
        "rack": racks,
        "site": [SITE],
    }
    return by_argument, names_by_field


def _biased(document: str, draw: Callable[[st.SearchStrategy[Any]], Any], world: World) -> str:
    """`document` with string arguments often replaced by identifiers of what their name asks for."""
    by_argument, names_by_field = _argument_pools(world)

    class Bias(Visitor):
        def enter_string_value(
            self, node: StringValueNode, _key: object, parent: object, _path: object, ancestors: list
        ) -> object:
            chain = [*ancestors, parent]  # the argument holding the string is its parent (or above, in a list)
            named = [a for a in chain if isinstance(a, ArgumentNode | ObjectFieldNode)]
            fields = [a for a in chain if isinstance(a, FieldNode)]
            if not named:
                return None
            name = named[-1].name.value
            pool = by_argument.get(name)
            if name == "name" and fields:
                field = fields[-1].name.value.lower()
                pool = next((p for word, p in names_by_field.items() if word in field), None)
            if not pool or draw(st.integers(0, 3)) == 3:  # mostly re-drawn; shrinks toward re-drawn
                return None
            return StringValueNode(value=draw(st.sampled_from(pool)))

    try:
        return print_ast(visit(parse(document), Bias()))
    except Exception:  # a document hypothesis-graphql made invalid on purpose may not parse back: send as is
        return document


def _documents(world: World, schema: GraphQLSchema) -> st.SearchStrategy[str]:
    strings = _strings(world)
    ints = st.one_of(
        st.sampled_from([0, 1, 2, 3, 4, 5, 10, 100, -1, *A_VLANS, B_VLAN]), st.integers(-(2**31), 2**31 - 1)
    )
    times = st.sampled_from(["2026-01-01T00:00:00Z", "2020-01-01T00:00:00+02:00", "2030-01-01T00:00:00"])
    custom = {
        "String": strings.map(nodes.String),
        "ID": strings.map(nodes.String),
        "Int": ints.map(nodes.Int),
        "DateTime": times.map(nodes.String),
    }
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None

    def documents(field: str) -> st.SearchStrategy[str]:
        """Documents about one root field (one refused field does not hide what the others answer): valid
        ones mostly, and ones with a schema violation when the field has arguments to violate."""
        valid = from_schema(schema, fields=[field], custom_scalars=custom, allow_x00=False)
        root = query if field in query.fields else mutation
        if not root.fields[field].args:
            return valid
        invalid = from_schema(schema, fields=[field], custom_scalars=custom, allow_x00=False, mode=Mode.NEGATIVE)
        return st.integers(0, 5).flatmap(lambda i: invalid if i == 0 else valid)

    # Mostly queries: a tenant's mutations are mostly refused by role before they read anything.
    fields = st.integers(0, 3).flatmap(lambda i: st.sampled_from(sorted(mutation.fields if i == 0 else query.fields)))
    return fields.flatmap(documents)


@pytest.fixture
async def fuzzed(store: GraphStore, tmp_path: Path) -> AsyncIterator[tuple[World, st.SearchStrategy[str]]]:
    async with open_world(store, tmp_path) as world:
        yield world, _documents(world, await introspected_schema(world))


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
@given(data=st.data())
async def test_random_documents_from_b_show_nothing_of_a(
    fuzzed: tuple[World, st.SearchStrategy[str]], data: st.DataObject
) -> None:
    world, documents = fuzzed
    document = _biased(data.draw(documents, label="document"), data.draw, world)
    note(document)
    caller = data.draw(st.sampled_from(B_CALLERS), label="caller")
    response = await world.post(caller, document)
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    body = response.json()
    event(f"HTTP {response.status_code}, errors {sorted(set(error_codes(body)))}, data: {bool(body.get('data'))}")
    faults = [c for c in error_codes(body) if c in SERVER_FAULTS]
    assert not faults, body
    world.assert_no_leak(body, document)


NUL_QUERIES = (
    '{ nodes(filter: {namePrefix: "acme\\u0000"}) { totalCount } }',
    '{ switches(filter: {namePrefix: "\\u0000"}) { totalCount } }',
    '{ clusters(tenant: "acme-corp\\u0000") { totalCount } }',
    '{ auditLog(filter: {actor: "\\u0000"}) { totalCount } }',
)


async def test_a_nul_character_in_an_argument_is_input_not_a_crash(
    store: GraphStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """U+0000 is a legal GraphQL string character; a tenant sending one gets an ordinary answer."""
    async with open_world(store, tmp_path) as world:
        for query in NUL_QUERIES:
            for caller in B_CALLERS:
                body = await world.call(caller, query)
                world.assert_no_leak(body, query)
                assert not set(error_codes(body)) & SERVER_FAULTS, (query, body)
