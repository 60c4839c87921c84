"""Random documents over the schema, sent with tenant B's tokens, never show B anything of tenant A and
never crash the server.

hypothesis-graphql builds the documents (valid ones, and ones with one schema violation) from the
introspected schema; its scalar strategies are replaced so that string and ID arguments are mostly A's
identifiers, B's own and shared names (and their near misses), and integers are mostly A's VLANs and
small numbers, where a leak would be.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
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
    B_TENANT,
    B_VLAN,
    LEAVES,
    SITE,
    SPINES,
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
    noise = st.text(st.characters(codec="utf-8", min_codepoint=1, exclude_categories=("Cs",)), max_size=12)
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(lambda s: s[:-1]),
        st.sampled_from(known).map(lambda s: s.upper()),
        noise,
    )


def _documents(world: World, schema: object) -> st.SearchStrategy[str]:
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
    query, mutation = schema.query_type, schema.mutation_type  # type: ignore[attr-defined]

    def documents(field: str) -> st.SearchStrategy[str]:
        """Documents about one root field (one refused field does not hide what the others answer): valid
        ones mostly, and ones with a schema violation when the field has arguments to violate."""
        valid = from_schema(schema, fields=[field], custom_scalars=custom, allow_x00=False)  # type: ignore[arg-type]
        root = query if field in query.fields else mutation
        if not root.fields[field].args:
            return valid
        invalid = from_schema(schema, fields=[field], custom_scalars=custom, allow_x00=False, mode=Mode.NEGATIVE)  # type: ignore[arg-type]
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
    document = data.draw(documents, label="document")
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
    if store.kind == "embedded":
        request.node.add_marker(
            pytest.mark.xfail(
                strict=True,
                reason="server bug: on the embedded store a string parameter holding U+0000 fails the whole "
                "query with INTERNAL (server/store/falkordb_params.py falls back to falkordb's encoder, whose "
                "CYPHER header FalkorDB cuts at the NUL)",
            )
        )
    async with open_world(store, tmp_path) as world:
        for query in NUL_QUERIES:
            for caller in B_CALLERS:
                body = await world.call(caller, query)
                world.assert_no_leak(body, query)
                assert not set(error_codes(body)) & SERVER_FAULTS, (query, body)
