"""The two driver interfaces. A driver instance talks to one device; it is created from a
`DeviceConfig` and closed with `close()` (or used as an async context manager).

Rules every method follows, so the callers can rely on them:
- Errors are the `metalgraph.drivers.errors` family only: `DeviceUnreachable`, `DeviceTimeout`,
  `AuthenticationFailed`, `Unsupported`, `ChangeRejected`, `MalformedResponse`.
- Each call finishes or raises `DeviceTimeout` within `config.timeout_s` (a driver may split that
  budget over the requests it makes); retries are the caller's business (see `parallel.py`).
- Reads have no side effect. Setters are idempotent: setting what is already set succeeds and
  changes nothing. A setter returns only after the device reports the change applied (read back
  where the protocol allows) and raises `ChangeRejected` otherwise.
- Credentials are never logged and never part of an error message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import ClassVar, Self

from .types import (
    BootDevice,
    BootOverride,
    CleaningJob,
    CleaningMethod,
    DeviceConfig,
    HardwareInventory,
    Health,
    LldpNeighbour,
    PortCounters,
    PortInfo,
    PowerAction,
    PowerState,
    VlanState,
)


class Driver(ABC):  # noqa: B024 - abstract through its subclasses; holds the shared lifecycle
    name: ClassVar[str] = "abstract"
    """The registered name (the entry-point name)."""

    def __init__(self, config: DeviceConfig) -> None:
        self.config = config

    @property
    def address(self) -> str:
        return self.config.address

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release sessions and sockets. Idempotent; never raises."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class BmcDriver(Driver):
    """Controls one node through its baseboard management controller."""

    @abstractmethod
    async def get_power_state(self) -> PowerState:
        """The node's power state now."""

    @abstractmethod
    async def set_power_state(self, action: PowerAction) -> None:
        """Apply `action`; return when the BMC reports the resulting state (`on` for CYCLE).

        Idempotent for ON, OFF and SOFT_OFF (already there: no request is needed). CYCLE always
        cycles. Raises `ChangeRejected` when the BMC refuses or the state does not follow.
        """

    @abstractmethod
    async def get_boot_override(self) -> BootOverride:
        """The boot source override; `device` is None when none is set."""

    @abstractmethod
    async def set_boot_device(self, device: BootDevice, *, persistent: bool = False) -> None:
        """Boot from `device` at the next boot only (default) or at every boot. Idempotent;
        `Unsupported` when the BMC does not offer that device."""

    @abstractmethod
    async def get_inventory(self) -> HardwareInventory:
        """System serial, vendor, model, CPUs, memory, GPUs, NICs with MACs and speeds, drives.
        A field the BMC does not report is left at its default; a field it reports in a form that
        cannot be parsed raises `MalformedResponse` naming it."""

    @abstractmethod
    async def start_cleaning(self, method: CleaningMethod = CleaningMethod.SECURE_ERASE) -> CleaningJob:
        """Start erasing every drive; returns the job to poll with `get_cleaning_job`.
        `Unsupported` when no drive offers the method. Not idempotent: each call starts a job."""

    @abstractmethod
    async def get_cleaning_job(self, job_id: str) -> CleaningJob:
        """The job's state now. `MalformedResponse` (field `job_id`) for an unknown job."""

    @abstractmethod
    async def get_health(self) -> Health:
        """The system's rolled-up health, with the BMC's messages for anything not ok."""


class SwitchDriver(Driver):
    """Reads and configures one switch. Ports are named as the switch names them (`Ethernet1/1`,
    `swp3`); a name the switch does not have raises `MalformedResponse` with field `port`."""

    @abstractmethod
    async def get_ports(self) -> list[PortInfo]:
        """Every port with name, index, admin/oper status, speed, MTU, mode and counters, by index."""

    @abstractmethod
    async def get_vlan_state(self, port: str) -> VlanState:
        """The VLAN membership of one port."""

    async def get_vlan_states(self) -> dict[str, VlanState]:
        """The VLAN membership of every port, by port name (drivers override this with one walk)."""
        return {port.name: await self.get_vlan_state(port.name) for port in await self.get_ports()}

    @abstractmethod
    async def set_access_vlan(self, port: str, vlan: int) -> None:
        """Make `port` an untagged member of `vlan` only (its PVID), removing it from every other
        VLAN. Idempotent. Read back; `ChangeRejected` when the switch refuses or disagrees."""

    @abstractmethod
    async def set_trunk_vlans(self, port: str, allowed: Sequence[int], native: int | None = None) -> None:
        """Make `port` a trunk carrying exactly `allowed` tagged, and `native` untagged if given.
        Idempotent; read back as for `set_access_vlan`."""

    @abstractmethod
    async def get_lldp_neighbours(self) -> list[LldpNeighbour]:
        """What each port's LLDP neighbour announces (remote chassis id, system name, port id)."""

    async def get_counters(self) -> dict[str, PortCounters]:
        """Error and discard counters by port name."""
        return {port.name: port.counters for port in await self.get_ports()}
