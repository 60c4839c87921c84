"""Clusters a tenant owns: what is not the lifecycle's business (`server.lifecycle` creates, resizes,
releases and deletes them).

A cluster's key is `tenant/name`: names are unique per tenant, so one tenant can never learn of
another's cluster by trying to take its name.
"""

from __future__ import annotations

from typing import Any

from ..errors import NotFound
from ..store.base import GraphStore


def cluster_key(tenant: str, name: str) -> str:
    return f"{tenant}/{name}"


async def get_cluster(store: GraphStore, tenant: str, name: str) -> dict[str, Any] | None:
    rows = await store.read("MATCH (c:Cluster {key: $key}) RETURN c{.*} AS c", {"key": cluster_key(tenant, name)})
    return rows[0]["c"] if rows else None


async def _require(store: GraphStore, tenant: str, name: str) -> dict[str, Any]:
    cluster = await get_cluster(store, tenant, name)
    if cluster is None:
        raise NotFound(f"cluster {name!r} not found")
    return cluster


async def update_cluster(store: GraphStore, tenant: str, name: str, description: str) -> None:
    await _require(store, tenant, name)
    await store.write_atomically(
        [("MATCH (c:Cluster {key: $key}) SET c.description = $d", {"key": cluster_key(tenant, name), "d": description})]
    )
