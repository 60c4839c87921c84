"""An example third-party switch driver. A real one would speak the vendor's protocol; this one
keeps a four-port switch per address in memory, which is enough to show the shape: typed values
out, the driver error family for every failure, setters that read back what they set."""

from __future__ import annotations

from collections.abc import Sequence

from metalgraph.drivers.base import SwitchDriver
from metalgraph.drivers.errors import ChangeRejected, MalformedResponse
from metalgraph.drivers.types import LldpNeighbour, PortInfo, SwitchportMode, VlanState

PORT_NAMES = ("ge-0/0/0", "ge-0/0/1", "ge-0/0/2", "ge-0/0/3")


class ExampleSwitch(SwitchDriver):
    """A switch whose VLAN table lives in this process, one table per address."""

    name = "example"
    _tables: dict[str, dict[str, VlanState]] = {}

    @property
    def _vlans(self) -> dict[str, VlanState]:
        default = {port: VlanState(SwitchportMode.ACCESS, access_vlan=1) for port in PORT_NAMES}
        return self._tables.setdefault(self.address, default)

    def _known(self, port: str) -> str:
        if port not in self._vlans:
            raise MalformedResponse(f"no port named {port!r}", field="port", device=self.address)
        return port

    async def get_ports(self) -> list[PortInfo]:
        return [
            PortInfo(name, index, admin_up=True, oper_up=index == 1, speed_gbps=25, mtu=9000, mode=state.mode)
            for index, (name, state) in enumerate(self._vlans.items(), start=1)
        ]

    async def get_vlan_state(self, port: str) -> VlanState:
        return self._vlans[self._known(port)]

    async def set_access_vlan(self, port: str, vlan: int) -> None:
        self._set(port, VlanState(SwitchportMode.ACCESS, access_vlan=vlan), [vlan])

    async def set_trunk_vlans(self, port: str, allowed: Sequence[int], native: int | None = None) -> None:
        state = VlanState(SwitchportMode.TRUNK, native_vlan=native, allowed_vlans=tuple(sorted(set(allowed))))
        self._set(port, state, [*allowed, *([native] if native is not None else [])])

    async def get_lldp_neighbours(self) -> list[LldpNeighbour]:
        return [LldpNeighbour(PORT_NAMES[0], "02:00:00:00:00:01", "example-peer", "eth0")]

    def _set(self, port: str, state: VlanState, vlans: list[int]) -> None:
        if any(not 1 <= vlan <= 4094 for vlan in vlans):
            raise ChangeRejected(f"VLAN ids must be 1..4094, got {vlans}", device=self.address)
        self._vlans[self._known(port)] = state
