"""Device failures during a job end in a state with no orphan, and the tenant reads why.

Every cluster here lives in the small EU site (4 nodes, each cabled to the 8 rail leaves
`fra-leaf-p01-su01-r0..r7`), so the switches and BMCs a job touches are known in advance. Faults come
from the sim drivers (`drivers.sim.faults`): a switch refusing changes, a BMC slower than the device
timeout, a switch that dies half way through a job; and a step that fails with a bug rather than a fault.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from metalgraph.drivers.errors import ChangeRejected
from metalgraph.server.inventory.editing import set_node_status
from metalgraph.server.lifecycle import runner
from metalgraph.server.lifecycle.records import cluster_key, read_cluster
from metalgraph.server.lifecycle.states import ClusterState
from metalgraph.server.placement.spec import ClusterSpec
from metalgraph.server.store.base import GraphStore

from .conftest import Lab
from .invariants import node_states, used_vlans

sys.path.append(str(Path(__file__).parents[2] / "schema"))  # the API lab of the schema tests

from test_lifecycle_api import CREATE, TENANT, open_lab

SITE = "eu-fra1"
FRA_NODES = ("fra-gpu-0001", "fra-gpu-0002", "fra-gpu-0003", "fra-gpu-0004")


def fra(nodes: int) -> ClusterSpec:
    return ClusterSpec(nodes=nodes, sites=(SITE,))


def leaf(rail: int) -> str:
    return f"fra-leaf-p01-su01-r{rail}"


async def settled_nodes(lab: Lab, nodes: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """The nodes' states once none of them is being sanitized any more."""
    async with asyncio.timeout(30):
        while True:
            states = await node_states(lab.store, nodes)
            if all(state != "sanitizing" for state, _ in states.values()):
                return states
            await asyncio.sleep(0.05)


def erased(lab: Lab, node: str) -> bool:
    """Whether the node's simulated BMC finished an erase job."""
    return any(j.polls >= j.steps and not j.fails for j in lab.lab.node(node).jobs.values())


async def test_a_switch_refusing_the_change_rolls_the_cluster_back(lab: Lab) -> None:
    lab.lab.switch(leaf(3)).faults.reject_changes = True
    await lab.lifecycle.create(lab.store, "acme", "rejected", fra(2))
    record = await lab.settle("acme", "rejected")

    assert record.state is ClusterState.FAILED
    assert "refused the change" in record.reason and leaf(3) in record.reason
    assert not record.members and record.vlan is None
    events = await lab.lifecycle.events("acme", "rejected")
    kinds = [e.kind for e in events]
    assert kinds.index("failed") < kinds.index("detached") < kinds.index("rolled_back") == len(kinds) - 1
    assert "refused the change" in events[-1].message
    assert "back to the pool" in events[-2].message and "returned to the pool" in events[-2].message
    assert await node_states(lab.store, FRA_NODES) == {n: ("available", None) for n in FRA_NODES}
    assert not await used_vlans(lab.store)
    await lab.check()  # the switches that took the change have it undone: ports back on quarantine


async def test_a_bmc_timing_out_fails_its_node_and_frees_the_rest(lab: Lab) -> None:
    lab.lab.node("fra-gpu-0002").faults.latency_s = 5.0  # the device timeout is 1 s
    await lab.lifecycle.create(lab.store, "acme", "slow", fra(4))
    record = await lab.settle("acme", "slow")

    assert record.state is ClusterState.FAILED
    assert "could not be powered on" in record.reason and "fra-gpu-0002" in record.reason
    assert "did not finish within 1 s" in record.reason
    events = await lab.lifecycle.events("acme", "slow")
    rolled_back = next(e for e in events if e.kind == "rolled_back")
    assert "fra-gpu-0002" in rolled_back.message and rolled_back.state is ClusterState.FAILED
    detached = next(e for e in events if e.kind == "detached")
    assert "to sanitization" in detached.message, "the powered-on nodes may hold the tenant's data"
    states = await settled_nodes(lab, FRA_NODES)
    slow_state, slow_reason = states.pop("fra-gpu-0002")
    assert slow_state == "failed" and slow_reason and "sanitization failed" in slow_reason, "its erase cannot finish"
    assert states == {n: ("available", None) for n in FRA_NODES if n != "fra-gpu-0002"}
    for node in states:
        assert erased(lab, node), f"{node} reached the pool unerased"
    assert not await used_vlans(lab.store)
    await lab.check()


