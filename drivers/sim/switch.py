"""`SimSwitch`: a switch driver over a simulated switch in a `SimLab`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TypeVar

from ..base import SwitchDriver
from ..errors import ChangeRejected, MalformedResponse
from ..types import DeviceConfig, LldpNeighbour, PortInfo, SwitchportMode, VlanState
from .lab import lab_for
from .state import SimPort, SwitchState

VLAN_IDS = range(1, 4095)
T = TypeVar("T")


class SimSwitch(SwitchDriver):
    """Reads and configures a simulated switch. Every call passes the switch's `faults` first.

    Reading the ports applies the read faults: flapping ports toggle their oper status and ports
    with rising errors gain `in_errors`. VLAN ids outside 1..4094 and VLAN changes on routed ports
    raise `ChangeRejected`, as a real switch refuses them.
    """

    name = "sim"

    def __init__(self, config: DeviceConfig) -> None:
        super().__init__(config)
        self.lab = lab_for(config)

    async def _call(self, operation: Callable[[SwitchState], T], *, change: bool = False) -> T:
        """Run `operation` on the switch's state as one device call (see `SimLab.call`)."""
        return await self.lab.call("switch", self.address, self.config.timeout_s, operation, change=change)

    def _port(self, switch: SwitchState, name: str) -> SimPort:
        port = switch.ports.get(name)
        if port is None:
            raise MalformedResponse(f"no port named {name!r}", field="port", device=self.address)
        return port

    async def get_ports(self) -> list[PortInfo]:
        def read(switch: SwitchState) -> list[PortInfo]:
            faults = switch.faults
            for port in switch.ports.values():
                if port.name in faults.flapping_ports:
                    port.oper_up = not port.oper_up
                added = faults.rising_errors.get(port.name, 0)
                if added:
                    port.counters = dataclasses.replace(port.counters, in_errors=port.counters.in_errors + added)
            return sorted((port.info() for port in switch.ports.values()), key=lambda info: info.index)

        return await self._call(read)

    async def get_vlan_state(self, port: str) -> VlanState:
        return await self._call(lambda switch: self._port(switch, port).vlan_state())

    async def get_vlan_states(self) -> dict[str, VlanState]:
        return await self._call(
            lambda switch: {p.name: p.vlan_state() for p in sorted(switch.ports.values(), key=lambda p: p.index)}
        )

    async def set_access_vlan(self, port: str, vlan: int) -> None:
        def apply(switch: SwitchState) -> None:
            target = self._switchport(switch, port, [vlan])
            if _lost(switch, port):
                return
            target.mode, target.access_vlan = SwitchportMode.ACCESS, vlan
            target.native_vlan, target.allowed_vlans = None, ()

        await self._call(apply, change=True)

    async def set_trunk_vlans(self, port: str, allowed: Sequence[int], native: int | None = None) -> None:
        vlans = [*allowed] if native is None else [*allowed, native]

        def apply(switch: SwitchState) -> None:
            target = self._switchport(switch, port, vlans)
            if _lost(switch, port):
                return
            target.mode, target.access_vlan = SwitchportMode.TRUNK, None
            target.native_vlan, target.allowed_vlans = native, tuple(sorted(set(allowed)))

        await self._call(apply, change=True)

    async def get_lldp_neighbours(self) -> list[LldpNeighbour]:
        return await self._call(
            lambda switch: [
                LldpNeighbour(port.name, n.chassis_id, n.system_name, n.port_id, n.port_description)
                for port in sorted(switch.ports.values(), key=lambda p: p.index)
                if (n := port.neighbour) is not None
            ]
        )

    def _switchport(self, switch: SwitchState, name: str, vlans: Sequence[int]) -> SimPort:
        port = self._port(switch, name)
        if port.mode is SwitchportMode.ROUTED:
            raise ChangeRejected(f"{name} is a routed port", device=self.address)
        invalid = [vlan for vlan in vlans if vlan not in VLAN_IDS]
        if invalid:
            raise ChangeRejected(f"invalid VLAN ids {invalid} (1..4094)", device=self.address)
        return port


def _lost(switch: SwitchState, port: str) -> bool:
    """This change is one the `lost_changes` fault loses."""
    if port in switch.faults.lost_changes:
        switch.faults.lost_changes.discard(port)
        return True
    return False
