"""Powering a cluster's nodes on (booting them from the provisioning source) and off, in parallel.

Each node is one piece of work on its BMC: set the one-time boot device, then power on (or cycle a
node that is already on, so that it boots from that device). The calls are idempotent per the
`BmcDriver` contract, so a job resumed after a restart simply does the step again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from metalgraph.drivers.base import BmcDriver
from metalgraph.drivers.errors import DriverError
from metalgraph.drivers.parallel import DevicePool, DeviceWork
from metalgraph.drivers.types import BootDevice, PowerAction, PowerState

from ..devices.access import DeviceAccess, DeviceRef, inventory_devices
from ..devices.secrets import SecretError
from ..errors import DomainError
from ..store.base import GraphStore

Progress = Callable[[int, int], None]
Operation = Callable[[BmcDriver], Awaitable[None]]


async def power_on(
    store: GraphStore,
    access: DeviceAccess,
    pool: DevicePool,
    nodes: Sequence[str],
    boot: BootDevice = BootDevice.PXE,
    progress: Progress | None = None,
) -> dict[str, str]:
    """Boot `nodes` from `boot`; returns node -> why it failed, for the nodes that did."""

    async def boot_node(bmc: BmcDriver) -> None:
        await bmc.set_boot_device(boot)
        on = await bmc.get_power_state() is PowerState.ON
        await bmc.set_power_state(PowerAction.CYCLE if on else PowerAction.ON)

    return await _each_bmc(store, access, pool, nodes, boot_node, "power on", progress)


async def power_off(
    store: GraphStore,
    access: DeviceAccess,
    pool: DevicePool,
    nodes: Sequence[str],
    progress: Progress | None = None,
) -> dict[str, str]:
    """Hard power-off of `nodes` (their tenant is gone); returns node -> why it failed."""

    async def off(bmc: BmcDriver) -> None:
        await bmc.set_power_state(PowerAction.OFF)

    return await _each_bmc(store, access, pool, nodes, off, "power off", progress)


async def _each_bmc(
    store: GraphStore,
    access: DeviceAccess,
    pool: DevicePool,
    nodes: Sequence[str],
    operation: Operation,
    label: str,
    progress: Progress | None,
) -> dict[str, str]:
    refs = {ref.name: ref for ref in await inventory_devices(store, nodes=list(nodes), switches=[])}
    failures = {node: "the node has no BMC in the inventory" for node in nodes if node not in refs}
    work = []
    for node, ref in sorted(refs.items()):
        try:
            access.config(ref)  # refuses unvalidated drivers and unknown credentials before any call
            access.driver_class(ref)
        except (DomainError, SecretError, DriverError) as e:
            failures[node] = f"BMC {ref.address}: {e}"
            continue
        work.append(DeviceWork(ref.address, _on_bmc(access, ref, operation), node))
    done = len(failures)

    def finished(_result: object) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(nodes))

    for result in await pool.run(work, finished):
        if not result.ok:
            failures[result.work.label] = f"{label}: {result.error}"
    return failures


def _on_bmc(access: DeviceAccess, ref: DeviceRef, operation: Operation) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async with access.open_bmc(ref) as bmc:
            await operation(bmc)

    return run
