"""Resizing a ready cluster: grow prefers the leaf domains it already uses, shrink gives the given
(or the outermost) nodes to sanitization while the rest stays ready, and a replaced node is swapped
for the closest healthy free node.

The main site has two leaf domains (scalable units): `su01` (32 nodes) and `su02` (28). Nodes are
kept out of a plan by putting them in `maintenance` straight in the store for a moment.
"""

from __future__ import annotations

from collections.abc import Iterable

from metalgraph.drivers.types import PowerState
from metalgraph.server.lifecycle.events import ClusterEvent
from metalgraph.server.lifecycle.records import ClusterRecord
from metalgraph.server.lifecycle.states import ClusterState
from metalgraph.server.placement.spec import ClusterSpec, Level

from .conftest import Lab
from .invariants import node_states

SITE = "moc-mghpcc"


def spec(nodes: int) -> ClusterSpec:
    return ClusterSpec(nodes=nodes, sites=(SITE,))


async def domains(lab: Lab, nodes: Iterable[str]) -> dict[str, str]:
    index = await lab.lifecycle.ctx.placement.index()
    return {n: index.domain_of(n, Level.LEAF) or "" for n in nodes}


async def set_aside(lab: Lab, keep_free: dict[str, int]) -> list[str]:
    """Put in maintenance every free node of the main site except `keep_free[su]` per leaf domain;
    returns them (see `give_back`)."""
    index = await lab.lifecycle.ctx.placement.index()
    rows = await lab.store.read(
        "MATCH (n:Node {state: 'available'}) WHERE NOT n.key STARTS WITH 'fra-' RETURN n.key AS node ORDER BY node"
    )
    kept: dict[str, int] = {}
    aside = []
    for row in rows:
        su = (index.domain_of(row["node"], Level.LEAF) or "").rsplit("-", 1)[-1]
        if kept.get(su, 0) < keep_free.get(su, 0):
            kept[su] = kept.get(su, 0) + 1
        else:
            aside.append(row["node"])
    await lab.store.write_atomically(
        [("UNWIND $nodes AS k MATCH (n:Node {key: k}) SET n.state = 'maintenance'", {"nodes": aside})]
    )
    lab.lifecycle.ctx.placement.invalidate()
    return aside


async def give_back(lab: Lab, nodes: list[str]) -> None:
    await lab.store.write_atomically(
        [("UNWIND $nodes AS k MATCH (n:Node {key: k}) SET n.state = 'available'", {"nodes": nodes})]
    )
    lab.lifecycle.ctx.placement.invalidate()


async def ready(lab: Lab, name: str) -> ClusterRecord:
    record = await lab.settle("acme", name)
    assert record.state is ClusterState.READY, record.reason
    return record


async def erased(lab: Lab, node: str) -> bool:
    return any(j.polls >= j.steps for j in lab.lab.node(node).jobs.values())


async def test_grow_prefers_the_leaf_domain_the_cluster_uses(lab: Lab) -> None:
    aside = await set_aside(lab, {"su01": 2})
    await lab.lifecycle.create(lab.store, "acme", "grow", spec(2))
    small = await ready(lab, "grow")
    await give_back(lab, aside)
    (home,) = set((await domains(lab, small.members)).values())
    assert home.endswith("su01")
    fresh = await lab.lifecycle.plan(spec(2))
    assert fresh.feasible and fresh.domains[Level.LEAF] != (home,), "without anchors another domain would be chosen"

    await lab.lifecycle.grow(lab.store, "acme", "grow", 2)
    grown = await ready(lab, "grow")
    assert set(small.members) < set(grown.members) and len(grown.members) == 4
    assert set((await domains(lab, grown.members)).values()) == {home}
    kinds = await lab.kinds("acme", "grow")
    assert kinds[kinds.index("grow") :][:2] == ["grow", "reserved"] and kinds[-1] == "ready"
    for node in grown.members:
        assert lab.lab.node(node).power is PowerState.ON
    await lab.check()


async def test_shrink_releases_the_given_or_the_outermost_nodes_and_stays_ready(lab: Lab) -> None:
    aside = await set_aside(lab, {"su01": 3, "su02": 1})  # 4 nodes can only be 3 + 1
    await lab.lifecycle.create(lab.store, "acme", "wide", spec(4))
    wide = await ready(lab, "wide")
    await give_back(lab, aside)
    where = await domains(lab, wide.members)
    (lonely,) = [n for n, d in where.items() if d.endswith("su02")]

    await lab.lifecycle.shrink(lab.store, "acme", "wide", count=1)
    shrunk = await ready(lab, "wide")
    assert lonely not in shrunk.members and len(shrunk.members) == 3
    assert shrunk.vlan == wide.vlan
    await lab.check()  # waits for the sanitization too
    assert await node_states(lab.store, [lonely]) == {lonely: ("available", None)}
    assert await erased(lab, lonely)
    for node in shrunk.members:
        assert lab.lab.node(node).boots == 1, "the nodes that stay are not touched"

    given = shrunk.members[0]
    await lab.lifecycle.shrink(lab.store, "acme", "wide", nodes=[given])
    again = await ready(lab, "wide")
    assert set(again.members) == set(shrunk.members) - {given}
    events = await lab.lifecycle.events("acme", "wide")
    assert any(e.kind == "detached" and "1 node(s) released to sanitization" in e.message for e in events)
    assert {e.state for e in events if e.seq > first_ready(events)} == {ClusterState.RESIZING, ClusterState.READY}
    await lab.check()
    assert await erased(lab, given)


def first_ready(events: list[ClusterEvent]) -> int:
    """The seq of the first `ready` event: after it the cluster is only ever resizing or ready."""
    return next(e.seq for e in events if e.kind == "ready")


async def test_replace_node_takes_the_closest_free_node(lab: Lab) -> None:
    aside = await set_aside(lab, {"su02": 3})
    await lab.lifecycle.create(lab.store, "acme", "swap", spec(3))
    before = await ready(lab, "swap")
    await give_back(lab, aside)
    (home,) = set((await domains(lab, before.members)).values())
    old = before.members[1]

    await lab.lifecycle.replace_node(lab.store, "acme", "swap", old)
    after = await ready(lab, "swap")
    (new,) = set(after.members) - set(before.members)
    assert old not in after.members and len(after.members) == 3
    assert (await domains(lab, [new]))[new] == home
    assert lab.lab.node(new).power is PowerState.ON
    kinds = await lab.kinds("acme", "swap")
    after_request = kinds[kinds.index("replace") :]
    steps = [k for k in after_request if k in ("reserved", "power", "detached", "ready")]
    assert steps[0] == "reserved" and steps[-2:] == ["detached", "ready"], after_request
    assert steps.index("detached") > max(i for i, k in enumerate(steps) if k == "power"), (
        "new node up before the old goes"
    )
    await lab.check()
    assert await node_states(lab.store, [old]) == {old: ("available", None)}
    assert await erased(lab, old)
