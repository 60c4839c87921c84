"""A cluster from request to ready and back: nodes reserved, isolated in their VLAN, booted, released."""

from __future__ import annotations

import asyncio

from metalgraph.drivers.types import PowerState
from metalgraph.server.lifecycle.states import ClusterState
from metalgraph.server.placement.spec import ClusterSpec

from .conftest import Lab


async def test_a_cluster_is_provisioned_isolated_and_released(lab: Lab) -> None:
    spec = ClusterSpec(nodes=4)
    await lab.lifecycle.create(lab.store, "acme", "train", spec)
    record = await lab.settle("acme", "train")
    assert record.state is ClusterState.READY, record.reason
    assert len(record.members) == 4
    assert record.vlan is not None
    events = await lab.lifecycle.events("acme", "train")
    kinds = [e.kind for e in events]
    assert kinds[0] == "requested" and kinds[-1] == "ready"
    assert {"reserved", "network", "power"} <= set(kinds)
    for node in record.members:
        assert lab.lab.node(node).power is PowerState.ON

    await lab.lifecycle.release(lab.store, "acme", "train")
    released = await lab.settle("acme", "train")
    assert released.state is ClusterState.RELEASED
    rows = await lab.store.read(
        "UNWIND $nodes AS k MATCH (n:Node {key: k}) RETURN n.state AS state", {"nodes": list(record.members)}
    )
    assert [r["state"] for r in rows] == ["available"] * 4
    await lab.check()


async def test_a_started_lifecycle_loads_the_placement_index_before_the_first_plan(lab: Lab) -> None:
    placement = lab.lifecycle.ctx.placement
    async with asyncio.timeout(30):
        while placement.topology_loads == 0:
            await asyncio.sleep(0.02)
    await lab.lifecycle.plan(ClusterSpec(nodes=2))
    assert placement.topology_loads == 1, "the first plan used the index loaded at start"
