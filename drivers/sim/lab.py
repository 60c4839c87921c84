"""`SimLab`: the registry of simulated devices, keyed by address (`sim://<name>`).

Sim drivers find their device in the lab given as `config.options["lab"]`, or else in the
process-wide `default_lab()`. An address the lab does not know answers like a real address with
nothing behind it: `DeviceUnreachable`. So a typo never becomes a silently empty device. A lab
created with `autocreate=True` instead creates a default device on first use (a switch with 8 ports
`swp1`..`swp8`, a node with a small inventory), for demos that do not seed anything.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..types import (
    BootDevice,
    CpuInfo,
    DeviceConfig,
    DriveInfo,
    GpuInfo,
    HardwareInventory,
    NicPortInfo,
    PowerState,
)
from .state import NodeState, SimNeighbour, SimPort, SwitchState, fake_mac

SCHEME = "sim://"
DEFAULT_SWITCH_PORTS = 8


def sim_address(name_or_address: str) -> str:
    """`leaf-01` -> `sim://leaf-01`; a full `sim://` address is returned unchanged."""
    return name_or_address if name_or_address.startswith(SCHEME) else SCHEME + name_or_address


def device_name(address: str) -> str:
    return address.removeprefix(SCHEME)


def default_inventory(address: str) -> HardwareInventory:
    """A small, stable inventory for a node seeded without one."""
    name = device_name(address)
    return HardwareInventory(
        serial=f"SIM-{name}",
        vendor="metalgraph",
        model="sim-node",
        cpus=(CpuInfo("sim-cpu", cores=32, threads=64, socket="CPU0"), CpuInfo("sim-cpu", 32, 64, "CPU1")),
        memory_gb=512,
        gpus=tuple(GpuInfo("sim-gpu", memory_gb=80, serial=f"{name}-gpu{i}", slot=f"GPU{i}") for i in range(2)),
        nics=tuple(
            NicPortInfo(f"eth{i}", fake_mac(f"{address}/eth{i}"), speed_gbps=100, link_up=True) for i in range(2)
        ),
        drives=(DriveInfo("nvme0", capacity_gb=3840, media="ssd", serial=f"{name}-nvme0", secure_erase=True),),
    )


class SimLab:
    """Simulated switches and nodes by address. Seed them, then talk to them through `SimSwitch`
    and `SimBmc`; change their state or their `faults` directly at any time."""

    def __init__(self, *, autocreate: bool = False) -> None:
        self.autocreate = autocreate
        self._switches: dict[str, SwitchState] = {}
        self._nodes: dict[str, NodeState] = {}

    def add_switch(
        self,
        name: str,
        ports: int | Iterable[SimPort] = DEFAULT_SWITCH_PORTS,
        *,
        port_prefix: str = "swp",
        speed_gbps: float = 100.0,
        system_name: str | None = None,
    ) -> SwitchState:
        """Add (or replace) a switch. `ports` is a count (named `<port_prefix>1`.. with indexes 1..)
        or the ports themselves."""
        address = sim_address(name)
        if isinstance(ports, int):
            ports = [SimPort(f"{port_prefix}{i}", i, speed_gbps=speed_gbps) for i in range(1, ports + 1)]
        state = SwitchState(address, chassis_id=fake_mac(address), system_name=system_name or device_name(address))
        for port in ports:
            state.add_port(port)
        self._switches[address] = state
        return state

    def add_node(
        self,
        name: str,
        inventory: HardwareInventory | None = None,
        *,
        power: PowerState = PowerState.OFF,
        boot_devices: Iterable[BootDevice] | None = None,
    ) -> NodeState:
        """Add (or replace) a node's BMC; without `inventory` it gets `default_inventory`."""
        address = sim_address(name)
        state = NodeState(address, inventory=inventory or default_inventory(address), power=power)
        if boot_devices is not None:
            state.boot_devices = frozenset(boot_devices)
        self._nodes[address] = state
        return state

    def switch(self, address: str) -> SwitchState:
        """The seeded switch at `address` (or name); `KeyError` when there is none."""
        return self._switches[sim_address(address)]

    def node(self, address: str) -> NodeState:
        """The seeded node at `address` (or name); `KeyError` when there is none."""
        return self._nodes[sim_address(address)]

    def switches(self) -> list[SwitchState]:
        return list(self._switches.values())

    def nodes(self) -> list[NodeState]:
        return list(self._nodes.values())

    def find_switch(self, address: str) -> SwitchState | None:
        """The switch a driver talks to: seeded, created now if `autocreate`, else None."""
        found = self._switches.get(sim_address(address))
        if found is None and self.autocreate:
            found = self.add_switch(address)
        return found

    def find_node(self, address: str) -> NodeState | None:
        """The node a driver talks to: seeded, created now if `autocreate`, else None."""
        found = self._nodes.get(sim_address(address))
        if found is None and self.autocreate:
            found = self.add_node(address)
        return found

    def cable(self, switch_a: str, port_a: str, switch_b: str, port_b: str) -> None:
        """Connect two switch ports: each then sees the other as its LLDP neighbour."""
        a, b = self.switch(switch_a), self.switch(switch_b)
        a.port(port_a).neighbour = SimNeighbour(b.chassis_id, b.system_name, port_b, b.port(port_b).description)
        b.port(port_b).neighbour = SimNeighbour(a.chassis_id, a.system_name, port_a, a.port(port_a).description)

    def remove(self, address: str) -> None:
        """Forget the device at `address`; it becomes unreachable."""
        self._switches.pop(sim_address(address), None)
        self._nodes.pop(sim_address(address), None)

    def reset(self) -> None:
        """Forget every device."""
        self._switches.clear()
        self._nodes.clear()


_DEFAULT_LAB = SimLab()


def default_lab() -> SimLab:
    """The process-wide lab that sim drivers use unless their config names another."""
    return _DEFAULT_LAB


def lab_for(config: DeviceConfig) -> SimLab:
    lab = config.options.get("lab")
    if lab is None:
        return _DEFAULT_LAB
    if not isinstance(lab, SimLab):
        raise TypeError(f"options['lab'] must be a SimLab, not {type(lab).__name__}")
    return lab
