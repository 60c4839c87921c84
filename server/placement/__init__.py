"""Topology-aware placement: where a cluster of GPU nodes should go, and why not when it cannot.

    index = await PlacementCache(store).index()        # or index_from_inventory(inventory)
    result = plan(index, ClusterSpec(nodes=16, gpu_model="H100", level="leaf", mode="required"))

Modules, one concept each: `spec` (the request), `index`/`build`/`loader`/`cache` (the in-memory
snapshot of the graph), `filters` (eligible nodes), `solver` (the exact optimiser), `planner`
(`plan`), `hops`/`quality` (diameter, bandwidth, fragmentation), `explain` (infeasibility).
"""

from .cache import PlacementCache
from .index import PlacementIndex, SiteInfo, SwitchInfo
from .loader import index_from_inventory, load_index
from .planner import Plan, plan
from .spec import ClusterSpec, Level, Mode

__all__ = [
    "ClusterSpec",
    "Level",
    "Mode",
    "PlacementCache",
    "PlacementIndex",
    "Plan",
    "SiteInfo",
    "SwitchInfo",
    "index_from_inventory",
    "load_index",
    "plan",
]
