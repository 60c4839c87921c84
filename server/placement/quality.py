"""What a placement is like: hop diameter, bottleneck bandwidth, and the fragmentation it leaves.

- Hop diameter: the most cables on the shortest backend path between two of the nodes (see hops.py);
  0 for one node, None when a node has no cabled backend NIC or two nodes are not connected.
- Bottleneck: the slowest cable a path between two of the nodes may cross: every node's backend NIC
  cables, and, when the nodes span leaf domains, the uplinks of their leaves (and of the spines
  above them when paths go through a core). It is a per-flow figure, not bisection bandwidth.
- Fragmentation, per level: the share of the free nodes (available, in no cluster) that sit in
  domains of that level which are not wholly free. 0 means every free node is in a domain that can
  be handed out whole; 1 that no domain of that level is wholly free. Measured after the plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from .hops import diameter, path_switches
from .index import PlacementIndex
from .spec import OUTER_FIRST, Level


def hop_diameter(index: PlacementIndex, nodes: Sequence[int]) -> int | None:
    t = index.topology
    return diameter(t, dict(Counter(int(t.dom[2][i]) for i in nodes)))


def bottleneck_gbps(index: PlacementIndex, nodes: Sequence[int], hops: int | None) -> float | None:
    t = index.topology
    if not nodes or hops is None:
        return None
    speeds = [float(t.backend_gbps[i]) for i in nodes]
    if hops > 2:
        leaves = {int(t.dom[2][i]) for i in nodes}
        for s in path_switches(t, leaves, max(0, (hops - 4) // 2)):
            if s in t.uplink_gbps:
                speeds.append(t.uplink_gbps[s])
    return min(speeds)


def fragmentation(index: PlacementIndex, taken: Sequence[int] = ()) -> dict[Level, float]:
    t = index.topology
    free = index.occupancy.free.copy()
    free[list(taken)] = False
    total_free = int(free.sum())
    out: dict[Level, float] = {}
    for depth, level in enumerate(OUTER_FIRST):
        if total_free == 0:
            out[level] = 0.0
            continue
        per_domain = np.bincount(t.dom[depth][free], minlength=len(t.domain_names[depth]))
        partly = per_domain < t.total[depth]
        out[level] = round(float(per_domain[partly].sum()) / total_free, 4)
    return out
