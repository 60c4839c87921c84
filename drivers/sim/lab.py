"""`SimLab`: the registry of simulated devices, keyed by address (`sim://<name>`).

Sim drivers find their device in the lab given as `config.options["lab"]`, or else in the
process-wide `default_lab()`. An address the lab does not know answers like a real address with
nothing behind it: `DeviceUnreachable`. So a typo never becomes a silently empty device. A lab
created with `autocreate=True` instead creates a default device on first use (a switch with 8 ports
`swp1`..`swp8`, a node with a small inventory), for demos that do not seed anything.

A lab is in memory (the default, and as fast as plain dicts: the 100k-GPU demo uses it), or
persistent: `SimLab(state_dir=path)` keeps each device in its own file (see `files.py`), so that
several processes share the devices and a process killed half way leaves them as they were. Every
driver call then locks the device's file, reloads the device if the file changed, applies the call
(faults included, `calls` counted) and saves the device if it changed. The process-wide
`default_lab()` is persistent when the environment variable `METALGRAPH_SIM_STATE_DIR` names a
directory when it is first used.

Changing a device outside the drivers: in memory, change the state objects at any time. In a
persistent lab, do it inside `with lab.edit_switch(name) as switch:` (or `edit_node`), which locks,
reloads and saves; a change made to a state object outside such a block is not saved, and is
overwritten when another process changes the device.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import DeviceUnreachable
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
from .files import SCHEME, DeviceFiles, Kind, dumps, loads
from .state import NodeState, SimNeighbour, SimPort, SwitchState, fake_mac

DEFAULT_SWITCH_PORTS = 8
STATE_DIR_ENV = "METALGRAPH_SIM_STATE_DIR"
T = TypeVar("T")
State = SwitchState | NodeState
CLASSES: dict[Kind, type[SwitchState] | type[NodeState]] = {"switch": SwitchState, "node": NodeState}


def sim_address(name_or_address: str) -> str:
    """`leaf-01` -> `sim://leaf-01`; a full `sim://` address is returned unchanged."""
    return name_or_address if name_or_address.startswith(SCHEME) else SCHEME + name_or_address


def device_name(address: str) -> str:
    return address.removeprefix(SCHEME)


def new_switch(
    name: str,
    ports: int | Iterable[SimPort] = DEFAULT_SWITCH_PORTS,
    *,
    port_prefix: str = "swp",
    speed_gbps: float = 100.0,
    system_name: str | None = None,
) -> SwitchState:
    """A switch state not yet in any lab (see `SimLab.add_switch` for the arguments)."""
    address = sim_address(name)
    if isinstance(ports, int):
        ports = [SimPort(f"{port_prefix}{i}", i, speed_gbps=speed_gbps) for i in range(1, ports + 1)]
    state = SwitchState(address, chassis_id=fake_mac(address), system_name=system_name or device_name(address))
    for port in ports:
        state.add_port(port)
    return state


def new_node(
    name: str,
    inventory: HardwareInventory | None = None,
    *,
    power: PowerState = PowerState.OFF,
    boot_devices: Iterable[BootDevice] | None = None,
) -> NodeState:
    """A node state not yet in any lab (see `SimLab.add_node`)."""
    address = sim_address(name)
    state = NodeState(address, inventory=inventory or default_inventory(address), power=power)
    if boot_devices is not None:
        state.boot_devices = frozenset(boot_devices)
    return state


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
    and `SimBmc`; change their state or their `faults` directly at any time (in a persistent lab,
    inside `edit_switch`/`edit_node`)."""

    def __init__(self, *, autocreate: bool = False, state_dir: Path | str | None = None) -> None:
        self.autocreate = autocreate
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._files = DeviceFiles(self.state_dir) if self.state_dir is not None else None
        self._switches: dict[str, SwitchState] = {}
        self._nodes: dict[str, NodeState] = {}
        self._texts: dict[tuple[Kind, str], str] = {}
        """Persistent lab: the file text each cached state was loaded from or saved as."""

    @property
    def persistent(self) -> bool:
        return self._files is not None

    # --- seeding ----------------------------------------------------------------------------------

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
        state = new_switch(name, ports, port_prefix=port_prefix, speed_gbps=speed_gbps, system_name=system_name)
        return self.put_switch(state)

    def add_node(
        self,
        name: str,
        inventory: HardwareInventory | None = None,
        *,
        power: PowerState = PowerState.OFF,
        boot_devices: Iterable[BootDevice] | None = None,
    ) -> NodeState:
        """Add (or replace) a node's BMC; without `inventory` it gets `default_inventory`."""
        return self.put_node(new_node(name, inventory, power=power, boot_devices=boot_devices))

    def put_switch(self, state: SwitchState, *, replace: bool = True) -> SwitchState:
        """Add `state` (see `new_switch`); with `replace=False` a switch already at its address is
        kept. Returns the switch now in the lab."""
        return self._put("switch", state, replace)  # type: ignore[return-value]

    def put_node(self, state: NodeState, *, replace: bool = True) -> NodeState:
        """Add `state` (see `new_node`); with `replace=False` a node already at its address is kept."""
        return self._put("node", state, replace)  # type: ignore[return-value]

    def _put(self, kind: Kind, state: State, replace: bool) -> State:
        table: dict[str, Any] = self._table(kind)
        if self._files is None:
            if replace or state.address not in table:
                table[state.address] = state
            return table[state.address]
        with self._files.locked(kind, state.address):
            existing = self._refresh(kind, state.address)
            if existing is not None and not replace:
                return existing
            table[state.address] = state
            self._save(kind, state)
            return state

    # --- looking up -------------------------------------------------------------------------------

    def switch(self, address: str) -> SwitchState:
        """The seeded switch at `address` (or name); `KeyError` when there is none."""
        found = self._get("switch", sim_address(address))
        if found is None:
            raise KeyError(sim_address(address))
        return found  # type: ignore[return-value]

    def node(self, address: str) -> NodeState:
        """The seeded node at `address` (or name); `KeyError` when there is none."""
        found = self._get("node", sim_address(address))
        if found is None:
            raise KeyError(sim_address(address))
        return found  # type: ignore[return-value]

    def switches(self) -> list[SwitchState]:
        if self._files is not None:
            return [s for a in self._files.addresses("switch") if (s := self._get("switch", a)) is not None]  # type: ignore[misc]
        return list(self._switches.values())

    def nodes(self) -> list[NodeState]:
        if self._files is not None:
            return [n for a in self._files.addresses("node") if (n := self._get("node", a)) is not None]  # type: ignore[misc]
        return list(self._nodes.values())

    def addresses(self) -> set[str]:
        """The addresses of every device in the lab (without loading them)."""
        if self._files is not None:
            return {*self._files.addresses("switch"), *self._files.addresses("node")}
        return {*self._switches, *self._nodes}

    def find_switch(self, address: str) -> SwitchState | None:
        """The switch a driver talks to: seeded, created now if `autocreate`, else None."""
        return self._find("switch", address)  # type: ignore[return-value]

    def find_node(self, address: str) -> NodeState | None:
        """The node a driver talks to: seeded, created now if `autocreate`, else None."""
        return self._find("node", address)  # type: ignore[return-value]

    def _find(self, kind: Kind, address: str) -> State | None:
        address = sim_address(address)
        found = self._get(kind, address)
        if found is None and self.autocreate:
            new = new_switch(address) if kind == "switch" else new_node(address)
            found = self._put(kind, new, replace=False)
        return found

    def _get(self, kind: Kind, address: str) -> State | None:
        if self._files is None:
            return self._table(kind).get(address)
        return self._refresh(kind, address)

    # --- changing ---------------------------------------------------------------------------------

    @contextmanager
    def edit_switch(self, address: str) -> Iterator[SwitchState]:
        """The switch at `address` to change; in a persistent lab, locked, current, and saved at the end."""
        with self._edit("switch", sim_address(address)) as state:
            yield state  # type: ignore[misc]

    @contextmanager
    def edit_node(self, address: str) -> Iterator[NodeState]:
        """The node at `address` to change; in a persistent lab, locked, current, and saved at the end."""
        with self._edit("node", sim_address(address)) as state:
            yield state  # type: ignore[misc]

    @contextmanager
    def _edit(self, kind: Kind, address: str) -> Iterator[State]:
        if self._files is None:
            found = self._table(kind).get(address)
            if found is None:
                raise KeyError(address)
            yield found
            return
        with self._files.locked(kind, address):
            state = self._refresh(kind, address)
            if state is None:
                raise KeyError(address)
            try:
                yield state
            finally:
                self._save(kind, state)

    async def call(
        self,
        kind: Kind,
        address: str,
        timeout_s: float,
        operation: Callable[[Any], T],
        *,
        change: bool = False,
    ) -> T:
        """One driver call on the device at `address`: its faults first (latency, unreachable,
        rejected change, `calls` counted), then `operation(state)`, which must not await. An
        unknown address is `DeviceUnreachable`. In a persistent lab the faults' wait happens
        unlocked, then the rest under the device's lock on its current state, saved if changed."""
        state = self._find(kind, address)
        if state is None:
            raise DeviceUnreachable(f"no simulated {kind} at this address", device=address)
        if self._files is None:
            await state.faults.enter(address, timeout_s, change=change)
            return operation(state)
        await state.faults.delay(address, timeout_s)
        with self._files.locked(kind, state.address):
            current = self._refresh(kind, state.address)
            if current is None:
                raise DeviceUnreachable(f"no simulated {kind} at this address", device=address)
            try:
                current.faults.admit(address, change=change)
                return operation(current)
            finally:
                self._save(kind, current)

    def cable(self, switch_a: str, port_a: str, switch_b: str, port_b: str) -> None:
        """Connect two switch ports: each then sees the other as its LLDP neighbour."""
        a, b = self.switch(switch_a), self.switch(switch_b)
        a_neighbour = SimNeighbour(b.chassis_id, b.system_name, port_b, b.port(port_b).description)
        b_neighbour = SimNeighbour(a.chassis_id, a.system_name, port_a, a.port(port_a).description)
        with self.edit_switch(switch_a) as a:
            a.port(port_a).neighbour = a_neighbour
        with self.edit_switch(switch_b) as b:
            b.port(port_b).neighbour = b_neighbour

    def remove(self, address: str) -> None:
        """Forget the device at `address`; it becomes unreachable."""
        address = sim_address(address)
        for kind in ("switch", "node"):
            if self._files is not None:
                with self._files.locked(kind, address):
                    self._files.delete(kind, address)
            self._table(kind).pop(address, None)
            self._texts.pop((kind, address), None)

    def reset(self) -> None:
        """Forget every device."""
        if self._files is not None:
            for address in self.addresses():
                self.remove(address)
        self._switches.clear()
        self._nodes.clear()
        self._texts.clear()

    # --- persistence ------------------------------------------------------------------------------

    def _table(self, kind: Kind) -> dict[str, Any]:
        return self._switches if kind == "switch" else self._nodes

    def _refresh(self, kind: Kind, address: str) -> State | None:
        """Persistent lab: the cached state brought up to date with its file (files are replaced
        atomically, so this needs no lock). The file is read on every call and parsed only when its
        text changed: file times are too coarse, and inodes are reused, to trust `stat` alone.
        A reload updates the cached object in place, so references to it stay current."""
        assert self._files is not None
        table: dict[str, Any] = self._table(kind)
        text = self._files.read(kind, address)
        if text is None:
            table.pop(address, None)
            self._texts.pop((kind, address), None)
            return None
        cached = table.get(address)
        if cached is not None and self._texts.get((kind, address)) == text:
            return cached  # type: ignore[no-any-return]
        fresh = loads(CLASSES[kind], text)
        if cached is None:
            table[address] = cached = fresh
        else:
            vars(cached).update(vars(fresh))
        self._texts[(kind, address)] = text
        return cached  # type: ignore[no-any-return]

    def _save(self, kind: Kind, state: State) -> None:
        """Persistent lab, holding the device's lock: write the state if it differs from the file."""
        assert self._files is not None
        text = dumps(state)
        if self._texts.get((kind, state.address)) != text:
            self._files.write(kind, state.address, text)
            self._texts[(kind, state.address)] = text


_default: SimLab | None = None


def default_lab() -> SimLab:
    """The process-wide lab that sim drivers use unless their config names another: in memory, or
    persistent in the directory `METALGRAPH_SIM_STATE_DIR` names when it is first used."""
    global _default
    if _default is None:
        state_dir = os.environ.get(STATE_DIR_ENV) or None
        _default = SimLab(state_dir=state_dir)
    return _default


def lab_for(config: DeviceConfig) -> SimLab:
    lab = config.options.get("lab")
    if lab is None:
        return default_lab()
    if not isinstance(lab, SimLab):
        raise TypeError(f"options['lab'] must be a SimLab, not {type(lab).__name__}")
    return lab
