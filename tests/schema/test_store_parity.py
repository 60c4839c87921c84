"""The same inventory on the embedded store and on Neo4j answers the same queries identically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import make_settings
from metalgraph.server.app import create_app
from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.store.base import GraphStore
from metalgraph.server.store.falkordb_store import FalkorStore
from metalgraph.server.store.neo4j_store import Neo4jStore

DOCUMENTS = [
    """{ nodes(first: 50) { totalCount edges { cursor node { name u state health memoryGb bmc { address }
         gpus { uuid index model nvlinkDomain nvlinkPeers { links gpu { index } } nics { path nic { name } } }
         nics { name mac role rail speedGbps linkSpeedGbps port { name speedGbps switch { name role pod } } } } }
         pageInfo { hasNextPage endCursor } } }""",
    """{ switches(first: 40, filter: {role: SPINE}) { totalCount edges { node { name pod model
         ports { name index mode operStatus peer { name switch { name } } nic { name node { name } } } } } } }""",
    "{ sites { edges { node { name country jurisdiction certifications racks { name nodes { name } } } } } }",
    "{ links(first: 100) { totalCount edges { node { speedGbps a { name } b { name } } } } }",
    "{ nodes(filter: {minGpuCount: 8, state: AVAILABLE}, first: 1000) { totalCount } }",
    '{ path(fromNode: "gpu-0001", toNode: "gpu-0040") { hopCount switchCount bottleneckGbps'
    "  hops { kind name ingress egress linkSpeedGbps } } }",
    '{ neighborhood(name: "gpu-0003", depth: 2) { truncated vertices { label key } edges { type source target } } }',
]


async def _answers(store: GraphStore, tmp_path: Path) -> list[dict[str, Any]]:
    app = create_app(make_settings(tmp_path, loopback_reads=True), store=store)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
        return [(await api.post("/graphql", json={"query": doc})).json() for doc in DOCUMENTS]


@pytest.mark.slow
async def test_both_stores_give_identical_answers(
    empty_embedded_store: FalkorStore, empty_neo4j_store: Neo4jStore, tmp_path: Path
) -> None:
    inventory = generate_fabric(gpus=640, seed=11)
    await service.import_inventory(empty_embedded_store, inventory)
    await service.import_inventory(empty_neo4j_store, inventory)
    embedded = await _answers(empty_embedded_store, tmp_path)
    neo4j = await _answers(empty_neo4j_store, tmp_path)
    for document, a, b in zip(DOCUMENTS, embedded, neo4j, strict=True):
        assert "errors" not in a, (document, a)
        assert a == b, document
