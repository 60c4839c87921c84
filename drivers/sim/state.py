"""The in-memory state of simulated devices. Plain mutable records: tests and demos seed them,
the sim drivers read and change them; the rules (validation, read effects) live in the drivers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..types import (
    BootDevice,
    BootOverride,
    CleaningMethod,
    HardwareInventory,
    Health,
    HealthState,
    PortCounters,
    PortInfo,
    PowerState,
    SwitchportMode,
    VlanState,
)
from .faults import Faults


def fake_mac(seed: str) -> str:
    """A stable, locally administered MAC address derived from `seed`."""
    digest = hashlib.sha256(seed.encode()).digest()
    return ":".join(f"{octet:02x}" for octet in (0x02, *digest[:5]))


@dataclass
class SimNeighbour:
    """What the device on the far end of a port announces over LLDP."""

    chassis_id: str
    system_name: str = ""
    port_id: str = ""
    port_description: str = ""


@dataclass
class SimPort:
    """One switch port: identity, link, VLAN membership, counters and LLDP neighbour."""

    name: str
    index: int
    description: str = ""
    admin_up: bool = True
    oper_up: bool = True
    speed_gbps: float = 100.0
    mtu: int = 9216
    mode: SwitchportMode = SwitchportMode.ACCESS
    access_vlan: int | None = 1
    native_vlan: int | None = None
    allowed_vlans: tuple[int, ...] = ()
    counters: PortCounters = field(default_factory=PortCounters)
    neighbour: SimNeighbour | None = None

    def info(self) -> PortInfo:
        return PortInfo(
            name=self.name,
            index=self.index,
            description=self.description,
            admin_up=self.admin_up,
            oper_up=self.oper_up,
            speed_gbps=self.speed_gbps,
            mtu=self.mtu,
            mode=self.mode,
            counters=self.counters,
        )

    def vlan_state(self) -> VlanState:
        if self.mode is SwitchportMode.ACCESS:
            return VlanState(SwitchportMode.ACCESS, access_vlan=self.access_vlan)
        if self.mode is SwitchportMode.TRUNK:
            return VlanState(SwitchportMode.TRUNK, native_vlan=self.native_vlan, allowed_vlans=self.allowed_vlans)
        return VlanState(SwitchportMode.ROUTED)


@dataclass
class SwitchState:
    """A simulated switch. `ports` are kept by name."""

    address: str
    chassis_id: str
    system_name: str
    ports: dict[str, SimPort] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)

    def add_port(self, port: SimPort) -> SimPort:
        if port.name in self.ports:
            raise ValueError(f"{self.address} already has a port named {port.name}")
        self.ports[port.name] = port
        return port

    def port(self, name: str) -> SimPort:
        return self.ports[name]


@dataclass
class SimJob:
    """A cleaning job: it advances one step per poll and finishes after `steps` polls."""

    id: str
    method: CleaningMethod
    steps: int
    polls: int = 0
    fails: bool = False


@dataclass
class NodeState:
    """A simulated node behind its BMC: inventory, power, boot override, health, cleaning jobs.

    A one-time boot override is used up when the node boots (power on from off, or a cycle);
    `boots` counts the boots and `booted_from` keeps the override the last boot used.
    """

    address: str
    inventory: HardwareInventory = field(default_factory=HardwareInventory)
    power: PowerState = PowerState.OFF
    boot: BootOverride = field(default_factory=lambda: BootOverride(None))
    boot_devices: frozenset[BootDevice] = frozenset(BootDevice)
    """The boot devices this BMC offers; others are `Unsupported`."""
    health: Health = field(default_factory=lambda: Health(HealthState.OK))
    cleaning_steps: int = 3
    """Polls a cleaning job takes to finish."""
    jobs: dict[str, SimJob] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    boots: int = 0
    booted_from: BootDevice | None = None

    def boot_now(self) -> None:
        self.power = PowerState.ON
        self.boots += 1
        self.booted_from = self.boot.device
        if not self.boot.persistent:
            self.boot = BootOverride(None)
