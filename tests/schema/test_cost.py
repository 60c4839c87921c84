"""The estimated query cost over the real schema (from the bounds its lists declare), its refusal before
execution, and the limit that stops an operation while it runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import strawberry
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_introspection_query,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    parse,
)
from graphql import build_schema as build_sdl_schema
from strawberry.asgi import GraphQL

from conftest import make_settings
from metalgraph.schema import cost as cost_module
from metalgraph.schema.cost import CostLimiter, bounded_labels, declared_bound, estimate_cost
from metalgraph.schema.errors import ErrorCodes
from metalgraph.schema.execution_limit import field_limited
from metalgraph.schema.schema import MetalgraphSchema, Mutation, Query, build_schema
from metalgraph.server.app import create_app
from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.inventory.model import MAX_GPUS_PER_NODE, MAX_NICS_PER_NODE, MAX_PORTS_PER_SWITCH
from metalgraph.server.settings import Settings
from metalgraph.server.store.base import GraphStore
from metalgraph.server.topology.counts import visible_counts
from metalgraph.server.topology.scope import EVERYTHING


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def cost(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> int:
    return estimate_cost(schema, parse(query), variables, kwargs.pop("operation_name", None), **kwargs)


# A page of 10 nodes, each: node, name, and gpus (1 + at most 16 GPUs x uuid).
NODE_ITEM = 1 + 1 + (1 + MAX_GPUS_PER_NODE * 1)


def test_a_page_multiplies_the_cost_of_its_items(schema: GraphQLSchema) -> None:
    query = "{ nodes(first: 10) { edges { node { name gpus { uuid } } } } }"
    assert cost(schema, query) == 1 + 1 + 10 * NODE_ITEM == 192


def test_page_info_and_total_count_are_counted_once(schema: GraphQLSchema) -> None:
    query = "{ nodes(first: 10) { totalCount pageInfo { hasNextPage endCursor } } }"
    assert cost(schema, query) == 1 + 1 + (1 + 2)


def test_the_page_size_defaults_to_the_schema_default_and_null_to_default_page(schema: GraphQLSchema) -> None:
    assert cost(schema, "{ nodes { edges { node { name } } } }") == 1 + 1 + 100 * 2
    assert cost(schema, "{ nodes(first: null) { edges { node { name } } } }", default_page=7) == 1 + 1 + 7 * 2


def test_plain_lists_count_the_bound_they_declare(schema: GraphQLSchema) -> None:
    query = '{ node(name: "n1") { name gpus { uuid model } nics { name } } }'
    assert cost(schema, query) == 1 + 1 + (1 + MAX_GPUS_PER_NODE * 2) + (1 + MAX_NICS_PER_NODE * 1)
    # A list of scalars is one field, whatever its length.
    assert cost(schema, '{ node(name: "n1") { nics { port { allowedVlans } } } }') == 1 + 1 + MAX_NICS_PER_NODE * 2


def test_a_bound_may_be_a_setting_and_an_unbounded_list_counts_a_default_page(schema: GraphQLSchema) -> None:
    query = '{ cluster(name: "c") { nodes { name } } }'
    assert cost(schema, query) == 1 + 1 + Settings().max_cluster_nodes
    assert cost(schema, query, settings=Settings(max_cluster_nodes=8)) == 1 + 1 + 8
    assert cost(schema, "{ apiTokens { id } }", default_page=7) == 1 + 7
    # Introspection lists, whose sizes the schema fixes, keep the assumed `list_size`.
    assert cost(schema, "{ __schema { types { name } } }", list_size=3) == 1 + 1 + 3


def test_nested_pages_and_lists_multiply(schema: GraphQLSchema) -> None:
    # 100 switches x 1,024 ports, each port with its peer's switch and that switch's 1,024 ports.
    query = "{ switches(first: 100) { edges { node { ports { name peer { switch { ports { name } } } } } } } }"
    peer = 1 + (1 + (1 + MAX_PORTS_PER_SWITCH * 1))
    port = 1 + peer
    assert cost(schema, query) == 1 + 1 + 100 * (1 + (1 + MAX_PORTS_PER_SWITCH * port)) == 105_267_402


def test_totals_bound_the_lists_of_distinct_parents_together(schema: GraphQLSchema) -> None:
    totals = {"Rack": 30, "Node": 100, "Port": 2_000, "Switch": 40, "NIC": 1_000}
    # 100 sites hold 30 racks in all, and those racks 100 nodes: not 100 x 16,384 x 128.
    racks = "{ sites { edges { node { racks { name nodes { name } } } } } }"
    assert cost(schema, racks, totals=totals) == 1 + 1 + 100 * (1 + 1) + 30 * 2 + 100 * 1
    # A page of switches holds at most every port.
    ports = "{ switches(first: 100) { edges { node { ports { name } } } } }"
    assert cost(schema, ports, totals=totals) == 1 + 1 + 100 * (1 + 1) + 2_000 * 1
    # The switch of each NIC's port repeats (a few leaves): there, each switch may hold the most ports.
    repeated = "{ nodes(first: 50) { edges { node { nics { port { switch { ports { name } } } } } } } }"
    nic = 1 + (1 + (1 + MAX_PORTS_PER_SWITCH))
    assert cost(schema, repeated, totals=totals) == 1 + 1 + 50 * (1 + 1) + 1_000 * nic
    # One parent is distinct on its own.
    one = '{ switch(name: "leaf-1") { ports { name } } }'
    assert cost(schema, one, totals={"Port": 10}) == 1 + 1 + 10


def test_nested_connections_multiply_their_pages() -> None:
    sdl = """
    type Query { switches(first: Int = 100): SwitchConnection! }
    type SwitchConnection { edges: [SwitchEdge!]! totalCount: Int! }
    type SwitchEdge { node: Switch! }
    type Switch { name: String! ports(first: Int = 100): PortConnection! }
    type PortConnection { edges: [PortEdge!]! }
    type PortEdge { node: Port! }
    type Port { name: String! }
    """
    query = "{ switches { edges { node { ports { edges { node { name } } } } } } }"
    port_page = 1 + 1 + 100 * (1 + 1)  # ports, edges, 100 x (node, name)
    assert cost(build_sdl_schema(sdl), query) == 1 + 1 + 100 * (1 + port_page) == 20_302


def test_page_sizes_come_from_variables_and_their_defaults(schema: GraphQLSchema) -> None:
    query = "query Q($n: Int = 7) { nodes(first: $n) { edges { node { name } } } }"
    assert cost(schema, query, {"n": 5}) == 1 + 1 + 5 * 2
    assert cost(schema, query) == 1 + 1 + 7 * 2
    # An unset variable without a default leaves the argument unset: the schema default applies.
    assert cost(schema, "query Q($n: Int) { nodes(first: $n) { edges { node { name } } } }") == 1 + 1 + 100 * 2


def test_fragments_and_inline_fragments_count_where_they_are_spread(schema: GraphQLSchema) -> None:
    direct = cost(schema, "{ nodes(first: 10) { edges { node { name gpus { uuid } } } } }")
    named = """
    query { nodes(first: 10) { ...Page } }
    fragment Page on NodeConnection { edges { node { ...N } } }
    fragment N on Node { name gpus { uuid } }
    """
    inline = "{ nodes(first: 10) { edges { node { ... on Node { name } ... { gpus { uuid } } } } } }"
    assert cost(schema, named) == direct
    assert cost(schema, inline) == direct


def test_skip_and_include_are_honoured(schema: GraphQLSchema) -> None:
    gpus = 1 + MAX_GPUS_PER_NODE * 1
    base = 1 + 1 + 10 * (1 + 1)
    query = (
        "query Q($with: Boolean!) { nodes(first: 10) { edges { node { name gpus @include(if: $with) { uuid } } } } }"
    )
    assert cost(schema, query, {"with": True}) == base + 10 * gpus
    assert cost(schema, query, {"with": False}) == base
    skipped = "{ nodes(first: 10) { edges { node { name gpus @skip(if: true) { uuid } } } } }"
    assert cost(schema, skipped) == base
    spread = (
        "{ nodes(first: 10) { edges { node { name ...G @skip(if: true) } } } } fragment G on Node { gpus { uuid } }"
    )
    assert cost(schema, spread) == base
    # A condition that cannot be read (missing variable) counts the field: the estimate stays an upper bound.
    assert cost(schema, query) == base + 10 * gpus


def test_the_named_operation_is_the_one_costed(schema: GraphQLSchema) -> None:
    document = """
    query Small { node(name: "n1") { name } }
    query Large { nodes(first: 50) { edges { node { name } } } }
    mutation Delete { deleteNode(name: "n1") { deleted } }
    """
    assert cost(schema, document, operation_name="Small") == 2
    assert cost(schema, document, operation_name="Large") == 1 + 1 + 50 * 2
    assert cost(schema, document, operation_name="Delete") == 2
    assert cost(schema, document, operation_name="Missing") == 0


def test_introspection_has_a_bounded_cost_and_nesting_it_does_not_hide_it(schema: GraphQLSchema) -> None:
    assert cost(schema, "{ __typename }") == 1
    standard = cost(schema, get_introspection_query(descriptions=True, directive_is_repeatable=True))
    assert 1_000 < standard < 60_000
    # The depth limiter ignores introspection; each nested list level multiplies the cost instead.
    nested = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    deeper = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }"
    assert cost(schema, deeper) > 9 * cost(schema, nested)
    assert cost(schema, deeper) > 2 * standard


def test_a_fragment_bomb_is_costed_exactly_without_expanding_it(
    schema: GraphQLSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each fragment spreads the previous one twice: 2**n fields, yet each fragment is costed once.
    n = 16
    fragments = ["fragment F0 on Query { __typename }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n + 1)]
    visits = 0
    field = cost_module._Estimator.field

    def counted(*args: Any) -> int:
        nonlocal visits
        visits += 1
        return field(*args)

    monkeypatch.setattr(cost_module._Estimator, "field", counted)
    assert cost(schema, "{ ...F%d } %s" % (n, " ".join(fragments))) == 2**n  # noqa: UP031
    assert visits == 1


# -- the limiter, before execution ------------------------------------------------------------------------------

EXPENSIVE = "{ nodes(first: 100) { edges { node { name gpus { uuid } } } } }"
EXPENSIVE_COST = 1 + 1 + 100 * NODE_ITEM  # 1,902


def limited(max_cost: int, *extensions: Any, report: bool = False) -> MetalgraphSchema:
    return MetalgraphSchema(
        query=Query,
        mutation=Mutation,
        extensions=[lambda: CostLimiter(max_cost=max_cost, report=report), *extensions],
    )


async def test_an_operation_over_the_limit_is_refused_before_it_executes() -> None:
    # No context: had any resolver run, it would have failed on `info.context.loaders`.
    result = await limited(1_000).execute(EXPENSIVE, context_value=None)
    assert result.data is None
    assert [e.extensions for e in result.errors or []] == [
        {"code": "COST_LIMIT", "cost": EXPENSIVE_COST, "limit": 1_000}
    ]
    message = result.errors[0].message  # type: ignore[index]
    assert str(EXPENSIVE_COST) in message and "1000" in message


async def test_an_operation_within_the_limit_runs_and_may_report_its_cost() -> None:
    result = await limited(EXPENSIVE_COST - 1, report=True).execute("{ __typename }")
    assert result.errors is None
    assert result.data == {"__typename": "Query"}
    assert result.extensions == {"cost": 1}
    quiet = await limited(10).execute("{ __typename }")
    assert not quiet.extensions


async def test_the_refusal_is_an_ordinary_graphql_response_over_http() -> None:
    app = GraphQL(limited(1_000))
    query = "query Q($n: Int) { nodes(first: $n) { edges { node { name gpus { uuid } } } } }"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post("/", json={"query": query, "variables": {"n": 100}})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "COST_LIMIT", "cost": EXPENSIVE_COST, "limit": 1_000}


async def test_the_refusal_keeps_its_shape_through_error_codes() -> None:
    result = await limited(1_000, ErrorCodes).execute(EXPENSIVE, context_value=None)
    assert result.data is None
    assert [e.extensions for e in result.errors or []] == [
        {"code": "COST_LIMIT", "cost": EXPENSIVE_COST, "limit": 1_000}
    ]


# -- every list declares its bound ------------------------------------------------------------------------------


def test_every_list_field_that_is_not_a_connection_declares_its_bound(schema: GraphQLSchema) -> None:
    undeclared = []
    for named in schema.type_map.values():
        if named.name.startswith("__") or not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for name, definition in named.fields.items():
            if not is_list_type(get_nullable_type(definition.type)) or is_leaf_type(get_named_type(definition.type)):
                continue  # a list of scalars is one field of the cost
            if "first" in definition.args or named.name.endswith("Connection"):
                continue  # a page: its size is the request's `first`
            try:
                bound = declared_bound(definition)
            except KeyError:
                undeclared.append(f"{named.name}.{name}")
                continue
            if isinstance(bound.most, str):
                assert bound.most in Settings.model_fields, f"{named.name}.{name}: no setting {bound.most!r}"
    assert not undeclared, f"declare max_items(...) or unbounded(...) in the metadata of: {', '.join(undeclared)}"


# -- the estimate against what queries really produce, on a fabric of 64-port leaves ----------------------------

NICS_TO_PORTS = "{ nodes(first: 50) { edges { node { nics { port { switch { ports { name } } } } } } } }"
"""Fifty nodes, each NIC's switch and all of that switch's ports: the same few leaves, again and again."""

PRODUCING = [
    NICS_TO_PORTS,
    """{ nodes(first: 50) { totalCount edges { cursor node { name u state health memoryGb bmc { address }
         gpus { uuid index model nvlinkDomain nvlinkPeers { links gpu { index } } nics { path nic { name } } }
         nics { name mac role rail speedGbps linkSpeedGbps port { name speedGbps switch { name role pod } } } } }
         pageInfo { hasNextPage endCursor } } }""",
    """{ switches(first: 40) { totalCount edges { node { name
         ports { name index mode operStatus peer { name switch { name } } nic { name node { name } } } } } } }""",
    "{ sites { edges { node { name racks { name nodes { name gpus { uuid } } switches { name } } } } } }",
    "{ racks(first: 100) { edges { node { name site { name } nodes { name nics(role: BACKEND) { name } } } } } }",
    '{ switch(name: "leaf-p01-su01-r1") { ports { name nic { node { name gpus { index } } } } } }',
    '{ path(fromNode: "gpu-0001", toNode: "gpu-0040") { hopCount hops { kind name ingress egress } } }',
]


def produced(value: Any) -> int:
    """The fields of a response's data: one per key of every object, as execution counts them."""
    if isinstance(value, dict):
        return sum(1 + produced(v) for v in value.values())
    if isinstance(value, list):
        return sum(produced(v) for v in value)
    return 0


