"""Run many device operations at once without letting one device hold up the rest.

A `DevicePool` bounds concurrency per device address and overall, gives every attempt a deadline
(`DeviceTimeout` when it passes), retries only retryable errors (`DriverError.retryable`) with
exponential backoff and jitter, and returns one `WorkResult` per piece of work: the value, or the
final `DriverError`. It never raises for a device's failure; cancelling `run` cancels all its work.

    pool = DevicePool(per_device=2, total=64, timeout_s=10)
    results = await pool.run(DeviceWork(sw.address, sw.get_ports, "ports") for sw in switches)
    failed = [r for r in results if not r.ok]
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import DeviceTimeout, DriverError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a retryable failure.

    The wait before retry n (1-based) is `min(max_delay_s, base_delay_s * 2 ** (n - 1))`, of which a
    random part of up to `jitter` (0..1) is taken off so that many devices do not retry in step.
    """

    attempts: int = 3
    """Attempts in all, the first included; 1 means no retry."""
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (1 for the first retry)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry - 1))
        return ceiling * (1 - self.jitter * rng.random())


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class DeviceWork(Generic[T]):
    """One operation on one device. `operation` is called anew for every attempt."""

    device: str
    """The device address; work on the same address shares that device's concurrency limit."""
    operation: Callable[[], Awaitable[T]]
    label: str = ""
    """What the work does, for messages and reports (`get_ports`, `power on`)."""


@dataclass(frozen=True)
class WorkResult(Generic[T]):
    """The outcome of one `DeviceWork`: `value` on success, otherwise the last `error`."""

    work: DeviceWork[T]
    value: T | None = None
    error: DriverError | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def device(self) -> str:
        return self.work.device

    def unwrap(self) -> T:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class DevicePool:
    """Bounded parallel device work; one pool may be shared by concurrent callers, the limits
    then hold across all of them (create and use it inside one event loop)."""

    def __init__(
        self,
        *,
        per_device: int = 2,
        total: int = 64,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if per_device < 1 or total < 1:
            raise ValueError("concurrency limits must be at least 1")
        self.per_device = per_device
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._total = asyncio.Semaphore(total)
        self._devices: dict[str, asyncio.Semaphore] = {}

    async def run(
        self, work: Iterable[DeviceWork[T]], on_result: Callable[[WorkResult[T]], None] | None = None
    ) -> list[WorkResult[T]]:
        """Run every piece of work; results come back in the order the work was given.
        `on_result` is called as each one finishes (for progress reporting); it must not raise."""
        items = list(work)
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._run_reporting(item, on_result)) for item in items]
        return [task.result() for task in tasks]

    async def run_one(self, work: DeviceWork[T]) -> WorkResult[T]:
        """Run one piece of work with the pool's limits, deadline and retries."""
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._device_slot(work.device), self._total:
                    value = await self._attempt(work)
                return WorkResult(work, value=value, attempts=attempt)
            except DriverError as error:
                if not error.retryable or attempt >= self.retry.attempts:
                    return WorkResult(work, error=error, attempts=attempt)
            # the slots are released while waiting, so other work on the device goes on
            await asyncio.sleep(self.retry.delay(attempt, self._rng))

    async def _run_reporting(
        self, work: DeviceWork[T], on_result: Callable[[WorkResult[T]], None] | None
    ) -> WorkResult[T]:
        result = await self.run_one(work)
        if on_result is not None:
            on_result(result)
        return result

    async def _attempt(self, work: DeviceWork[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await work.operation()
        except TimeoutError as error:
            what = f"{work.label} " if work.label else ""
            raise DeviceTimeout(f"{what}did not finish within {self.timeout_s:g} s", device=work.device) from error
        except DriverError:
            raise
        except Exception as error:  # a driver bug must not abort the other devices' work
            what = f"{work.label}: " if work.label else ""
            raise DriverError(f"{what}driver failed: {type(error).__name__}: {error}", device=work.device) from error

    def _device_slot(self, device: str) -> asyncio.Semaphore:
        slot = self._devices.get(device)
        if slot is None:
            slot = self._devices[device] = asyncio.Semaphore(self.per_device)
        return slot
