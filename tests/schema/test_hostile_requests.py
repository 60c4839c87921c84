"""Requests an attacker sends before it has any credentials: documents far larger as executed than as
written, request bodies that are not GraphQL requests, and what the server shows to anonymous callers
(metrics, suggested field names, GraphiQL, loopback reads)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse, validate
from strawberry.extensions.max_aliases import count_fields_with_alias
from strawberry.extensions.query_depth_limiter import create_validator

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.schema.document_limits import DocumentLimits, document_refusal
from metalgraph.schema.schema import build_schema
from metalgraph.server.app import create_app
from metalgraph.server.settings import Settings
from metalgraph.server.store.base import GraphStore

REMOTE = ("198.51.100.31", 40000)
LOOPBACK = ("127.0.0.1", 40000)


def doubled_spreads(levels: int) -> str:
    """`levels` fragments, each spreading the next twice: 2**levels fields as executed, ~40 bytes a level."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return " ".join(["query { ...F0 }", *fragments, f"fragment F{levels} on Query {{ __typename }}"])


@asynccontextmanager
async def client(
    store: GraphStore, tmp_path: Path, address: tuple[str, int] = REMOTE, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, **settings), store=store)
    transport = httpx.ASGITransport(app=app, client=address)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def post(api: httpx.AsyncClient, query: str, token: str | None = ADMIN_TOKEN) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- documents larger as executed than as written ----------------------------------------------------


@pytest.mark.parametrize("token", [None, ADMIN_TOKEN], ids=["anonymous", "admin"])
async def test_nested_doubled_fragment_spreads_are_refused_by_their_expanded_size(
    store: GraphStore, tmp_path: Path, token: str | None
) -> None:
    async with client(store, tmp_path) as api:
        small = await post(api, doubled_spreads(3), token)  # 8 fields: fine
        assert codes(small) == ([] if token else ["UNAUTHENTICATED"])
        for levels in (13, 40, 200):  # 8,192 fields; 2**40; 2**200 (this once spun for hours)
            body = await post(api, doubled_spreads(levels), token)
            assert codes(body) == ["SELECTION_LIMIT"], body
            assert body["data"] is None


async def test_a_document_with_more_tokens_than_the_limit_is_not_parsed(store: GraphStore, tmp_path: Path) -> None:
    async with client(store, tmp_path) as api:
        body = await post(api, "{" + " a" * 20_000 + " }", None)
        assert codes(body) == ["TOKEN_LIMIT"]
        assert "10000 tokens" in body["errors"][0]["message"]
        comments = await post(api, "{ __typename }" + "\n#" * 20_000, None)  # comments are tokens too
        assert codes(comments) == ["TOKEN_LIMIT"]
        named = await api.post("/graphql", json={"query": "query Q {" + " a" * 20_000 + " }", "operationName": "Q"})
        assert codes(named.json()) == ["TOKEN_LIMIT"]
        long = await post(api, '{ node(name: "' + "x" * 200_000 + '") { name } }', None)  # one token, 200 kB
        assert codes(long) == ["DOCUMENT_TOO_LARGE"]


async def test_a_field_with_too_many_directives_is_refused(store: GraphStore, tmp_path: Path) -> None:
    async with client(store, tmp_path) as api:
        known = await post(api, "{ __typename" + " @include(if: true)" * 50 + " }")
        unknown = await post(api, "{ __typename" + " @a" * 4_000 + " }", None)
        assert codes(known) == codes(unknown) == ["DIRECTIVE_LIMIT"]
        assert codes(await post(api, "{ __typename @include(if: true) @skip(if: false) }")) == []


async def test_a_field_repeated_in_one_selection_is_refused_before_validation_compares_the_repeats(
    store: GraphStore, tmp_path: Path
) -> None:
    """Validation compares fields of one response name pairwise: 1,500 of them took seconds."""
    async with client(store, tmp_path) as api:
        arguments_differ = "{ sites { " + " ".join(f"totalCount(x: {i})" for i in range(1500)) + " } }"
        inlined = " ".join(f"... on SiteConnection {{ t: totalCount(x: {i}) }}" for i in range(300))
        inline = "{ sites { " + inlined + " } }"
        for query in (arguments_differ, inline):
            body = await post(api, query, None)
            assert codes(body) == ["SELECTION_LIMIT"], body
        assert codes(await post(api, "{ sites { " + "totalCount " * 50 + "} }")) == []


