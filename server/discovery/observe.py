"""Reading what the devices say: every BMC's hardware inventory and every switch's LLDP table.

All devices are read at once through a `drivers.parallel.DevicePool`, with a per-device limit, a
deadline per attempt and retries of retryable errors. A device that cannot be opened (driver not
validated, unknown, credentials missing) or read (unreachable, slow, malformed answers) becomes a
`DeviceFailure` in the result; the others are read all the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from metalgraph.drivers.base import BmcDriver, SwitchDriver
from metalgraph.drivers.errors import DriverError
from metalgraph.drivers.parallel import DevicePool, DeviceWork, RetryPolicy, WorkResult
from metalgraph.drivers.types import HardwareInventory, LldpNeighbour

from ..devices.access import DeviceAccess, DeviceRef
from ..devices.secrets import SecretError
from ..errors import DomainError

TOTAL_CONCURRENCY = 64
DEFAULT_RETRY = RetryPolicy(attempts=2, base_delay_s=0.5)


@dataclass(frozen=True)
class NodeObservation:
    """What a node's BMC reports."""

    node: str
    address: str
    inventory: HardwareInventory


@dataclass(frozen=True)
class SwitchObservation:
    """What a switch's LLDP table holds: one neighbour per port that hears one."""

    switch: str
    address: str
    neighbours: tuple[LldpNeighbour, ...]


@dataclass(frozen=True)
class DeviceFailure:
    """A device that could not be read, and why (a message without credentials)."""

    kind: str
    """`bmc` or `switch`."""
    name: str
    address: str
    error: str
    """The error's type: `DeviceUnreachable`, `DeviceTimeout`, `DriverNotValidated`, `SecretNotFound`, ..."""
    message: str
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "address": self.address,
            "error": self.error,
            "message": self.message,
            "attempts": self.attempts,
        }


@dataclass
class Observations:
    nodes: list[NodeObservation] = field(default_factory=list)
    switches: list[SwitchObservation] = field(default_factory=list)
    failures: list[DeviceFailure] = field(default_factory=list)

    @property
    def devices(self) -> int:
        """Devices attempted: read or failed."""
        return len(self.nodes) + len(self.switches) + len(self.failures)


def default_pool(access: DeviceAccess, per_device: int = 2) -> DevicePool:
    """A pool whose deadline leaves the driver its own `timeout_s` to raise `DeviceTimeout` first."""
    return DevicePool(
        per_device=per_device, total=TOTAL_CONCURRENCY, timeout_s=access.timeout_s * 1.5 + 0.5, retry=DEFAULT_RETRY
    )


async def observe(
    devices: Sequence[DeviceRef],
    access: DeviceAccess,
    *,
    pool: DevicePool | None = None,
    on_result: Callable[[WorkResult[Any]], None] | None = None,
) -> Observations:
    """Read every device in `devices` in parallel; never raises for a device's failure."""
    found = Observations()
    work: list[DeviceWork[Any]] = []
    refs: list[DeviceRef] = []
    for ref in devices:
        try:
            operation = _reader(access, ref)
        except (DriverError, SecretError, DomainError) as error:
            found.failures.append(_failure(ref, error, 0))
            continue
        work.append(DeviceWork(ref.address, operation, f"{ref.kind} {ref.name}"))
        refs.append(ref)
    results = await (pool or default_pool(access)).run(work, on_result)
    for ref, result in zip(refs, results, strict=True):
        if result.error is not None:
            found.failures.append(_failure(ref, result.error, result.attempts))
        elif ref.kind == "bmc":
            found.nodes.append(NodeObservation(ref.name, ref.address, result.unwrap()))
        else:
            found.switches.append(SwitchObservation(ref.name, ref.address, tuple(result.unwrap())))
    return found


def _reader(access: DeviceAccess, ref: DeviceRef) -> Callable[[], Awaitable[Any]]:
    """The read of one device; opening is checked now (validation, driver, credentials), and each
    attempt then opens a fresh driver instance and closes it."""
    cls = access.driver_class(ref)
    config = access.config(ref)

    async def read_bmc() -> HardwareInventory:
        driver = cls(config)
        assert isinstance(driver, BmcDriver)
        async with driver:
            return await driver.get_inventory()

    async def read_switch() -> list[LldpNeighbour]:
        driver = cls(config)
        assert isinstance(driver, SwitchDriver)
        async with driver:
            return await driver.get_lldp_neighbours()

    return read_bmc if ref.kind == "bmc" else read_switch


def _failure(ref: DeviceRef, error: Exception, attempts: int) -> DeviceFailure:
    message = error.message if isinstance(error, DomainError) else str(error)
    return DeviceFailure(ref.kind, ref.name, ref.address, type(error).__name__, message, attempts)