async def test_a_switch_dying_half_way_holds_the_vlan_until_it_answers_again(lab: Lab) -> None:
    dying = lab.lab.switch(leaf(5)).faults
    dying.die_after_calls = dying.calls + 3  # one read and two port changes, then nothing answers
    await lab.lifecycle.create(lab.store, "acme", "half", fra(2))
    record = await lab.settle("acme", "half")

    assert record.state is ClusterState.FAILED
    assert leaf(5) in record.reason and "no answer" in record.reason
    assert not record.members, "nodes whose ports cannot be confirmed leave the cluster as failed"
    assert record.vlan is not None, "the VLAN is held: the dead switch may still carry it"
    held_vlan = record.vlan
    events = await lab.lifecycle.events("acme", "half")
    detached = next(e for e in events if e.kind == "detached")
    assert "2 marked failed" in detached.message and f"VLAN {held_vlan} held" in detached.message
    failed = {n: s for n, s in (await node_states(lab.store, FRA_NODES)).items() if s[0] == "failed"}
    assert len(failed) == 2
    for _state, reason in failed.values():
        assert reason and "could not be put back on quarantine" in reason
    assert await used_vlans(lab.store) == {held_vlan}
    await lab.check(unreachable=[leaf(5)])

    # The server tries the held ports' switches again every round, and while one is down does nothing.
    lab.lifecycle.held.retry_s = 0.05
    await asyncio.sleep(0.5)
    assert [e.seq for e in await lab.lifecycle.events("acme", "half")] == [e.seq for e in events]
    dying.clear()  # the switch comes back, still carrying the tenant VLAN on the ports it changed
    async with asyncio.timeout(30):  # and the server releases the cluster by itself
        while (released := await lab.settle("acme", "half")).state is ClusterState.FAILED:
            await asyncio.sleep(0.05)
    assert released.state is ClusterState.RELEASED, released.reason
    retried = next(e for e in await lab.lifecycle.events("acme", "half") if e.kind == "release")
    assert "switches of the held ports answer again" in retried.message
    assert released.vlan is None
    assert not await used_vlans(lab.store)
    states = await node_states(lab.store, FRA_NODES)
    assert {n for n, s in states.items() if s[0] == "failed"} == set(failed), "failed nodes wait for an operator"
    await lab.check()


async def test_releasing_while_a_switch_is_down_fails_then_a_second_release_cleans_up(lab: Lab) -> None:
    await lab.lifecycle.create(lab.store, "acme", "ready", fra(2))
    ready = await lab.settle("acme", "ready")
    assert ready.state is ClusterState.READY, ready.reason
    down = lab.lab.switch(leaf(2)).faults
    down.unreachable = True

    await lab.lifecycle.release(lab.store, "acme", "ready")
    record = await lab.settle("acme", "ready")
    assert record.state is ClusterState.FAILED, "a release that cannot confirm every port is not done"
    assert record.vlan == ready.vlan and "held" in record.reason
    assert await used_vlans(lab.store) == {ready.vlan}
    states = await node_states(lab.store, ready.members)
    assert all(state == "failed" and reason and leaf(2) in reason for state, reason in states.values())
    await lab.check(unreachable=[leaf(2)])

    down.clear()
    await lab.lifecycle.release(lab.store, "acme", "ready")
    released = await lab.settle("acme", "ready")
    assert released.state is ClusterState.RELEASED, released.reason
    assert not await used_vlans(lab.store)
    await lab.check()

    # The nodes held the tenant's data and were never erased: put back in service, they are erased first.
    assert not any(lab.lab.node(node).jobs for node in ready.members)
    for node in ready.members:
        await set_node_status(lab.store, node, state="available")
    states = await node_states(lab.store, ready.members)
    assert {state for state, _ in states.values()} <= {"sanitizing", "available"}
    await lab.check()
    assert all(s == ("available", None) for s in (await node_states(lab.store, ready.members)).values())
    assert all(lab.lab.node(node).jobs for node in ready.members), "each node went through an erase job"


async def test_a_change_the_switch_did_not_keep_is_made_again(lab: Lab) -> None:
    """Another manager writing back a VLAN table it read before ours: each leaf loses the first
    change of every port. The job looks again, makes the changes again, and the cluster is ready."""
    leaves = [lab.lab.switch(leaf(rail)) for rail in range(8)]
    for switch in leaves:
        switch.faults.lost_changes = set(switch.ports)
    await lab.lifecycle.create(lab.store, "acme", "stale", fra(2))
    record = await lab.settle("acme", "stale")

    assert record.state is ClusterState.READY, record.reason
    lost = sum(len(switch.ports) - len(switch.faults.lost_changes) for switch in leaves)
    assert lost >= 2 * 8, "each member's port on each rail leaf was changed, lost, and changed again"
    await lab.check()  # every port is on the device as the graph intends