async def test_a_document_defining_more_fragments_than_the_limit_is_refused_as_it_is_parsed(
    store: GraphStore, tmp_path: Path
) -> None:
    """Validation compares fragments with each other: 1,100 distinct ones took half a second each."""

    def spreading(count: int) -> str:
        spreads = " ".join(f"...f{i}" for i in range(count))
        return "{ " + spreads + " } " + " ".join(f"fragment f{i} on Query {{ __typename }}" for i in range(count))

    async with client(store, tmp_path, max_fragments=20) as api:
        for token in (None, ADMIN_TOKEN):
            body = await post(api, spreading(21), token)
            assert codes(body) == ["SELECTION_LIMIT"] and body["data"] is None, body
            assert body["errors"][0]["extensions"]["limit"] == 20
        assert (await post(api, spreading(20)))["data"] == {"__typename": "Query"}


async def test_a_caller_over_its_rate_limit_is_refused_before_its_document_is_read(
    store: GraphStore, tmp_path: Path
) -> None:
    async with client(store, tmp_path, rate_limit_per_s=0.01, rate_limit_burst=1) as api:
        assert codes(await post(api, "{ __typename }")) == []
        unreadable = await post(api, "{ nodes(")  # a syntax error
        assert codes(unreadable) == ["RATE_LIMITED"], unreadable
        assert unreadable["errors"][0]["extensions"]["retryAfterSeconds"] > 0
        assert codes(await post(api, "{ __typename }", None)) == ["UNAUTHENTICATED"]  # limited by address
        anonymous = await post(api, "{ " + "x " * 20_000 + "}", None)  # over the token limit
        assert codes(anonymous) == ["RATE_LIMITED"], anonymous


async def test_the_entry_of_a_document_refused_unread_names_some_root_fields_and_coerces_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    """Coercing the arguments of a refused document's root fields (invalid by the thousand) cost as
    much as validating it; the entry names the first 20 root fields and counts the rest."""
    async with client(store, tmp_path) as api:
        unknown = " ".join(f"f{i}" for i in range(30))
        body = await post(api, "{ " + unknown + ' nodes(first: "")' * 51 + " }", None)
        assert codes(body) == ["SELECTION_LIMIT"]
    (entry,) = [row["e"] for row in await store.read("MATCH (e:AuditEntry) RETURN e{.*} AS e ORDER BY e.seq")]
    assert entry["outcome"] == "limited" and entry["actor"].startswith("anonymous@")
    assert entry["operation"] == ",".join(f"f{i}" for i in range(20)) + " and 11 more"
    assert "invalid arguments" not in entry["variables"]


async def test_errors_far_down_a_long_document_name_their_line_and_column(store: GraphStore, tmp_path: Path) -> None:
    async with client(store, tmp_path) as api:
        padded = "\r\n" * 30_000 + "\n" * 30_000 + "{ nodez x1 }"
        body = await post(api, padded)
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"] * 2
        locations = [e["locations"] for e in body["errors"]]
        assert locations == [[{"line": 60_001, "column": 3}], [{"line": 60_001, "column": 9}]]
        repeated = await post(api, "\n" * 9 + "{ " + 'nodes(first: "") ' * 60 + "}", None)
        assert codes(repeated) == ["SELECTION_LIMIT"]
        assert repeated["errors"][0]["locations"][0]["line"] == 10


SCHEMA = build_schema(Settings())._schema
LIMITS = DocumentLimits(
    max_chars=100_000,
    max_tokens=10_000,
    max_fields=5_000,
    max_depth=4,
    max_aliases=3,
    max_directives=10,
    max_repeats=5,
    max_fragments=200,
)
SHAPES = [
    "{ sites { totalCount } }",
    "{ a: sites { totalCount } b: sites { totalCount } c: sites { totalCount } d: sites { totalCount } }",
    "{ nodes { edges { node { nics { port { switch { name } } } } } } }",
    "{ nodes { edges { node { nics { port { name } } } } } }",
    "{ nodes { edges { node { __typename } } } }",
    "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }",
    "query Q { ...N } fragment N on Query { nodes { edges { node { ...M } } } }"
    " fragment M on Node { nics { x: name } }",
    "{ ...N ...N } fragment N on Query { a: nodes { edges { node { nics { name } } } } b: sites { totalCount } }",
    "{ nodes { edges { ... on NodeEdge { node { nics { port { name } } } } } } }",
    "query A { a: sites { totalCount } }"
    " query B { b: sites { totalCount } c: sites { totalCount } d: sites { t: totalCount } }",
]


