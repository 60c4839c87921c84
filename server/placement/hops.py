"""Hop counts between leaf domains, from the switch graph (never from names).

As in `topology.paths`, a hop is a cable: two nodes whose backend NICs reach a common switch are
2 hops apart (NIC-leaf-NIC), through a spine 4, through a core 6. Between leaf domains A and B it
is `2 + d` where `d` is the fewest switch-to-switch cables from a switch of A to one of B.

`d <= 2k` exactly when the balls of radius k around A and B meet, and `d <= 2k + 1` when the
radius-k ball of one meets the radius-(k+1) ball of the other; balls are bitmasks over switch ids,
grown on demand and kept in the topology's memo, so a distance costs a few big-integer ANDs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .index import Topology

MAX_SWITCH_LINKS = 16


def _neighbour_masks(t: Topology) -> list[int]:
    masks = t.memo.get("nbr")
    if masks is None:
        masks = [sum(1 << j for j in adj) for adj in t.adjacency]
        t.memo["nbr"] = masks
    return masks


def _ball(t: Topology, leaf: int, radius: int) -> int:
    """Switches within `radius` switch-to-switch cables of leaf domain `leaf`, as a bitmask."""
    key = ("ball", leaf)
    balls = t.memo.get(key)
    if balls is None:
        start = t.leaf_switches[leaf]
        balls = ([sum(1 << s for s in start)], set(start), set(start))  # masks by radius, visited, frontier
        t.memo[key] = balls
    masks, visited, frontier = balls
    nbr = _neighbour_masks(t)
    while len(masks) <= radius:
        grown, nxt = masks[-1], set()
        for s in frontier:
            grown |= nbr[s]
            nxt |= t.adjacency[s]
        nxt -= visited
        visited |= nxt
        frontier.clear()
        frontier |= nxt
        masks.append(grown)
    return int(masks[radius])


def leaf_distance(t: Topology, a: int, b: int, limit: int = MAX_SWITCH_LINKS) -> int | None:
    """Fewest switch-to-switch cables between leaf domains `a` and `b` (None: none within `limit`)."""
    if not t.leaf_switches[a] or not t.leaf_switches[b]:
        return None
    if a == b:
        return 0
    key = ("dist", min(a, b), max(a, b))
    known = t.memo.get(key)
    if known is not None and (known[0] is not None or known[1] >= limit):
        return known[0] if known[0] is None or known[0] <= limit else None
    for d in range(limit + 1):
        if _ball(t, a, (d + 1) // 2) & _ball(t, b, d // 2):
            t.memo[key] = (d, d)
            return d
    t.memo[key] = (None, limit)
    return None


def hop_count(t: Topology, a: int, b: int, limit: int = MAX_SWITCH_LINKS) -> int | None:
    """Cables between a node of leaf domain `a` and another of leaf domain `b`."""
    d = leaf_distance(t, a, b, limit)
    return None if d is None else d + 2


def diameter(t: Topology, leaf_nodes: dict[int, int]) -> int | None:
    """Most hops between two of the nodes, given as {leaf domain: node count}; None if one is cut off."""
    leaves = sorted(leaf_nodes)
    if sum(leaf_nodes.values()) <= 1:
        return 0
    worst = 0
    for i, a in enumerate(leaves):
        if not t.leaf_switches[a]:
            return None
        if leaf_nodes[a] > 1:
            worst = max(worst, 2)
        for b in leaves[i + 1 :]:
            h = hop_count(t, a, b)
            if h is None:
                return None
            worst = max(worst, h)
    return worst


def within(t: Topology, leaves: Sequence[int], sizes: Iterable[int], max_hops: int) -> bool:
    """Whether every two nodes of these leaf domains (with these node counts) are at most `max_hops` apart."""
    sizes = list(sizes)
    if sum(sizes) <= 1:
        return True
    if any(not t.leaf_switches[a] for a in leaves):
        return False
    limit = max_hops - 2  # switch-to-switch cables allowed
    if limit < 0:
        return False
    if limit > MAX_SWITCH_LINKS:
        limit = MAX_SWITCH_LINKS
    # distance <= limit exactly when the balls of radius ceil(limit/2) and floor(limit/2) meet
    for i, a in enumerate(leaves):
        ball_a = _ball(t, a, (limit + 1) // 2)
        for b in leaves[i + 1 :]:
            if a != b and not ball_a & _ball(t, b, limit // 2):
                return False
    return True


def path_switches(t: Topology, leaves: Iterable[int], tiers: int) -> set[int]:
    """The leaves' switches and `tiers` levels of uplink peers above them: where paths between them run."""
    current = set().union(*(t.leaf_switches[a] for a in leaves)) if leaves else set()
    out = set(current)
    names = t.switch_names
    ids = t.memo.get("switch_id")
    if ids is None:
        ids = t.memo["switch_id"] = {name: i for i, name in enumerate(names)}
    for _ in range(tiers):
        up: set[int] = set()
        for s in current:
            for _port, peer, _peer_port in t.uplink_table.get(names[s], ()):
                up.add(ids[peer])
        out |= up
        current = up
    return out
