"""Reading the VLAN state of many switches at once, each through its own driver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from metalgraph.drivers.base import Driver, SwitchDriver
from metalgraph.drivers.parallel import DevicePool, DeviceWork, RetryPolicy
from metalgraph.drivers.types import VlanState

from ..devices.access import DeviceAccess, DeviceRef

PER_DEVICE = 1
TOTAL = 256
RETRY = RetryPolicy(attempts=2, base_delay_s=0.2, max_delay_s=1.0)

PortStates = dict[str, VlanState]


@dataclass
class SwitchReads:
    states: dict[str, PortStates] = field(default_factory=dict)
    """Switch name -> port name -> VLAN state, for every switch read."""
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Switch name -> (address, why it could not be read)."""


def _driver_class(access: DeviceAccess, ref: DeviceRef) -> type[Driver] | Exception:
    try:
        return access.driver_class(ref)
    except Exception as error:
        return error


def default_pool(access: DeviceAccess) -> DevicePool:
    """One read per switch at a time, 256 switches at once, one retry of a retryable failure."""
    return DevicePool(per_device=PER_DEVICE, total=TOTAL, timeout_s=access.timeout_s, retry=RETRY)


async def read_switches(
    access: DeviceAccess, refs: Mapping[str, DeviceRef | None], pool: DevicePool | None = None
) -> SwitchReads:
    """`get_vlan_states` of every switch in `refs` (name -> how to reach it) in parallel. A switch
    that names no driver, whose driver cannot be opened (not validated, unknown, credentials
    missing) or that fails to answer is a failure with the reason; none is silently skipped."""
    reads = SwitchReads()
    drivers: dict[str, SwitchDriver] = {}
    work: list[DeviceWork[PortStates]] = []
    classes: dict[str, type[Driver] | Exception] = {}
    for name, ref in refs.items():
        if ref is None:
            reads.failures[name] = ("", "the switch names no driver")
            continue
        try:
            # the registry reads the installed entry points on every load (25 ms): once per driver here
            cls = classes.get(ref.driver) or classes.setdefault(ref.driver, _driver_class(access, ref))
            if isinstance(cls, Exception):
                raise cls
            driver = cls(access.config(ref))
            assert isinstance(driver, SwitchDriver)
        except Exception as error:  # any reason the driver cannot be opened leaves the switch unverified
            reads.failures[name] = (ref.address, f"cannot open its {ref.driver} driver: {error}")
            continue
        drivers[name] = driver
        work.append(DeviceWork(ref.address, driver.get_vlan_states, name))
    try:
        for result in await (pool or default_pool(access)).run(work):
            if result.error is None and result.value is not None:
                reads.states[result.work.label] = result.value
            else:
                reads.failures[result.work.label] = (result.device, str(result.error))
    finally:
        for driver in drivers.values():
            await driver.close()
    return reads