@pytest.mark.parametrize("query", SHAPES)
def test_depth_and_aliases_are_counted_as_strawberry_counts_them(query: str) -> None:
    """The linear count refuses exactly what Strawberry's own depth and alias limiters refuse."""
    document = parse(query)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    too_deep = validate(SCHEMA, document, [create_validator(LIMITS.max_depth, None, None)])
    aliases = sum(count_fields_with_alias(operation, fragments) for operation in operations)
    expected = ["DEPTH_LIMIT"] if too_deep else ["ALIAS_LIMIT"] if aliases > LIMITS.max_aliases else []
    refusal = document_refusal(document, LIMITS)
    assert ([] if refusal is None else [(refusal.extensions or {})["code"]]) == expected


# --- request shapes that are not GraphQL requests ----------------------------------------------------

JSON = {"content-type": "application/json"}
NOT_GRAPHQL_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("null", {"content": b"null", "headers": JSON}),
    ("string", {"content": b'"{ __typename }"', "headers": JSON}),
    ("number", {"content": b"42", "headers": JSON}),
    ("true", {"content": b"true", "headers": JSON}),
    ("invalid UTF-8", {"content": b'{"query": "{ __typename \xff\xfe }"}', "headers": JSON}),
    ("not JSON", {"content": b"{ __typename }", "headers": JSON}),
    ("deeply nested JSON", {"content": b"[" * 100_000 + b"]" * 100_000, "headers": JSON}),
    ("batch", {"json": [{"query": "{ __typename }"}, {"query": "{ __typename }"}]}),
    ("batch of junk", {"json": [1, None]}),
    ("empty object", {"json": {}}),
    ("query null", {"json": {"query": None}}),
    ("query empty", {"json": {"query": ""}}),
    ("query a number", {"json": {"query": 7}}),
    ("query an object", {"json": {"query": {"a": 1}}}),
    ("variables a list", {"json": {"query": "{ __typename }", "variables": [1]}}),
    ("variables a string", {"json": {"query": "{ __typename }", "variables": "{}"}}),
    ("extensions a number", {"json": {"query": "{ __typename }", "extensions": 3}}),
    ("operationName a list", {"json": {"query": "{ __typename }", "operationName": ["a"]}}),
    ("form body", {"data": {"query": "{ __typename }"}}),
    ("variables of 30,000 values", {"json": {"query": "{ __typename }", "variables": {"a": [1] * 30_000}}}),
    ("multipart body", {"files": {"query": ("q", b"{ __typename }")}}),
    ("no content type", {"content": b'{"query": "{ __typename }"}'}),
]


