"""The exact placement optimiser: a dynamic programme over the domain tree.

For a domain v and j = 0..min(free, n), `f_v[j]` is the least cost of placing j nodes inside v.
A cost is a vector compared lexicographically and encoded as one integer, most significant first:

- for each *counted* depth (outermost first): the domains of that depth the placement uses that
  hold no anchor yet;
- waste: the eligible capacity left unused in every domain (of any depth) that the placement
  touches or an anchor already occupies. Smaller waste is best fit: fill domains the plan uses,
  leave whole free domains intact.

Children combine by min-plus convolution (numpy, one vectorised step per child); a leaf domain's
single-node NVLink domains are all alike and combine in closed form. When the children's depth is
counted and one child can take all n nodes, one child is optimal (one domain beats two at a more
significant digit), so only `f_child[n]` is needed: this keeps most plans from ever convolving.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .index import Topology

INF = np.int64(1 << 61)
BUDGET = 1 << 60
LEAF_DEPTH, NVL_DEPTH = 2, 3


_GRIDS: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _grid(size_a: int, size_b: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays of a min-plus step of these sizes (shapes repeat: many domains are alike)."""
    key = (size_a, size_b, k)
    grid = _GRIDS.get(key)
    if grid is None:
        i = np.arange(k)[:, None] - np.arange(size_b)[None, :]
        grid = (np.clip(i, 0, size_a - 1), (i < 0) | (i >= size_a), np.arange(k))
        if len(_GRIDS) > 4096:
            _GRIDS.clear()
        _GRIDS[key] = grid
    return grid


