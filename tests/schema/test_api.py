"""The GraphQL API over HTTP: the contract shapes, batching, typed errors, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.schema.schema import schema
from metalgraph.server.app import create_app
from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.store.base import GraphStore


@pytest.fixture
async def api(store: GraphStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app without its lifecycle worker: its polls would count among the round trips measured here."""
    app = create_app(make_settings(tmp_path, run_jobs=False, loopback_reads=True), store=store)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield client


NODES_CONTRACT = """
query Nodes($first: Int, $after: String, $filter: NodeFilter) {
  nodes(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { node { name gpus { model } nics { name speedGbps port { name switch { name role } } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def gql(api: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_the_nodes_contract_shape(api: httpx.AsyncClient, store: GraphStore, small_inventory: Inventory) -> None:
    await service.import_inventory(store, small_inventory)
    body = await gql(api, NODES_CONTRACT, first=10)
    assert "errors" not in body
    nodes = body["data"]["nodes"]
    assert nodes["totalCount"] == 1
    assert nodes["pageInfo"]["hasNextPage"] is False
    node = nodes["edges"][0]["node"]
    assert node["name"] == "n1"
    assert [g["model"] for g in node["gpus"]] == ["H100", "H100"]
    assert node["nics"] == [
        {"name": "ib0", "speedGbps": 400.0, "port": {"name": "swp1", "switch": {"name": "leaf1", "role": "LEAF"}}}
    ]


async def test_lookups_by_name_and_the_other_lists(
    api: httpx.AsyncClient, store: GraphStore, small_inventory: Inventory
) -> None:
    await service.import_inventory(store, small_inventory)
    body = await gql(
        api,
        """{ node(name: "n1") { name cpuCores memoryGb bmc { driver address } rack { name site { name jurisdiction } } }
             missing: node(name: "nope") { name }
             switches { totalCount edges { node { name role ports { name nic { name } peer { name } } } } }
             sites { totalCount edges { node { name certifications racks { name } } } } }""",
    )
    assert "errors" not in body
    data = body["data"]
    assert data["node"] == {
        "name": "n1",
        "cpuCores": 112,
        "memoryGb": 2048.0,
        "bmc": {"driver": "sim", "address": "sim://n1"},
        "rack": {"name": "r1", "site": {"name": "bu", "jurisdiction": "US"}},
    }
    assert data["missing"] is None
    assert data["switches"]["totalCount"] == 2
    leaf = data["switches"]["edges"][0]["node"]
    assert leaf["ports"][0] == {"name": "swp1", "nic": {"name": "ib0"}, "peer": None}
    assert leaf["ports"][2]["peer"] == {"name": "swp1"}
    assert data["sites"]["edges"][0]["node"] == {"name": "bu", "certifications": ["HIPAA"], "racks": [{"name": "r1"}]}


@pytest.fixture
async def fabric(store: GraphStore) -> Inventory:
    inventory = generate_fabric(gpus=4096 + 64, seed=3)  # 512 nodes in the main site plus a small EU site
    await service.import_inventory(store, inventory)
    return inventory


@pytest.mark.slow
async def test_round_trips_do_not_grow_with_the_page_size(
    api: httpx.AsyncClient, store: GraphStore, fabric: Inventory
) -> None:
    async def trips(first: int) -> int:
        before = store.round_trips_total
        body = await gql(api, NODES_CONTRACT, first=first)
        assert "errors" not in body
        assert len(body["data"]["nodes"]["edges"]) == first
        return store.round_trips_total - before

    assert await trips(500) == await trips(5)
    assert await trips(5) <= 8


@pytest.mark.slow
async def test_paging_and_filters(api: httpx.AsyncClient, store: GraphStore, fabric: Inventory) -> None:
    seen: list[str] = []
    after = None
    while True:
        body = await gql(api, NODES_CONTRACT, first=200, after=after)
        page = body["data"]["nodes"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(n.name for n in fabric.nodes)

    def expected(keep: Any) -> int:
        racks = {r.name: r.site for r in fabric.racks}
        return sum(1 for n in fabric.nodes if keep(n, racks[n.rack]))

    eu_site = next(s.name for s in fabric.sites if s.jurisdiction == "EU")
    a_model = fabric.nodes[-1].gpus[0].model
    cases = [
        ({"site": eu_site}, lambda n, site: site == eu_site),
        ({"rack": fabric.nodes[0].rack}, lambda n, site: n.rack == fabric.nodes[0].rack),
        ({"state": "MAINTENANCE"}, lambda n, site: n.state == "maintenance"),
        ({"gpuModel": a_model}, lambda n, site: any(g.model == a_model for g in n.gpus)),
        ({"minGpuCount": 8, "site": eu_site}, lambda n, site: len(n.gpus) >= 8 and site == eu_site),
        ({"minGpuCount": 9}, lambda n, site: len(n.gpus) >= 9),
        ({"minMemoryGb": 1024}, lambda n, site: n.memory_gb >= 1024),
    ]
    for node_filter, keep in cases:
        body = await gql(api, "query($f: NodeFilter) { nodes(first: 1, filter: $f) { totalCount } }", f=node_filter)
        assert body["data"]["nodes"]["totalCount"] == expected(keep), node_filter


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ nodes(first: 5000) { totalCount } }", "PAGE_SIZE_LIMIT"),
        ("{ nodes(first: -1) { totalCount } }", "INVALID_INPUT"),
        ('{ nodes(after: "bm90LWEtY3Vyc29y") { totalCount } }', "INVALID_INPUT"),
        ('{ nodes(first: "ten") { totalCount } }', "GRAPHQL_VALIDATION_FAILED"),
        ("{ node(name: ", "GRAPHQL_PARSE_FAILED"),
        ("{ nodez { name } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ node { name } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ " + " ".join(f"a{i}: sites {{ totalCount }}" for i in range(40)) + " }", "ALIAS_LIMIT"),
        ('{ node(name: "n1") { ' + "gpus { node { " * 8 + "name" + " } }" * 8 + " } }", "DEPTH_LIMIT"),
        (
            "{ nodes(first: 1000) { edges { node { nics { port { switch { ports { name speedGbps } } } } } } } }",
            "COST_LIMIT",
        ),
    ],
    ids=[
        "page-too-big",
        "negative-page",
        "foreign-cursor",
        "wrong-type",
        "unparsable",
        "unknown-field",
        "missing-argument",
        "too-many-aliases",
        "too-deep",
        "too-costly",
    ],
)
async def test_bad_requests_get_typed_errors(api: httpx.AsyncClient, query: str, code: str) -> None:
    body = await gql(api, query)
    assert error_codes(body) and set(error_codes(body)) == {code}
    assert "Traceback" not in str(body)


async def test_malformed_http_bodies_are_not_server_errors(api: httpx.AsyncClient) -> None:
    for content in (b"{not json", b'{"query": 5}', b"[]", b""):
        response = await api.post("/graphql", content=content, headers={"content-type": "application/json"})
        assert response.status_code < 500, (content, response.status_code)


async def test_an_oversized_body_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post("/graphql", json={"query": "{ sites { totalCount } }", "pad": "x" * 2_000_000})
    assert response.status_code == 413
    assert error_codes(response.json()) == ["BODY_TOO_LARGE"]


async def test_mutations_and_remote_reads_need_the_admin_token(store: GraphStore, tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), store=store)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as remote:
        assert error_codes(await gql(remote, "{ sites { totalCount } }")) == ["UNAUTHENTICATED"]
        assert error_codes(await gql(remote, "{ sites { totalCount } }", token="wrong")) == ["UNAUTHENTICATED"]
        body = await gql(remote, "{ sites { totalCount } }", token=ADMIN_TOKEN)
        assert body["data"] == {"sites": {"totalCount": 0}}


async def test_a_store_that_is_down_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    from metalgraph.server.inventory.records import VERTEX_LABELS
    from metalgraph.server.store.falkordb_store import FalkorStore

    store = FalkorStore(tmp_path / "data", VERTEX_LABELS)
    await store.start()
    app = create_app(make_settings(tmp_path, loopback_reads=True), store=store)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
        assert (await api.get("/healthz")).json()["status"] == "ok"
        store.process.stop()  # the database dies under a running server
        body = await gql(api, '{ sites { totalCount } node(name: "x") { name } }')
        assert set(error_codes(body)) == {"UNAVAILABLE"}
        health = await api.get("/healthz")
        assert health.status_code == 503
    await store.close()


async def test_metrics_count_requests_and_round_trips(api: httpx.AsyncClient) -> None:
    await gql(api, "{ sites { totalCount } }")
    text = (await api.get("/metrics")).text
    assert 'metalgraph_graphql_requests_total{outcome="ok"}' in text
    assert "metalgraph_graphql_request_seconds_bucket" in text
    assert "metalgraph_store_round_trips_total" in text


def test_the_committed_sdl_is_current() -> None:
    committed = Path(__file__).parents[2] / "schema" / "schema.graphql"
    assert committed.read_text() == schema.as_str() + "\n", (
        "schema/schema.graphql is stale: run `metalgraph schema graphql > schema/schema.graphql`"
    )
