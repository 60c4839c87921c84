"""A released cluster's nodes reach no other tenant before their erase job is done.

acme's cluster holds the 4 nodes of the small EU site. It is released with slow erase jobs
(finishing one after another), while bravo keeps asking for 1-node clusters in that site. A
watcher checks, throughout, that no node of acme's cluster is in a bravo cluster unless acme's
events already say it was sanitized; afterwards each bravo reservation is compared with the
`sanitized` event of its node, and the simulated BMC shows a completed erase job.
"""

from __future__ import annotations

import asyncio

from metalgraph.server.lifecycle.records import cluster_key, read_cluster
from metalgraph.server.lifecycle.reserve import CannotPlace
from metalgraph.server.lifecycle.states import ClusterState
from metalgraph.server.placement.spec import ClusterSpec

from .conftest import Lab
from .invariants import settle_all

SITE = "eu-fra1"
ERASE_POLLS = (10, 25, 40, 55)
"""Polls each node's erase job takes (the sanitizer polls every 20 ms here)."""


async def _sanitized(lab: Lab) -> dict[str, str]:
    """Node -> when acme's events say it was sanitized."""
    return {e.message.split()[1]: e.at for e in await lab.lifecycle.events("acme", "first") if e.kind == "sanitized"}


async def _watch(lab: Lab, nodes: tuple[str, ...], breaches: list[str], stop: asyncio.Event) -> None:
    query = """
    UNWIND $nodes AS k MATCH (c:Cluster)-[:MEMBER]->(n:Node {key: k}) WHERE c.tenant <> 'acme'
    RETURN n.key AS node, c.key AS cluster
    """
    while not stop.is_set():
        taken = await lab.store.read(query, {"nodes": list(nodes)})
        done = await _sanitized(lab)  # read after the memberships: a later sanitized event cannot excuse them
        breaches += [f"{r['node']} in {r['cluster']} before it was sanitized" for r in taken if r["node"] not in done]
        await asyncio.sleep(0.01)


async def _take_one(lab: Lab, name: str, deadline: float) -> tuple[str, str]:
    """bravo asks for a 1-node cluster in the site until one is ready; its node and when it was reserved."""
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        try:
            await lab.lifecycle.create(lab.store, "bravo", name, ClusterSpec(nodes=1, sites=(SITE,)))
        except CannotPlace:
            await asyncio.sleep(0.02)
            continue
        record = await lab.settle("bravo", name)
        if record.state is ClusterState.READY:
            reserved = next(e for e in await lab.lifecycle.events("bravo", name) if e.kind == "reserved")
            return record.members[0], reserved.at
        await lab.lifecycle.delete(lab.store, "bravo", name)  # lost the race for the node: ask again
    raise AssertionError(f"bravo never got a node for {name}")


async def test_released_nodes_reach_the_next_tenant_only_after_sanitization(lab: Lab) -> None:
    await lab.lifecycle.create(lab.store, "acme", "first", ClusterSpec(nodes=4, sites=(SITE,)))
    first = await lab.settle("acme", "first")
    assert first.state is ClusterState.READY, first.reason
    for node, polls in zip(first.members, ERASE_POLLS, strict=True):
        lab.lab.node(node).cleaning_steps = polls

    breaches: list[str] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch(lab, first.members, breaches, stop))
    await lab.lifecycle.release(lab.store, "acme", "first")
    deadline = asyncio.get_running_loop().time() + 60
    taken = [await _take_one(lab, f"b{i}", deadline) for i in range(len(first.members))]
    stop.set()
    await watcher

    assert not breaches, breaches
    sanitized = await _sanitized(lab)
    assert {node for node, _ in taken} == set(first.members)
    for node, reserved_at in taken:
        assert sanitized[node] <= reserved_at, f"{node} reserved at {reserved_at}, sanitized at {sanitized[node]}"
        jobs = lab.lab.node(node).jobs.values()
        assert any(j.polls >= j.steps and not j.fails for j in jobs), f"{node} has no completed erase job"
    assert len(set(sanitized.values())) > 1, "the erase jobs finished one after another"
    await settle_all(lab.store)
    released = await read_cluster(lab.store, cluster_key("acme", "first"))
    assert released is not None and released.state is ClusterState.RELEASED
    await lab.check()
