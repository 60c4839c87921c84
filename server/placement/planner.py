"""`plan(index, spec)`: where a cluster should go, without side effects.

The objective, by mode (the level L is `spec.level`; depths count from the site, 0, inwards):

- `preferred` L: fewest spine pods, then fewest leaf domains, ... down to L (a cluster always lives
  in one site: sites share no backend fabric), then best fit (see solver.py);
- `required` L: every node (anchors included) in one domain of L; among those, fewest domains at
  each level inside L, then best fit, which picks the smallest domain that fits;
- `unconstrained`: one site, then best fit alone, which takes the most fragmented capacity first.

`max_hops` confines the plan to one domain whose nodes are all within that many hops of each
other (its diameter is measured on the switch graph, hops.py). `anchors` are nodes already in
the cluster: domains holding them cost nothing more at the count digits, they are never chosen,
and the reported domains, diameter and bandwidth cover anchors and new nodes together.
`spec.nodes`/`spec.gpus` is what to choose now. A size in GPUs takes nodes of one GPU count
(the largest that fits).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidReference
from ..topology.paths import natural
from .explain import funnel_line, hops_line, level_lines
from .filters import Eligibility, eligible
from .hops import within
from .index import DEPTH, PlacementIndex, Topology
from .quality import bottleneck_gbps, fragmentation, hop_diameter
from .solver import NVL_DEPTH, Solver, children
from .spec import OUTER_FIRST, ClusterSpec, Level, Mode

Root = tuple[int, int]
"""(depth, domain id) of a tree vertex."""


@dataclass(frozen=True)
class Plan:
    feasible: bool
    nodes: tuple[str, ...] = ()
    """The nodes to take, in name order (anchors not included)."""
    domains: dict[Level, tuple[str, ...]] = field(default_factory=dict)
    """Per level, the domains the cluster (anchors and new nodes) occupies."""
    hop_diameter: int | None = None
    bottleneck_gbps: float | None = None
    fragmentation: dict[Level, float] = field(default_factory=dict)
    """Of the free capacity left if the plan is carried out (see quality.py)."""
    explanations: tuple[str, ...] = ()
    """Why the request cannot be met: what each requirement left, then one line per level."""
    site: str | None = None


def plan(index: PlacementIndex, spec: ClusterSpec, *, anchors: Iterable[str] = (), exclude: Iterable[str] = ()) -> Plan:
    t = index.topology
    anchor_pos = []
    for name in dict.fromkeys(anchors):
        if name not in t.node_pos:
            raise InvalidReference(f"node {name!r} not found")
        anchor_pos.append(t.node_pos[name])
    removed = anchor_pos + [t.node_pos[x] for x in exclude if x in t.node_pos]
    el = eligible(index, spec, removed)
    if spec.nodes is not None:
        return _plan(index, spec, el, el.mask, spec.nodes, anchor_pos)
    assert spec.gpus is not None
    sizes = sorted({int(g) for g in t.gpu_count[el.mask]}, reverse=True)
    first: Plan | None = None
    for g in sizes:
        mask = el.mask & (t.gpu_count == g)
        funnel = (*el.funnel, (f"with {g} GPUs (one size per cluster)", int(mask.sum()))) if len(sizes) > 1 else ()
        attempt = _plan(
            index, spec, Eligibility(mask, el.site_ok, funnel or el.funnel), mask, -(-spec.gpus // g), anchor_pos
        )
        if attempt.feasible:
            return attempt
        first = first or attempt
    if first is not None:
        return first
    g = spec.gpus_per_node or int(t.gpu_count.max(initial=1)) or 1
    return _plan(index, spec, el, el.mask, math.ceil(spec.gpus / g), anchor_pos)


def _counted(spec: ClusterSpec) -> set[int]:
    if spec.mode == Mode.UNCONSTRAINED:
        return set()
    if spec.mode == Mode.REQUIRED:
        return set(range(1, NVL_DEPTH + 1))
    return set(range(1, DEPTH[spec.level] + 1))


def _plan(
    index: PlacementIndex, spec: ClusterSpec, el: Eligibility, mask: np.ndarray, n: int, anchors: list[int]
) -> Plan:
    t = index.topology
    problems: list[str] = []
    allowed = el.site_ok.copy()
    if anchors:
        sites = sorted({int(s) for s in t.dom[0][anchors]})
        if len(sites) > 1:
            names = ", ".join(t.domain_names[0][s] for s in sites)
            problems.append(f"the cluster's nodes already span {len(sites)} sites ({names})")
        keep = np.zeros_like(allowed)
        keep[sites[0]] = len(sites) == 1 and bool(allowed[sites[0]])
        allowed = keep
    solver = Solver(t, mask & allowed[t.dom[0]], anchors, n, _counted(spec))
    base: list[Root] = [(0, int(s)) for s in np.flatnonzero(allowed)]
    if spec.max_hops is not None:
        base = [c for root in base for c in containers(t, root, spec.max_hops)]
    roots = base
    if spec.mode == Mode.REQUIRED:
        target = DEPTH[spec.level]
        roots = [r for root in base for r in _descend(t, root, target)]
    if anchors:
        inside = [r for r in roots if bool(np.all(t.dom[r[0]][anchors] == r[1]))]
        if roots and not inside:
            where = "one domain" if spec.max_hops is None else f"one domain within {spec.max_hops} hops"
            problems.append(f"the cluster's nodes are not all in {where} of level {spec.level.value}")
        roots = inside
    best: tuple[int, Root] | None = None
    for root in roots:
        if solver.cap[root[0]][root[1]] >= n:
            cost = solver.single(*root) + _ancestors_cost(solver, root)
            if best is None or (cost, root) < best:
                best = (cost, root)
    if best is None:
        lines = [funnel_line(el.funnel), *problems]
        if spec.max_hops is not None:
            lines.append(hops_line(t, base, solver.cap, n, spec.max_hops))
        depths = [0] if spec.mode == Mode.UNCONSTRAINED else list(range(DEPTH[spec.level] + 1))
        lines += level_lines(t, solver.cap, allowed, n, depths, spec)
        return Plan(False, fragmentation=fragmentation(index), explanations=tuple(lines))
    depth, root = best[1]
    chosen = sorted(solver.take(depth, root, n, True))
    cluster = sorted(anchors + chosen)
    hops = hop_diameter(index, cluster)
    return Plan(
        feasible=True,
        nodes=tuple(t.node_names[i] for i in chosen),
        domains={level: _names(t, d, cluster) for d, level in enumerate(OUTER_FIRST)},
        hop_diameter=hops,
        bottleneck_gbps=bottleneck_gbps(index, cluster, hops),
        fragmentation=fragmentation(index, chosen),
        site=t.domain_names[0][int(t.dom[0][chosen[0]])],
    )


def _names(t: Topology, depth: int, nodes: Sequence[int]) -> tuple[str, ...]:
    return tuple(sorted({t.domain_names[depth][int(d)] for d in t.dom[depth][nodes]}, key=natural))


def _ancestors_cost(solver: Solver, root: Root) -> int:
    """What the domains above a root add when all n nodes go into it."""
    depth, v = root
    cost = 0
    for d in range(depth - 1, -1, -1):
        v = int(solver.t.parent[d + 1][v])
        if d in solver.counted and not solver.anchored[d][v]:
            cost += solver.count_w[d]
        cost += (int(solver.cap[d][v]) - solver.n) * solver.waste_w
    return cost


def _descend(t: Topology, root: Root, target: int) -> list[Root]:
    """The domains of depth `target` inside root (or root itself when it is that deep or deeper)."""
    depth, v = root
    if depth >= target:
        return [root]
    ids = np.array([v])
    for d in range(depth, target):
        ids = np.concatenate([children(t, d)[int(i)] for i in ids]) if len(ids) else ids
    return [(target, int(i)) for i in ids]


def containers(t: Topology, root: Root, max_hops: int) -> list[Root]:
    """The largest domains inside `root` whose nodes (all of them, free or not) are within max_hops."""
    key = ("containers", root, max_hops)
    found = t.memo.get(key)
    if found is not None:
        return list(found)
    out: list[Root] = []

    def visit(depth: int, v: int) -> None:
        if depth == NVL_DEPTH:
            leaves = [int(t.parent[3][v])]
            sizes = [int(t.total[3][v])]
        else:
            leaves = [x for _, x in _descend(t, (depth, v), 2)]
            sizes = [int(t.total[2][x]) for x in leaves]
        if within(t, leaves, sizes, max_hops):
            out.append((depth, v))
        elif depth < NVL_DEPTH:
            for c in children(t, depth)[v]:
                visit(depth + 1, int(c))

    visit(*root)
    t.memo[key] = tuple(out)
    return out
