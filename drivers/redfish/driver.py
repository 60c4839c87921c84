"""`RedfishBmc`: the `BmcDriver` for Redfish BMCs, built on sushy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..base import BmcDriver
from ..errors import DeviceTimeout, Unsupported
from ..types import (
    BootDevice,
    BootOverride,
    CleaningJob,
    CleaningMethod,
    DeviceConfig,
    HardwareInventory,
    Health,
    HealthState,
    PowerAction,
    PowerState,
)
from . import cleaning
from .client import RedfishClient
from .collect import fetch_drives, fetch_inventory, resolve_system
from .health import build_health, system_state
from .inventory import InventoryDocs, build_inventory
from .power import PowerControl

T = TypeVar("T")


class RedfishBmc(BmcDriver):
    """Controls one node through its Redfish service.

    `config.address` is the service's base URL (`https://10.0.0.5`, `http://127.0.0.1:8000`); the
    credentials `username` and `password` are required. Options:
    - `system_id`: the `ComputerSystem` to control; default: the only one, or the first that is not a
      subordinate system (an HGX GPU baseboard). Set it on BMCs that list several systems.
    - `verify_tls` (default True): verify the BMC's certificate (or a CA bundle path).
    - `auth` (default `auto`): `session` (X-Auth-Token), `basic`, or `auto` (a session, else basic).
    - `poll_interval_s` (default 1.0): how often setters read back while waiting for the state.
    - `max_parallel_requests` (default 4): concurrent GETs while walking the inventory.

    Each method finishes within `config.timeout_s` or raises `DeviceTimeout`; the budget covers the
    connection, the request(s) and the read-back polling together.
    """

    name = "redfish"

    def __init__(self, config: DeviceConfig) -> None:
        super().__init__(config)
        self._client = RedfishClient(config)
        system_id = config.options.get("system_id")
        if system_id is not None and (not isinstance(system_id, str) or not system_id or "/" in system_id):
            raise Unsupported("option system_id must be a system's Id", device=self._client.device)
        self._system_id = system_id
        interval = config.options.get("poll_interval_s", 1.0)
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise Unsupported("option poll_interval_s must be a positive number", device=self._client.device)
        self._interval = float(interval)
        self._system_path: str | None = None

    async def _bounded(self, what: str, operation: Callable[[float], Awaitable[T]]) -> T:
        """Run `operation(deadline)` within `config.timeout_s`."""
        deadline = asyncio.get_running_loop().time() + self.config.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                return await operation(deadline)
        except TimeoutError as error:
            raise DeviceTimeout(
                f"{what}: no result within {self.config.timeout_s:g} s", device=self._client.device
            ) from error

    async def _system(self) -> str:
        if self._system_path is None:
            self._system_path = await resolve_system(self._client, self._system_id)
        return self._system_path

    async def _power(self) -> PowerControl:
        return PowerControl(self._client, await self._system(), self._interval)

    async def get_power_state(self) -> PowerState:
        """The `PowerState` of the system (`PoweringOn` reads as on, `PoweringOff` as off)."""

        async def run(_: float) -> PowerState:
            return await (await self._power()).get_power_state()

        return await self._bounded("get power state", run)

    async def set_power_state(self, action: PowerAction) -> None:
        """ON = `On` (or `ForceOn`), OFF = `ForceOff`, SOFT_OFF = `GracefulShutdown`; CYCLE =
        `ForceRestart` (or `PowerCycle`), else `ForceOff` then `On`; from off, CYCLE just powers on.
        Polls until `PowerState` reads back (`On` after CYCLE); `ChangeRejected` when it does not in time."""

        async def run(deadline: float) -> None:
            await (await self._power()).set_power_state(action, deadline)

        await self._bounded(f"power {action}", run)

    async def get_boot_override(self) -> BootOverride:
        """`Boot.BootSourceOverrideTarget`/`Enabled`; `Unsupported` for a target with no `BootDevice`
        equivalent (UefiHttp, Floppy, ...)."""

        async def run(_: float) -> BootOverride:
            return await (await self._power()).get_boot_override()

        return await self._bounded("get boot override", run)

    async def set_boot_device(self, device: BootDevice, *, persistent: bool = False) -> None:
        """PATCH the override (`Once` or `Continuous`) through sushy, then read it back (from the system,
        or from its pending `@Redfish.Settings` object)."""

        async def run(deadline: float) -> None:
            await (await self._power()).set_boot_device(device, persistent, deadline)

        await self._bounded(f"set boot device {device}", run)

    async def _inventory_docs(self) -> InventoryDocs:
        return await fetch_inventory(self._client, await self._system())

    async def get_inventory(self) -> HardwareInventory:
        """Walks the system, its Processors, Memory, EthernetInterfaces, Storage drives, the network
        adapters of its chassis, and the GPUs of a subordinate HGX baseboard system."""

        async def run(_: float) -> HardwareInventory:
            return build_inventory(await self._inventory_docs())

        return await self._bounded("get inventory", run)

    async def start_cleaning(self, method: CleaningMethod = CleaningMethod.SECURE_ERASE) -> CleaningJob:
        """`Drive.SecureErase` on every drive offering it (see `cleaning.py` for how jobs are followed)."""

        async def run(_: float) -> CleaningJob:
            system = await self._client.get(await self._system())
            _storage, drives = await fetch_drives(self._client, system)
            return await cleaning.start(self._client, drives, method)

        return await self._bounded("start cleaning", run)

    async def get_cleaning_job(self, job_id: str) -> CleaningJob:
        """Polls each drive's task; `MalformedResponse` (field `job_id`) for a job this BMC does not know."""

        async def run(_: float) -> CleaningJob:
            return await cleaning.poll(self._client, job_id)

        return await self._bounded("get cleaning job", run)

    async def get_health(self) -> Health:
        """`Status.HealthRollup` of the system; when not OK, messages from its components."""

        async def run(_: float) -> Health:
            system = await self._client.get(await self._system())
            if system_state(system) is HealthState.OK:
                return Health(HealthState.OK)
            return build_health(await self._inventory_docs())

        return await self._bounded("get health", run)

    async def close(self) -> None:
        """End the Redfish session. Idempotent; never raises."""
        await self._client.close()