@pytest.mark.parametrize(
    ("step", "function", "error"),
    [
        ("network", "converge", RuntimeError(f"switch {leaf(3)} at 10.9.8.7 said no\nTraceback (most recent call)")),
        ("power", "power_on", KeyError("fra-gpu-0002")),
        ("reserve", "reserve", ValueError("fra-gpu-0002 said no")),
    ],
)
async def test_a_step_failing_with_a_bug_is_tried_a_few_times_then_rolled_back(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, step: str, function: str, error: Exception
) -> None:
    calls = []

    async def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise error

    monkeypatch.setattr(runner, function, broken)
    await lab.lifecycle.create(lab.store, "acme", "buggy", fra(2))
    record = await lab.settle("acme", "buggy")

    attempts = lab.lifecycle.ctx.config.step_attempts
    assert len(calls) == attempts, "tried again after each lease, then given up"
    assert record.state is ClusterState.FAILED
    assert f"the {step} step failed {attempts} time(s) with an internal error ({type(error).__name__})" in record.reason
    events = await lab.lifecycle.events("acme", "buggy")
    kinds = [e.kind for e in events]
    assert kinds.index("failed") < kinds.index("detached") < kinds.index("rolled_back") == len(kinds) - 1, kinds
    shown = record.reason + " ".join(e.message for e in events)
    for hidden in ("Traceback", "10.9.8.7", leaf(3), "fra-gpu-0002", "said no"):
        assert hidden not in shown, hidden
    stored = await read_cluster(lab.store, cluster_key("acme", "buggy"))
    assert stored is not None and type(error).__name__ in stored.last_error, "kept for providers"
    assert not record.members and record.vlan is None
    assert await settled_nodes(lab, FRA_NODES) == {n: ("available", None) for n in FRA_NODES}
    # Nodes that may have booted on the tenant's network come back erased; before the power step, as they were.
    assert len([n for n in FRA_NODES if erased(lab, n)]) == (2 if step == "power" else 0)
    assert not await used_vlans(lab.store)
    await lab.check()


@pytest.mark.parametrize("job", ["release", "shrink"])
async def test_a_detach_failing_with_a_bug_still_sends_the_nodes_it_takes_out_to_sanitization(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, job: str
) -> None:
    """A shrink or release that fails cannot give its nodes back to the pool: they held the tenant's data."""
    await lab.lifecycle.create(lab.store, "acme", "data", fra(3))
    ready = await lab.settle("acme", "data")
    assert ready.state is ClusterState.READY, ready.reason
    attempts = lab.lifecycle.ctx.config.step_attempts
    real_detach, calls = runner.detach, []

    async def broken_then_real(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["state"])
        if len(calls) <= attempts:
            raise RuntimeError("a bug in detach")
        return await real_detach(*args, **kwargs)

    monkeypatch.setattr(runner, "detach", broken_then_real)
    if job == "release":
        await lab.lifecycle.release(lab.store, "acme", "data")
        taken_out = set(ready.members)
    else:
        await lab.lifecycle.shrink(lab.store, "acme", "data", count=1)
        record = await read_cluster(lab.store, cluster_key("acme", "data"))
        assert record is not None
        taken_out = set(record.job_nodes)
    record = await lab.settle("acme", "data")

    assert calls[-1] is ClusterState.ROLLING_BACK and len(calls) == attempts + 1
    assert f"the detach step failed {attempts} time(s)" in record.reason or any(
        f"the detach step failed {attempts} time(s)" in e.message for e in await lab.lifecycle.events("acme", "data")
    )
    assert record.state is (ClusterState.FAILED if job == "release" else ClusterState.READY)
    assert not taken_out & set(record.members)
    assert set((await settled_nodes(lab, taken_out)).values()) == {("available", None)}
    for node in taken_out:
        assert erased(lab, node), f"{node} reached the pool unerased"
    await lab.check()


DEVICE_TEXT = "firmware says \x00 then \udc80 (bytes that are not UTF-8)"
"""What a switch or a BMC may put in its errors: no store takes a NUL character or a lone surrogate."""
READABLE = "firmware says \\x00 then \\udc80 (bytes that are not UTF-8)"


def storable(text: str | None) -> bool:
    return text is not None and "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


async def test_a_device_error_with_unstorable_text_rolls_the_cluster_back_with_it_escaped(lab: Lab) -> None:
    refusing = lab.lab.switch(leaf(3)).faults
    refusing.reject_changes = True
    refusing.device_text = DEVICE_TEXT
    await lab.lifecycle.create(lab.store, "acme", "garbled", fra(2))
    record = await lab.settle("acme", "garbled", timeout_s=30)

    assert record.state is ClusterState.FAILED
    assert "refused the change" in record.reason and READABLE in record.reason, record.reason
    events = await lab.lifecycle.events("acme", "garbled")
    assert [e.kind for e in events][-1] == "rolled_back"
    assert READABLE in events[-1].message
    assert all(storable(e.message) for e in events)
    assert not record.members and record.vlan is None
    assert await node_states(lab.store, FRA_NODES) == {n: ("available", None) for n in FRA_NODES}
    assert not await used_vlans(lab.store)
    await lab.check()


