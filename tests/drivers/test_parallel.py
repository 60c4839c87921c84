"""Bounded parallel device work: limits, deadlines, retries, and one result per piece of work."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from metalgraph.drivers.errors import ChangeRejected, DeviceTimeout, DeviceUnreachable, DriverError
from metalgraph.drivers.parallel import NO_RETRY, DevicePool, DeviceWork, RetryPolicy
from metalgraph.drivers.sim import SimLab, SimSwitch
from metalgraph.drivers.types import DeviceConfig

FAST_RETRY = RetryPolicy(attempts=3, base_delay_s=0.001, max_delay_s=0.005)


class Concurrency:
    """Counts operations in flight, overall and per device, and remembers the peaks."""

    def __init__(self) -> None:
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.total = self.peak_total = 0

    def operation(self, device: str, hold_s: float = 0.005) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            self.now[device] += 1
            self.total += 1
            self.peak[device] = max(self.peak[device], self.now[device])
            self.peak_total = max(self.peak_total, self.total)
            await asyncio.sleep(hold_s)
            self.now[device] -= 1
            self.total -= 1
            return device

        return run


def failing(*errors: Exception, then: str = "done") -> Callable[[], Awaitable[str]]:
    """An operation that raises `errors` one per attempt, then returns `then`."""
    remaining = list(errors)

    async def run() -> str:
        if remaining:
            raise remaining.pop(0)
        return then

    return run


async def test_results_come_back_in_order_with_each_failure_kept_to_its_own_work() -> None:
    pool = DevicePool(retry=FAST_RETRY)
    work = [
        DeviceWork("sw-1", failing(then="ports of sw-1"), "get_ports"),
        DeviceWork("sw-2", failing(ChangeRejected("refused", device="sw-2")), "set_access_vlan"),
        DeviceWork("sw-3", failing(then="ports of sw-3"), "get_ports"),
    ]
    results = await pool.run(work)
    assert [r.device for r in results] == ["sw-1", "sw-2", "sw-3"]
    assert [r.value for r in results] == ["ports of sw-1", None, "ports of sw-3"]
    assert isinstance(results[1].error, ChangeRejected) and not results[1].ok
    assert results[1].attempts == 1, "a non-retryable error is not retried"
    with pytest.raises(ChangeRejected):
        results[1].unwrap()
    assert results[0].unwrap() == "ports of sw-1"


async def test_concurrency_is_bounded_per_device_and_overall() -> None:
    seen = Concurrency()
    devices = [f"sw-{i}" for i in range(6)]
    work = [DeviceWork(device, seen.operation(device)) for device in devices for _ in range(8)]
    results = await DevicePool(per_device=2, total=5).run(work)
    assert all(result.ok for result in results)
    assert max(seen.peak.values()) == 2
    assert seen.peak_total == 5


async def test_a_slow_device_times_out_without_holding_up_the_others() -> None:
    async def hangs() -> str:
        await asyncio.sleep(3600)
        return "never"

    pool = DevicePool(timeout_s=0.05, retry=RetryPolicy(attempts=2, base_delay_s=0.001))
    results = await pool.run([DeviceWork("slow", hangs, "get_ports"), DeviceWork("fast", failing(then="ok"))])
    slow, fast = results
    assert isinstance(slow.error, DeviceTimeout)
    assert slow.error.device == "slow" and "get_ports" in str(slow.error)
    assert slow.attempts == 2, "a timeout is retryable"
    assert fast.value == "ok"


async def test_retryable_errors_are_retried_until_they_succeed_or_attempts_run_out() -> None:
    unreachable = DeviceUnreachable("no route", device="sw-1")
    recovered, exhausted = await DevicePool(retry=FAST_RETRY).run(
        [
            DeviceWork("sw-1", failing(unreachable, DeviceTimeout("slow"), then="recovered")),
            DeviceWork("sw-2", failing(*(DeviceUnreachable(f"try {i}") for i in range(1, 5)))),
        ]
    )
    assert recovered.value == "recovered" and recovered.attempts == 3
    assert isinstance(exhausted.error, DeviceUnreachable) and exhausted.attempts == 3
    assert "try 3" in str(exhausted.error), "the final error is the last attempt's"


async def test_a_driver_bug_becomes_a_driver_error_of_that_work_only() -> None:
    async def buggy() -> str:
        raise KeyError("ifIndex")

    bug, fine = await DevicePool(retry=NO_RETRY).run(
        [DeviceWork("sw-1", buggy, "get_ports"), DeviceWork("sw-2", failing())]
    )
    assert type(bug.error) is DriverError and "KeyError" in str(bug.error) and bug.error.device == "sw-1"
    assert fine.ok


async def test_a_device_slot_is_free_while_its_work_waits_to_retry() -> None:
    events: list[str] = []

    async def first() -> str:
        events.append("first attempt")
        if events.count("first attempt") == 1:
            raise DeviceUnreachable("blip")
        return "first"

    async def second() -> str:
        events.append("second")
        return "second"

    pool = DevicePool(per_device=1, retry=RetryPolicy(attempts=2, base_delay_s=0.05, jitter=0))
    await pool.run([DeviceWork("sw-1", first), DeviceWork("sw-1", second)])
    assert events == ["first attempt", "second", "first attempt"]


async def test_progress_is_reported_as_each_piece_of_work_finishes() -> None:
    finished: list[str] = []
    work = [DeviceWork(f"sw-{i}", failing(then=f"sw-{i}")) for i in range(4)]
    await DevicePool().run(work, on_result=lambda result: finished.append(result.device))
    assert sorted(finished) == ["sw-0", "sw-1", "sw-2", "sw-3"]


async def test_cancelling_the_run_cancels_the_work_in_flight() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def long_job() -> str:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    run = asyncio.create_task(DevicePool().run([DeviceWork("node-1", long_job)]))
    await started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert cancelled.is_set()


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter_taken_off() -> None:
    steady = RetryPolicy(base_delay_s=0.5, max_delay_s=3, jitter=0)
    assert [steady.delay(n, random.Random(1)) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]
    jittered = RetryPolicy(base_delay_s=1, max_delay_s=100, jitter=0.5)
    delays = [jittered.delay(3, random.Random(seed)) for seed in range(50)]
    assert all(2 <= delay <= 4 for delay in delays)
    assert len(set(delays)) > 1, "jitter spreads the retries"
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


async def test_a_fabric_sweep_survives_dead_and_slow_switches(lab: SimLab) -> None:
    for name in ("leaf-01", "leaf-02", "leaf-03", "leaf-04"):
        lab.add_switch(name, ports=4)
    lab.switch("leaf-02").faults.unreachable = True
    lab.switch("leaf-03").faults.latency_s = 10  # beyond the driver's timeout
    lab.switch("leaf-04").faults.die_after_calls = 0
    switches = [SimSwitch(DeviceConfig(f"sim://leaf-0{i}", options={"lab": lab}, timeout_s=0.05)) for i in range(1, 5)]
    results = await DevicePool(retry=FAST_RETRY).run(DeviceWork(s.address, s.get_ports, "get_ports") for s in switches)
    assert [len(r.value or []) for r in results] == [4, 0, 0, 0]
    assert [type(r.error).__name__ for r in results[1:]] == ["DeviceUnreachable", "DeviceTimeout", "DeviceUnreachable"]
    assert all(r.attempts == 3 for r in results[1:])
