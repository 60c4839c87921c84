"""Typed values the driver interfaces speak. Drivers map wire data into these at the edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Credentials:
    """Named secret values for one device (username, password, community, v3 keys, ...).

    Never printed: repr and str hide the values, so a credential cannot reach a log by accident.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str] | None = None, **kwargs: str) -> None:
        self._values = {**(values or {}), **kwargs}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name, default)

    def require(self, name: str) -> str:
        from .errors import AuthenticationFailed

        value = self._values.get(name)
        if value is None:
            raise AuthenticationFailed(f"credential '{name}' is not configured")
        return value

    def names(self) -> list[str]:
        return sorted(self._values)

    def __repr__(self) -> str:
        return f"Credentials({', '.join(f'{k}=***' for k in sorted(self._values))})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Credentials) and other._values == self._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values)))


@dataclass(frozen=True)
class DeviceConfig:
    """Where a device is and how to talk to it. `address` is driver-specific: a Redfish URL
    (`https://10.0.0.5`), an SNMP agent (`udp:10.0.1.2:161`), a sim device (`sim://leaf-01`).
    `options` carry driver settings (SNMP version, vendor profile, TLS verification, ...)."""

    address: str
    credentials: Credentials = field(default_factory=Credentials)
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float = 10.0


# --- BMC ------------------------------------------------------------------------------------------


class PowerState(StrEnum):
    ON = "on"
    OFF = "off"


class PowerAction(StrEnum):
    ON = "on"
    OFF = "off"
    """Hard off: the node stops at once."""
    SOFT_OFF = "soft_off"
    """Graceful shutdown through the operating system."""
    CYCLE = "cycle"
    """Off then on (on from off as well); the node ends on."""


class BootDevice(StrEnum):
    PXE = "pxe"
    DISK = "disk"
    CD = "cd"
    USB = "usb"
    BIOS = "bios"


@dataclass(frozen=True)
class BootOverride:
    device: BootDevice | None
    """None when no override is set (the node boots by its own order)."""
    persistent: bool = False


@dataclass(frozen=True)
class CpuInfo:
    model: str
    cores: int
    threads: int = 0
    socket: str = ""


@dataclass(frozen=True)
class GpuInfo:
    model: str
    memory_gb: float = 0
    serial: str = ""
    slot: str = ""


@dataclass(frozen=True)
class NicPortInfo:
    name: str
    mac: str
    """Lower-case, colon separated."""
    speed_gbps: float = 0
    link_up: bool | None = None


@dataclass(frozen=True)
class DriveInfo:
    name: str
    capacity_gb: float = 0
    media: str = ""
    """`ssd`, `hdd` or empty when unknown."""
    serial: str = ""
    secure_erase: bool = False
    """The drive advertises a secure-erase action."""


@dataclass(frozen=True)
class HardwareInventory:
    serial: str = ""
    vendor: str = ""
    model: str = ""
    cpus: tuple[CpuInfo, ...] = ()
    memory_gb: float = 0
    gpus: tuple[GpuInfo, ...] = ()
    nics: tuple[NicPortInfo, ...] = ()
    drives: tuple[DriveInfo, ...] = ()

    @property
    def cpu_cores(self) -> int:
        return sum(cpu.cores for cpu in self.cpus)


class HealthState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Health:
    state: HealthState
    messages: tuple[str, ...] = ()


class CleaningMethod(StrEnum):
    SECURE_ERASE = "secure_erase"
    """Cryptographic or firmware secure erase of every drive."""
    OVERWRITE = "overwrite"
    """Overwrite the drives (slow; for drives without secure erase)."""


class JobState(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class CleaningJob:
    id: str
    state: JobState
    percent: int = 0
    message: str = ""


# --- switch ---------------------------------------------------------------------------------------


class SwitchportMode(StrEnum):
    ACCESS = "access"
    TRUNK = "trunk"
    ROUTED = "routed"


@dataclass(frozen=True)
class PortCounters:
    in_errors: int = 0
    out_errors: int = 0
    in_discards: int = 0
    out_discards: int = 0


@dataclass(frozen=True)
class PortInfo:
    name: str
    index: int
    """The interface index (SNMP ifIndex or the vendor's equivalent)."""
    description: str = ""
    admin_up: bool = False
    oper_up: bool = False
    speed_gbps: float = 0
    mtu: int = 0
    mode: SwitchportMode = SwitchportMode.ACCESS
    counters: PortCounters = field(default_factory=PortCounters)


@dataclass(frozen=True)
class VlanState:
    """A port's VLAN membership. Access ports: `access_vlan` only. Trunks: `native_vlan` (untagged,
    may be None) and `allowed_vlans` (tagged), sorted."""

    mode: SwitchportMode
    access_vlan: int | None = None
    native_vlan: int | None = None
    allowed_vlans: tuple[int, ...] = ()
    untagged_vlans: tuple[int, ...] = ()
    """Other VLANs whose frames the port also sends untagged, sorted: a misconfiguration some
    switches can hold (Q-BRIDGE shows it), never what a setter makes. Empty on a sound port."""


@dataclass(frozen=True)
class LldpNeighbour:
    local_port: str
    chassis_id: str
    system_name: str = ""
    port_id: str = ""
    port_description: str = ""