def minplus(a: np.ndarray, b: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """c[k] = min over j of a[k - j] + b[j] for k <= limit, and the j of each minimum (the first on ties)."""
    size_a, size_b = len(a), len(b)
    k = min(size_a + size_b - 1, limit + 1)
    index, invalid, rows = _grid(size_a, size_b, k)
    vals = a[index] + b
    vals[invalid] = INF
    choice = vals.argmin(axis=1)
    return vals[rows, choice], choice


def children(t: Topology, depth: int) -> list[np.ndarray]:
    """Per domain of `depth` (0..2), the ids of its child domains at depth + 1, in name order."""
    key = ("children", depth)
    found = t.memo.get(key)
    if found is None:
        parent = t.parent[depth + 1]
        order = np.argsort(parent, kind="stable")
        bounds = np.searchsorted(parent[order], np.arange(len(t.domain_names[depth]) + 1))
        found = [order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
        t.memo[key] = found
    return found


class Solver:
    """One plan's DP state: eligible capacity per domain, anchors, digit weights, memoised tables."""

    def __init__(self, t: Topology, mask: np.ndarray, anchors: Sequence[int], n: int, counted: set[int]) -> None:
        self.t, self.n = t, n
        self.mask = mask
        self.cap = [np.bincount(t.dom[d][mask], minlength=len(t.domain_names[d])) for d in range(4)]
        self.anchored = [np.zeros(len(t.domain_names[d]), dtype=bool) for d in range(4)]
        for d in range(4):
            self.anchored[d][t.dom[d][list(anchors)]] = True
        # digit weights, least significant first: waste, then counted depths from the innermost out
        waste_radix = 4 * int(mask.sum()) + 1
        self.count_w = {}
        w = waste_radix
        for d in sorted(counted, reverse=True):
            self.count_w[d] = w
            w *= min(n, len(t.domain_names[d])) + 1
        self.waste_w = 1
        if w >= BUDGET:  # absurdly large requests: give up the best-fit digit rather than overflow
            self.waste_w = 0
            w = 1
            for d in sorted(counted, reverse=True):
                self.count_w[d] = w
                w *= min(n, len(t.domain_names[d])) + 1
        self.counted = counted
        self.full_memo: dict[tuple[int, int], tuple[np.ndarray, object]] = {}
        self.single_memo: dict[tuple[int, int], tuple[int, tuple[int, bool] | None]] = {}
        self._members: tuple[np.ndarray, np.ndarray] | None = None

    def own(self, depth: int, v: int, size: int) -> np.ndarray:
        """The cost a domain adds by itself for j = 0..size-1 nodes placed in it (count digit and waste)."""
        cap = int(self.cap[depth][v])
        anchored = bool(self.anchored[depth][v])
        out = (cap - np.arange(size, dtype=np.int64)) * self.waste_w
        if depth in self.counted and not anchored:
            out += self.count_w[depth]
        if not anchored:
            out[0] = 0
        return out

    def own_at(self, depth: int, v: int, j: int) -> int:
        anchored = bool(self.anchored[depth][v])
        if j == 0 and not anchored:
            return 0
        count = self.count_w[depth] if depth in self.counted and not anchored else 0
        return count + (int(self.cap[depth][v]) - j) * self.waste_w

    def full(self, depth: int, v: int) -> np.ndarray:
        """f_v[0..min(cap, n)]."""
        key = (depth, v)
        if key in self.full_memo:
            return self.full_memo[key][0]
        recipe: object = None
        if depth == NVL_DEPTH:
            f = self.own(depth, v, min(int(self.cap[depth][v]), self.n) + 1)
        else:
            ch = children(self.t, depth)[v]
            ch = ch[self.cap[depth + 1][ch] > 0]
            acc = np.zeros(1, dtype=np.int64)
            group: list[int] = []
            if depth == LEAF_DEPTH:  # single-node NVLink domains without anchors: alike, closed form
                alike = (self.cap[3][ch] == 1) & ~self.anchored[3][ch]
                group = ch[alike].tolist()
                if group:
                    unit = self.own_at(3, group[0], 1)
                    acc = np.arange(min(len(group), self.n) + 1, dtype=np.int64) * unit
                ch = ch[~alike]
            kids = ch.tolist()
            steps = []
            for c in kids:
                acc, choice = minplus(acc, self.full(depth + 1, c), self.n)
                steps.append((c, choice))
            recipe = (group, steps)
            f = acc + self.own(depth, v, len(acc))
        self.full_memo[key] = (f, recipe)
        return f

    def single(self, depth: int, v: int) -> int:
        """f_v[n], without full tables where one child can hold everything."""
        key = (depth, v)
        if key in self.single_memo:
            return self.single_memo[key][0]
        n = self.n
        pick: tuple[int, bool] | None = None
        if depth < NVL_DEPTH and (depth + 1) in self.counted and not self.anchored[depth][v]:
            ch = children(self.t, depth)[v]
            kids = ch[self.cap[depth + 1][ch] >= n].tolist()
            if kids:
                best = min(kids, key=lambda c: (self.single(depth + 1, c), c))
                value = self.single(depth + 1, best) + self.own_at(depth, v, n)
                pick = (best, True)
                self.single_memo[key] = (value, pick)
                return value
        value = int(self.full(depth, v)[n])
        self.single_memo[key] = (value, None)
        return value

    def take(self, depth: int, v: int, j: int, single: bool) -> list[int]:
        """The nodes of an optimal placement of j nodes in v (after `single` or `full` computed it)."""
        if j == 0:
            return []
        if single:
            pick = self.single_memo[(depth, v)][1]
            if pick is not None:
                return self.take(depth + 1, pick[0], j, True)
        if depth == NVL_DEPTH:
            return [int(x) for x in self.members(v)[:j]]
        group, steps = self.full_memo[(depth, v)][1]  # type: ignore[misc]
        out: list[int] = []
        for c, choice in reversed(steps):
            k = int(choice[j])
            out += self.take(depth + 1, c, k, False)
            j -= k
        for c in group[:j]:
            out += self.take(3, c, 1, False)
        return out

    def members(self, nvl: int) -> np.ndarray:
        """Eligible nodes of an NVLink domain, in name order."""
        if self._members is None:
            nodes = np.flatnonzero(self.mask)
            doms = self.t.dom[3][nodes]
            order = np.argsort(doms, kind="stable")
            self._members = (nodes[order], doms[order])
        nodes, doms = self._members
        lo, hi = np.searchsorted(doms, [nvl, nvl + 1])
        return nodes[lo:hi]
