"""The estimated query cost over the real schema, and its refusal before execution."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, get_introspection_query, parse
from graphql import build_schema as build_sdl_schema
from strawberry.asgi import GraphQL

from metalgraph.schema import cost as cost_module
from metalgraph.schema.cost import CostLimiter, estimate_cost
from metalgraph.schema.errors import ErrorCodes
from metalgraph.schema.schema import MetalgraphSchema, Mutation, Query, build_schema


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def cost(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> int:
    return estimate_cost(schema, parse(query), variables, kwargs.pop("operation_name", None), **kwargs)


# A page of 10 nodes, each: node, name, and gpus (1 + 10 assumed GPUs x uuid).
NODE_ITEM = 1 + 1 + (1 + 10 * 1)


def test_a_page_multiplies_the_cost_of_its_items(schema: GraphQLSchema) -> None:
    query = "{ nodes(first: 10) { edges { node { name gpus { uuid } } } } }"
    assert cost(schema, query) == 1 + 1 + 10 * NODE_ITEM == 132


def test_page_info_and_total_count_are_counted_once(schema: GraphQLSchema) -> None:
    query = "{ nodes(first: 10) { totalCount pageInfo { hasNextPage endCursor } } }"
    assert cost(schema, query) == 1 + 1 + (1 + 2)


def test_the_page_size_defaults_to_the_schema_default_and_null_to_default_page(schema: GraphQLSchema) -> None:
    assert cost(schema, "{ nodes { edges { node { name } } } }") == 1 + 1 + 100 * 2
    assert cost(schema, "{ nodes(first: null) { edges { node { name } } } }", default_page=7) == 1 + 1 + 7 * 2


def test_plain_lists_count_the_assumed_list_size(schema: GraphQLSchema) -> None:
    query = '{ node(name: "n1") { name gpus { uuid model } } }'
    assert cost(schema, query) == 1 + 1 + (1 + 10 * 2)
    assert cost(schema, query, list_size=3) == 1 + 1 + (1 + 3 * 2)


def test_nested_pages_and_lists_multiply(schema: GraphQLSchema) -> None:
    # 100 switches x 10 ports, each port with its peer's switch and that switch's 10 ports.
    query = "{ switches(first: 100) { edges { node { ports { name peer { switch { ports { name } } } } } } } }"
    peer = 1 + (1 + (1 + 10 * 1))
    port = 1 + peer
    assert cost(schema, query) == 1 + 1 + 100 * (1 + (1 + 10 * port)) == 14_202


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
    gpus = 1 + 10 * 1
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
EXPENSIVE_COST = 1 + 1 + 100 * NODE_ITEM  # 1,302


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
