"""Clusters a tenant owns and the nodes in them.

Until the cluster lifecycle lands, a provider creates a cluster for a tenant and assigns nodes to it
directly. A cluster's key is `tenant/name`: names are unique per tenant, so one tenant can never
learn of another's cluster by trying to take its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..auth.tokens import now_iso
from ..errors import AlreadyExists, InUse, InvalidReference, NotFound
from ..store.base import GraphStore
from .tenants import check_name, get_tenant


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


async def create_cluster(
    store: GraphStore, tenant: str, name: str, vlan: int | None = None, description: str = ""
) -> None:
    check_name("cluster", name)
    if vlan is not None and not 1 <= vlan <= 4094:
        raise InvalidReference(f"VLAN {vlan} is outside 1-4094")
    if await get_tenant(store, tenant) is None:
        raise NotFound(f"tenant {tenant!r} not found")
    if await get_cluster(store, tenant, name) is not None:
        raise AlreadyExists(f"cluster {name!r} already exists")
    if vlan is not None and await store.read("MATCH (c:Cluster {vlan: $vlan}) RETURN c.key AS c", {"vlan": vlan}):
        raise InUse(f"VLAN {vlan} belongs to another cluster")
    props = {
        "key": cluster_key(tenant, name),
        "name": name,
        "tenant": tenant,
        "state": "ready",
        "description": description,
        "created_at": now_iso(),
    }
    if vlan is not None:
        props["vlan"] = vlan
    await store.write_atomically(
        [
            (
                "MATCH (t:Tenant {key: $tenant}) CREATE (t)-[:OWNS]->(c:Cluster) SET c = $props",
                {"tenant": tenant, "props": props},
            )
        ]
    )


async def update_cluster(store: GraphStore, tenant: str, name: str, description: str) -> None:
    await _require(store, tenant, name)
    await store.write_atomically(
        [("MATCH (c:Cluster {key: $key}) SET c.description = $d", {"key": cluster_key(tenant, name), "d": description})]
    )


async def delete_cluster(store: GraphStore, tenant: str, name: str) -> None:
    await _require(store, tenant, name)
    rows = await store.read(
        "MATCH (:Cluster {key: $key})-[:MEMBER]->(n:Node) RETURN count(n) AS members",
        {"key": cluster_key(tenant, name)},
    )
    if rows and rows[0]["members"]:
        raise InUse(f"cluster {name!r} still has {rows[0]['members']} node(s); unassign them first")
    await store.write_atomically(
        [("MATCH (c:Cluster {key: $key}) DETACH DELETE c", {"key": cluster_key(tenant, name)})]
    )


_LOCK_NODES = "UNWIND $nodes AS k MATCH (n:Node {key: k}) SET n.assigning = true"

_GUARDED_ASSIGN = """
UNWIND $nodes AS k
MATCH (n:Node {key: k})
WHERE n.state = 'available' AND NOT (n)<-[:MEMBER]-(:Cluster)
WITH collect(n) AS free
WITH free, 1 / CASE WHEN size(free) = size($nodes) THEN 1 ELSE 0 END AS all_still_free
MATCH (c:Cluster {key: $key})
UNWIND free AS n
CREATE (c)-[:MEMBER]->(n)
SET n.state = 'allocated'
REMOVE n.assigning
"""
"""The check and the write in one statement, after `_LOCK_NODES` in the same transaction: Neo4j reads
without locks, so writing to each node first makes the check see any assignment committed meanwhile
(a separate statement, so the planner cannot move the check before the lock). A node taken meanwhile
fails the whole transaction."""


async def assign_nodes(store: GraphStore, tenant: str, name: str, nodes: Sequence[str]) -> None:
    """Put available nodes into a tenant's cluster; all or none."""
    await _require(store, tenant, name)
    wanted = sorted(set(nodes))
    if not wanted:
        raise InvalidReference("no nodes given")
    rows = await store.read(
        "UNWIND $nodes AS k MATCH (n:Node {key: k}) OPTIONAL MATCH (n)<-[:MEMBER]-(c:Cluster) "
        "RETURN n.key AS node, n.state AS state, c.key AS cluster",
        {"nodes": wanted},
    )
    found = {row["node"]: row for row in rows}
    missing = [k for k in wanted if k not in found]
    if missing:
        raise NotFound(f"node(s) not found: {', '.join(missing[:5])}")
    busy = [k for k, row in found.items() if row["cluster"] is not None or row["state"] != "available"]
    if busy:
        raise InUse(f"node(s) not available: {', '.join(sorted(busy)[:5])}")
    try:
        await store.write_atomically(
            [(_LOCK_NODES, {"nodes": wanted}), (_GUARDED_ASSIGN, {"key": cluster_key(tenant, name), "nodes": wanted})]
        )
    except Exception as e:
        if "by zero" in str(e).lower():
            raise InUse("a node was taken by another request meanwhile; nothing was assigned") from None
        raise


async def unassign_nodes(store: GraphStore, tenant: str, name: str, nodes: Sequence[str]) -> None:
    """Take nodes out of a cluster; they go to `sanitizing`, never straight back to `available`."""
    await _require(store, tenant, name)
    key = cluster_key(tenant, name)
    rows = await store.read(
        "UNWIND $nodes AS k MATCH (:Cluster {key: $key})-[:MEMBER]->(n:Node {key: k}) RETURN n.key AS node",
        {"key": key, "nodes": sorted(set(nodes))},
    )
    members = {row["node"] for row in rows}
    strangers = sorted(set(nodes) - members)
    if strangers:
        raise NotFound(f"node(s) not in cluster {name!r}: {', '.join(strangers[:5])}")
    await store.write_atomically(
        [
            (
                "UNWIND $nodes AS k MATCH (:Cluster {key: $key})-[m:MEMBER]->(n:Node {key: k}) "
                "DELETE m SET n.state = 'sanitizing'",
                {"key": key, "nodes": sorted(members)},
            )
        ]
    )