@pytest.fixture
async def fabric(store: GraphStore) -> GraphStore:
    inventory = generate_fabric(gpus=448, seed=3)  # 56 nodes on SN5400 leaves of 64 ports
    assert {len(s.ports) for s in inventory.switches if s.role == "leaf"} == {64}
    await service.import_inventory(store, inventory)
    return store


@asynccontextmanager
async def serving(store: GraphStore, tmp_path: Path, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on `store`, called from its own machine (as a provider-viewer)."""
    app = create_app(make_settings(tmp_path, loopback_reads=True, **settings), store=store)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client,
    ):
        yield client


async def test_the_estimate_is_never_below_what_a_query_produces(
    fabric: GraphStore, schema: GraphQLSchema, tmp_path: Path
) -> None:
    totals = await visible_counts(fabric, EVERYTHING, bounded_labels(schema))
    async with serving(fabric, tmp_path, max_query_cost=10**9) as api:
        for query in PRODUCING:
            body = (await api.post("/graphql", json={"query": query})).json()
            assert "errors" not in body, (query, body)
            truth = produced(body["data"])
            assert truth > 20
            assert cost(schema, query) >= cost(schema, query, totals=totals) >= truth, query


async def test_a_walk_to_every_port_of_each_nics_leaf_is_refused_before_it_runs(
    fabric: GraphStore, schema: GraphQLSchema, tmp_path: Path
) -> None:
    async with serving(fabric, tmp_path, max_query_cost=10**9) as api:
        truth = produced((await api.post("/graphql", json={"query": NICS_TO_PORTS})).json()["data"])
    assert truth > 25_000
    async with serving(fabric, tmp_path, max_query_cost=truth) as api:
        body = (await api.post("/graphql", json={"query": NICS_TO_PORTS})).json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT"
    assert error["extensions"]["cost"] >= truth


# -- the limit while an operation runs --------------------------------------------------------------------------

SITE_NEIGHBORHOOD = """{ neighborhood(name: "moc-mghpcc", depth: 3, limit: 5000) {
    truncated edges { type source sourceLabel target targetLabel } } }"""
"""Every relationship within three steps of the site: a list no rule bounds, estimated as a page of 100."""


@strawberry.type
class Item:
    index: int

    @strawberry.field
    async def label(self) -> str:
        Items.labels += 1
        return f"item-{self.index}"


@strawberry.type
class Items:
    labels: ClassVar[int] = 0

    @strawberry.field
    async def items(self, count: int) -> list[Item]:
        return [Item(index=i) for i in range(count)]


async def test_execution_stops_once_it_has_produced_more_fields_than_the_limit() -> None:
    Items.labels = 0
    unlimited = MetalgraphSchema(query=Items, extensions=[ErrorCodes])
    limited_run = MetalgraphSchema(query=Items, extensions=[ErrorCodes], execution_context_class=field_limited(500))
    assert (await unlimited.execute("{ items(count: 10000) { index label } }")).errors is None
    assert Items.labels == 10_000
    Items.labels = 0
    result = await limited_run.execute("{ items(count: 10000) { index label } }")
    assert result.data is None
    assert [e.extensions for e in result.errors or []] == [{"code": "COST_LIMIT", "produced": 501, "limit": 500}]
    assert Items.labels < 500  # the rest of the list was never resolved
    within = await limited_run.execute("{ items(count: 100) { index label } }")
    assert within.errors is None and len(within.data["items"]) == 100  # type: ignore[index]


@strawberry.type
class Ticks:
    @strawberry.subscription
    async def ticks(self, count: int) -> AsyncIterator[Item]:
        for i in range(count):
            yield Item(index=i)


async def test_each_subscription_event_is_counted_on_its_own() -> None:
    subscriptions = MetalgraphSchema(
        query=Items, subscription=Ticks, extensions=[ErrorCodes], execution_context_class=field_limited(5)
    )
    stream = await subscriptions.subscribe("subscription { ticks(count: 20) { index label } }")
    results = [result async for result in stream]  # type: ignore[union-attr]
    assert [r.errors for r in results] == [None] * 20  # 3 fields each: 60 in all, never 5 in one event
    assert [r.data["ticks"]["index"] for r in results] == list(range(20))  # type: ignore[index]


async def test_a_query_that_slips_past_the_estimate_is_stopped_and_healthz_answers_meanwhile(
    fabric: GraphStore, schema: GraphQLSchema, tmp_path: Path
) -> None:
    limit = 3_000
    assert cost(schema, SITE_NEIGHBORHOOD) < limit
    async with serving(fabric, tmp_path, max_query_cost=10**9) as api:
        truth = produced((await api.post("/graphql", json={"query": SITE_NEIGHBORHOOD})).json()["data"])
    assert truth > 2 * limit
    async with serving(fabric, tmp_path, max_query_cost=limit) as api:
        heavy = asyncio.create_task(api.post("/graphql", json={"query": SITE_NEIGHBORHOOD}))
        started = time.perf_counter()
        healthz = await api.get("/healthz")
        waited = time.perf_counter() - started
        body = (await heavy).json()
        assert healthz.status_code == 200
        assert waited < 2.0  # generous: the stopped query holds the event loop for milliseconds
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"].keys() == {"code", "produced", "limit"}
        assert (error["extensions"]["code"], error["extensions"]["limit"]) == ("COST_LIMIT", limit)
        assert limit < error["extensions"]["produced"] <= limit + 10
        assert (await api.get("/healthz")).status_code == 200