async def test_a_failed_erase_whose_bmc_message_is_unstorable_fails_the_node_with_it_escaped(lab: Lab) -> None:
    await lab.lifecycle.create(lab.store, "acme", "erased", fra(2))
    ready = await lab.settle("acme", "erased")
    assert ready.state is ClusterState.READY, ready.reason
    broken, healthy = ready.members
    bmc = lab.lab.node(broken).faults
    bmc.fail_cleaning = True
    bmc.device_text = DEVICE_TEXT

    await lab.lifecycle.release(lab.store, "acme", "erased")
    released = await lab.settle("acme", "erased", timeout_s=30)

    assert released.state is ClusterState.RELEASED, released.reason
    states = await node_states(lab.store, ready.members)
    assert states[healthy] == ("available", None)
    state, reason = states[broken]
    assert state == "failed" and reason and "erase failed" in reason and READABLE in reason, reason
    rows = await lab.store.read("MATCH (n:Node {key: $k}) RETURN n.needs_erase AS erase", {"k": broken})
    assert rows[0]["erase"] is True, "put back in service, it is erased first"
    failed = next(e for e in await lab.lifecycle.events("acme", "erased") if e.kind == "node_failed")
    assert broken in failed.message and READABLE in failed.message
    await lab.check()


async def test_a_rollback_failing_on_a_device_is_counted_on_the_cluster_until_it_succeeds(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollback is never given up (it alone returns the nodes and the VLAN), but each failure is
    recorded on the cluster, so that a provider sees why it is stuck."""
    lab.lab.switch(leaf(3)).faults.reject_changes = True
    real_detach = runner.detach
    seen: list[tuple[int, str]] = []

    async def failing_twice(ctx: Any, record: Any, *args: Any, **kwargs: Any) -> Any:
        stored = await read_cluster(lab.store, record.key)
        assert stored is not None
        seen.append((stored.failed_attempts, stored.last_error))
        if len(seen) <= 2:
            raise ChangeRejected(f"the switch is busy: {DEVICE_TEXT}", device="10.1.2.3")
        return await real_detach(ctx, record, *args, **kwargs)

    monkeypatch.setattr(runner, "detach", failing_twice)
    await lab.lifecycle.create(lab.store, "acme", "stuck", fra(2))
    record = await lab.settle("acme", "stuck", timeout_s=30)

    assert [attempts for attempts, _ in seen] == [0, 1, 2], "each failed rollback is counted, none given up"
    assert seen[1][1].startswith("ChangeRejected: 10.1.2.3: the switch is busy") and READABLE in seen[1][1]
    assert record.state is ClusterState.FAILED and "refused the change" in record.reason
    assert not record.members and record.vlan is None
    assert await node_states(lab.store, FRA_NODES) == {n: ("available", None) for n in FRA_NODES}
    await lab.check()


async def test_providers_read_why_a_rollback_is_stuck_and_tenants_do_not(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_detach, switch_busy = runner.detach, True

    async def power_bug(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in power")

    async def detach_refused(*args: Any, **kwargs: Any) -> Any:
        if switch_busy:
            raise ChangeRejected("the switch is busy", device="10.1.2.3")
        return await real_detach(*args, **kwargs)

    monkeypatch.setattr(runner, "power_on", power_bug)
    monkeypatch.setattr(runner, "detach", detach_refused)
    query = "query($n: String!, $t: String) { cluster(name: $n, tenant: $t) { state lastError failedAttempts } }"
    async for api in open_lab(store, tmp_path, job_lease_s=2.0):
        await api.ok("t_admin", CREATE, n="stuck", s={"nodes": 2, "level": "LEAF", "mode": "REQUIRED"})
        async with asyncio.timeout(60):
            while True:
                seen = (await api.ok("viewer", query, n="stuck", t=TENANT))["cluster"]
                if seen["state"] == "ROLLING_BACK" and seen["failedAttempts"] >= 2:
                    break
                await asyncio.sleep(0.05)
        assert seen["lastError"] == "ChangeRejected: 10.1.2.3: the switch is busy"
        for tenant_role in ("t_admin", "t_member"):
            shown = (await api.ok(tenant_role, query, n="stuck"))["cluster"]
            assert shown == {"state": "ROLLING_BACK", "lastError": None, "failedAttempts": None}

        switch_busy = False
        failed = await api.wait_for("stuck", "FAILED")
        assert "the power step failed" in failed["reason"] and not failed["nodes"]
