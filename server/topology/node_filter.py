"""Which nodes a node filter selects, as a `Selection` over `(n:Node)`."""

from __future__ import annotations

from dataclasses import dataclass

from .pages import Selection


@dataclass(frozen=True)
class NodeFilter:
    site: str | None = None
    rack: str | None = None
    state: str | None = None
    health: str | None = None
    gpu_model: str | None = None
    min_gpu_count: int | None = None
    min_memory_gb: float | None = None
    min_cpu_cores: int | None = None
    name_prefix: str | None = None


def node_selection(f: NodeFilter) -> Selection:
    sel = (
        Selection("Node")
        .equals("rack", f.rack)
        .equals("state", f.state)
        .equals("health", f.health)
        .at_least("memory_gb", f.min_memory_gb)
        .at_least("cpu_cores", f.min_cpu_cores)
        .starts_with("name", f.name_prefix)
    )
    carried: list[str] = []
    if f.site is not None:
        sel.prefix += (
            "OPTIONAL MATCH (:Site {key: $site})-[:HAS_RACK]->(site_rack:Rack) "
            "WITH collect(site_rack.key) AS site_racks "
        )
        sel.params["site"] = f.site
        sel.where.append("n.rack IN site_racks")
        carried.append("site_racks")
    if f.gpu_model is not None or (f.min_gpu_count or 0) > 0:
        model_test = "WHERE g.model = $gpu_model " if f.gpu_model is not None else ""
        keep = "".join(f"{c}, " for c in carried)
        sel.prefix += (
            f"OPTIONAL MATCH (g:GPU) {model_test}WITH {keep}g.node AS gpu_node, count(g) AS gpus "
            f"WHERE gpus >= $min_gpus WITH {keep}collect(gpu_node) AS gpu_nodes "
        )
        sel.params["gpu_model"] = f.gpu_model
        sel.params["min_gpus"] = max(f.min_gpu_count or 1, 1)
        sel.where.append("n.key IN gpu_nodes")
    return sel
