"""Why a request cannot be met, in words: what each requirement left, then one line per level.

    12,500 nodes: 6,250 free (available, in no cluster), 6,190 healthy (health ok), 6,190 with GPU model H100
    site moc-mghpcc could hold it across 3 spine pods
    spine pod pod-02 could hold it across 2 leaf domains
    no leaf domain has 16 eligible H100 nodes: best is leaf-p02-su07 with 11

Names of infrastructure appear as they are; the API layer redacts them for tenants.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .index import Topology
from .solver import children
from .spec import OUTER_FIRST, ClusterSpec, Level

NOUN = {
    Level.SITE: ("site", "sites"),
    Level.SPINE_POD: ("spine pod", "spine pods"),
    Level.LEAF: ("leaf domain", "leaf domains"),
    Level.NVLINK_DOMAIN: ("NVLink domain", "NVLink domains"),
}


def funnel_line(funnel: Sequence[tuple[str, int]]) -> str:
    (_, total), *steps = funnel
    return f"{total:,} nodes: " + ", ".join(f"{count:,} {label}" for label, count in steps)


def site_of(t: Topology, depth: int) -> np.ndarray:
    """Per domain of `depth`, the id of its site."""
    ids = np.arange(len(t.domain_names[depth]))
    for d in range(depth, 0, -1):
        ids = t.parent[d][ids]
    return ids


def nodes_noun(spec: ClusterSpec) -> str:
    return f"eligible {spec.gpu_model} nodes" if spec.gpu_model else "eligible nodes"


def level_lines(
    t: Topology, cap: Sequence[np.ndarray], allowed: np.ndarray, n: int, depths: Sequence[int], spec: ClusterSpec
) -> list[str]:
    """One line per depth: the best domain of the allowed domains, and whether (and how) it could hold n."""
    lines = []
    for depth in depths:
        level = OUTER_FIRST[depth]
        noun = NOUN[level][0]
        ids = np.flatnonzero(allowed[site_of(t, depth)]) if depth else np.flatnonzero(allowed)
        if len(ids) == 0:
            lines.append(f"no {noun} meets the site constraints")
            continue
        best = int(ids[np.argmax(cap[depth][ids])])
        name, have = t.domain_names[depth][best], int(cap[depth][best])
        if have < n:
            lines.append(f"no {noun} has {n:,} {nodes_noun(spec)}: best is {name} with {have:,}")
        elif depth == len(OUTER_FIRST) - 1:
            lines.append(f"{noun} {name} has {have:,} {nodes_noun(spec)}")
        else:
            parts = sorted((int(cap[depth + 1][c]) for c in children(t, depth)[best]), reverse=True)
            k = int(np.searchsorted(np.cumsum(parts), n)) + 1
            inner = NOUN[OUTER_FIRST[depth + 1]]
            lines.append(
                f"{noun} {name} could hold it " + (f"in one {inner[0]}" if k == 1 else f"across {k} {inner[1]}")
            )
    return lines


def hops_line(t: Topology, containers: Sequence[tuple[int, int]], cap: Sequence[np.ndarray], n: int, h: int) -> str:
    if not containers:
        return f"no group of nodes is within {h} hops of each other"
    depth, best = max(containers, key=lambda c: (int(cap[c[0]][c[1]]), -c[0], -c[1]))
    noun = NOUN[OUTER_FIRST[depth]][0]
    return (
        f"no domain whose nodes are all within {h} hops has {n:,} eligible nodes: "
        f"best is {noun} {t.domain_names[depth][best]} with {int(cap[depth][best]):,}"
    )