@pytest.mark.parametrize("shape", [s for _, s in NOT_GRAPHQL_REQUESTS], ids=[n for n, _ in NOT_GRAPHQL_REQUESTS])
async def test_a_post_that_is_not_a_graphql_request_is_a_typed_bad_request(
    store: GraphStore, tmp_path: Path, shape: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with client(store, tmp_path) as api:
        with caplog.at_level(logging.WARNING):
            response = await api.post("/graphql", **shape)
    assert response.status_code == 400, response.text
    body = response.json()
    assert codes(body) == ["BAD_REQUEST"]
    assert body["errors"][0]["message"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


GET_REQUESTS = [
    ("no query", ""),
    ("variables not JSON", "query=%7B__typename%7D&variables=%7Bnope"),
    ("variables not an object", "query=%7B__typename%7D&variables=%5B1%5D"),
    ("variables not UTF-8", "query=%7B__typename%7D&variables=%7B%22a%22%3A%22%FF%22"),
    ("query not UTF-8", "query=%7B%FF%7D"),
    ("extensions a string", "query=%7B__typename%7D&extensions=%22x%22"),
]


@pytest.mark.parametrize("query_string", [q for _, q in GET_REQUESTS], ids=[n for n, _ in GET_REQUESTS])
async def test_a_get_that_is_not_a_graphql_request_is_a_typed_error(
    store: GraphStore, tmp_path: Path, query_string: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with client(store, tmp_path) as api:
        with caplog.at_level(logging.WARNING):
            response = await api.get(f"/graphql?{query_string}")
    assert response.status_code in (200, 400), response.text
    assert codes(response.json()) in (["BAD_REQUEST"], ["GRAPHQL_PARSE_FAILED"])
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_mutation_over_get_is_refused_with_a_code(store: GraphStore, tmp_path: Path) -> None:
    async with client(store, tmp_path) as api:
        response = await api.get("/graphql", params={"query": 'mutation { deleteTenant(name: "x") { deleted } }'})
    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert "GET" in response.json()["errors"][0]["message"]


# --- what anonymous callers see ------------------------------------------------------------------------


async def test_metrics_need_a_provider_token_except_from_loopback(store: GraphStore, tmp_path: Path) -> None:
    async with client(store, tmp_path) as remote:
        anonymous = await remote.get("/metrics")
        assert anonymous.status_code == 401 and codes(anonymous.json()) == ["UNAUTHENTICATED"]
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        created = await post(remote, 'mutation { createTenant(name: "acme") { name } }')
        assert codes(created) == []
        token_query = 'mutation { createApiToken(role: TENANT_ADMIN, tenant: "acme") { token } }'
        tenant_token = (await post(remote, token_query))["data"]["createApiToken"]["token"]
        tenant = await remote.get("/metrics", headers={"Authorization": f"Bearer {tenant_token}"})
        assert tenant.status_code == 401 and tenant.json() == anonymous.json()  # no token's state told apart
        provider = await remote.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert provider.status_code == 200 and "metalgraph_graphql_requests_total" in provider.text
    async with client(store, tmp_path, LOOPBACK) as local:
        assert (await local.get("/metrics")).status_code == 200
    async with client(store, tmp_path, LOOPBACK, metrics_loopback=False) as local:
        assert (await local.get("/metrics")).status_code == 401


async def test_loopback_callers_without_a_token_are_anonymous_unless_configured(
    store: GraphStore, tmp_path: Path
) -> None:
    assert Settings().loopback_reads is False
    async with client(store, tmp_path, LOOPBACK) as local:
        assert codes(await post(local, "{ sites { totalCount } }", None)) == ["UNAUTHENTICATED"]
    async with client(store, tmp_path, LOOPBACK, loopback_reads=True) as local:
        assert codes(await post(local, "{ sites { totalCount } }", None)) == []


async def test_only_callers_who_may_introspect_get_field_suggestions(store: GraphStore, tmp_path: Path) -> None:
    typo = "{ sitez { totalCount } }"
    async with client(store, tmp_path) as api:
        provider = (await post(api, typo))["errors"][0]["message"]
        anonymous = await post(api, typo, None)
        await post(api, 'mutation { createTenant(name: "acme") { name } }')
        token_query = 'mutation { createApiToken(role: TENANT_MEMBER, tenant: "acme") { token } }'
        member = (await post(api, token_query))["data"]["createApiToken"]["token"]
        tenant = await post(api, typo, member)
    assert "Did you mean 'site', 'sites'" in provider
    for body in (anonymous, tenant):
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
        assert body["errors"][0]["message"] == "Cannot query field 'sitez' on type 'Query'."
    async with client(store, tmp_path, tenant_introspection=True) as api:
        assert "Did you mean 'site', 'sites'" in (await post(api, typo, member))["errors"][0]["message"]


async def test_graphiql_is_served_only_where_configured(store: GraphStore, tmp_path: Path) -> None:
    browser = {"accept": "text/html"}
    async with client(store, tmp_path, LOOPBACK) as api:
        page = await api.get("/graphql", headers=browser)
        assert page.status_code == 400 and codes(page.json()) == ["BAD_REQUEST"]  # a GET without a query
    async with client(store, tmp_path, LOOPBACK, graphiql=True) as api:
        page = await api.get("/graphql", headers=browser)
        assert page.status_code == 200 and "graphiql" in page.text.lower()
