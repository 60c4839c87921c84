"""Shared fixtures. Store-backed tests run twice: on the embedded FalkorDB and on a real Neo4j."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from metalgraph.server.app import create_app
from metalgraph.server.inventory.files import load_inventory
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.labels import KEYED_LABELS
from metalgraph.server.settings import Settings
from metalgraph.server.store.base import GraphStore
from metalgraph.server.store.falkordb_store import FalkorStore
from metalgraph.server.store.neo4j_store import Neo4jStore
from neo4j_server.runner import Neo4jServer, neo4j_required, start_neo4j, unavailable_reason

FIXTURES = Path(__file__).parent / "fixtures"
ADMIN_TOKEN = "test-admin-token-7c1f-0b9e4d2a6f83"


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jServer]:
    reason = unavailable_reason()
    if reason is not None:
        if neo4j_required():
            pytest.fail(reason)
        pytest.skip(reason)
    server = start_neo4j()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def neo4j_store(neo4j_server: Neo4jServer) -> AsyncIterator[Neo4jStore]:
    user, password = neo4j_server.auth or ("neo4j", None)
    store = Neo4jStore(neo4j_server.uri, KEYED_LABELS, user=user, password=password)
    await store.start()
    yield store
    await store.close()


@pytest.fixture
async def empty_neo4j_store(neo4j_store: Neo4jStore) -> Neo4jStore:
    await neo4j_store.clear()
    return neo4j_store


@pytest.fixture
async def empty_embedded_store(tmp_path: Path) -> AsyncIterator[FalkorStore]:
    store = FalkorStore(tmp_path / "data", KEYED_LABELS)
    await store.start()
    yield store
    await store.close()


@pytest.fixture(params=["embedded", "neo4j"])
def store(request: pytest.FixtureRequest) -> GraphStore:
    """An empty, started store of each kind."""
    the_store: GraphStore = request.getfixturevalue(f"empty_{request.param}_store")
    return the_store


@pytest.fixture
def small_inventory() -> Inventory:
    return load_inventory(FIXTURES / "small.yaml")


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", admin_token=ADMIN_TOKEN, **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def api(store: GraphStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app on `store`, calling from 127.0.0.1 without a token: with loopback reads
    turned on here, it reads as provider-viewer."""
    app = create_app(make_settings(tmp_path, loopback_reads=True), store=store)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield client
