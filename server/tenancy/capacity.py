"""Aggregate free capacity of the pool: what any tenant may know, as counts per topology domain."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.base import GraphStore

_FREE = """
MATCH (n:Node {state: 'available'}) WHERE NOT (n)<-[:MEMBER]-(:Cluster)
OPTIONAL MATCH (n)-[:HAS_GPU]->(g:GPU)
WITH n, collect(g.model) AS models
OPTIONAL MATCH (site:Site)-[:HAS_RACK]->(:Rack {key: n.rack})
OPTIONAL MATCH (n)-[:HAS_NIC]->(:NIC {role: 'backend'})-[:CABLED]->(:Port)<-[:HAS_PORT]-(sw:Switch)
WITH n, models, site.key AS site, collect(sw.pod) AS pods
RETURN coalesce(site, '') AS site, coalesce(head(pods), '') AS pod, coalesce(head(models), '') AS model,
       count(n) AS nodes, sum(size(models)) AS gpus
"""


@dataclass(frozen=True)
class Capacity:
    site: str
    pod: str
    gpu_model: str
    free_nodes: int
    free_gpus: int


async def free_capacity(store: GraphStore) -> list[Capacity]:
    rows = await store.read(_FREE)
    found = [Capacity(r["site"], r["pod"], r["model"], int(r["nodes"]), int(r["gpus"])) for r in rows]
    return sorted(found, key=lambda c: (c.site, c.pod, c.gpu_model))
