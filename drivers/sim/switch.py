"""`SimSwitch`: a switch driver over a simulated switch in a `SimLab`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..base import SwitchDriver
from ..errors import ChangeRejected, DeviceUnreachable, MalformedResponse
from ..types import DeviceConfig, LldpNeighbour, PortInfo, SwitchportMode, VlanState
from .lab import lab_for
from .state import SimPort, SwitchState

VLAN_IDS = range(1, 4095)


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

    async def _switch(self, *, change: bool = False) -> SwitchState:
        switch = self.lab.find_switch(self.address)
        if switch is None:
            raise DeviceUnreachable("no simulated switch at this address", device=self.address)
        await switch.faults.enter(self.address, self.config.timeout_s, change=change)
        return switch

    def _port(self, switch: SwitchState, name: str) -> SimPort:
        port = switch.ports.get(name)
        if port is None:
            raise MalformedResponse(f"no port named {name!r}", field="port", device=self.address)
        return port

    async def get_ports(self) -> list[PortInfo]:
        switch = await self._switch()
        faults = switch.faults
        for port in switch.ports.values():
            if port.name in faults.flapping_ports:
                port.oper_up = not port.oper_up
            added = faults.rising_errors.get(port.name, 0)
            if added:
                port.counters = dataclasses.replace(port.counters, in_errors=port.counters.in_errors + added)
        return sorted((port.info() for port in switch.ports.values()), key=lambda info: info.index)

    async def get_vlan_state(self, port: str) -> VlanState:
        switch = await self._switch()
        return self._port(switch, port).vlan_state()

    async def get_vlan_states(self) -> dict[str, VlanState]:
        switch = await self._switch()
        return {port.name: port.vlan_state() for port in sorted(switch.ports.values(), key=lambda p: p.index)}

    async def set_access_vlan(self, port: str, vlan: int) -> None:
        target = self._switchport(await self._switch(change=True), port, [vlan])
        target.mode, target.access_vlan = SwitchportMode.ACCESS, vlan
        target.native_vlan, target.allowed_vlans = None, ()

    async def set_trunk_vlans(self, port: str, allowed: Sequence[int], native: int | None = None) -> None:
        vlans = [*allowed] if native is None else [*allowed, native]
        target = self._switchport(await self._switch(change=True), port, vlans)
        target.mode, target.access_vlan = SwitchportMode.TRUNK, None
        target.native_vlan, target.allowed_vlans = native, tuple(sorted(set(allowed)))

    async def get_lldp_neighbours(self) -> list[LldpNeighbour]:
        switch = await self._switch()
        return [
            LldpNeighbour(port.name, n.chassis_id, n.system_name, n.port_id, n.port_description)
            for port in sorted(switch.ports.values(), key=lambda p: p.index)
            if (n := port.neighbour) is not None
        ]

    def _switchport(self, switch: SwitchState, name: str, vlans: Sequence[int]) -> SimPort:
        port = self._port(switch, name)
        if port.mode is SwitchportMode.ROUTED:
            raise ChangeRejected(f"{name} is a routed port", device=self.address)
        invalid = [vlan for vlan in vlans if vlan not in VLAN_IDS]
        if invalid:
            raise ChangeRejected(f"invalid VLAN ids {invalid} (1..4094)", device=self.address)
        return port
