"""`SnmpSwitch`: the `SwitchDriver` over SNMP v2c / v3 with IF-MIB, LLDP-MIB, BRIDGE-MIB and
Q-BRIDGE-MIB. The flow lives here; the MIB readers and the vendor profiles do the rest.

Ports are the interfaces the vendor profile calls ports (`port_types`, `port_pattern`); a port
that is no bridge port has mode `routed`. When the agent has no Q-BRIDGE-MIB, `get_ports` reports
every port as `routed` (SNMP cannot tell more) while the VLAN methods raise `Unsupported`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import ClassVar, TypeVar

from ..base import SwitchDriver
from ..errors import ChangeRejected, DeviceTimeout, MalformedResponse, Unsupported
from ..types import DeviceConfig, LldpNeighbour, PortCounters, PortInfo, SwitchportMode, VlanState
from .ifmib import Interface, InterfaceId, read_interface_ids, read_interfaces
from .lldp import read_neighbours
from .qbridge import Membership, read_membership
from .session import SnmpSession
from .settings import parse_settings
from .vendors import VendorProfile, profile_for
from .vlanwrite import Wanted, plan

ROUTED = VlanState(mode=SwitchportMode.ROUTED)
NO_VLAN = VlanState(mode=SwitchportMode.ACCESS, access_vlan=None)
"""How Q-BRIDGE shows a bridge port that is a member of no VLAN (see `qbridge`)."""
AnyInterface = TypeVar("AnyInterface", bound=InterfaceId)
_WRITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int, str], asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
"""One lock per agent (host, port, context) and event loop: see `SnmpSwitch._apply`."""


class SnmpSwitch(SwitchDriver):
    """A switch read and configured over SNMP. See `settings` for the address, options and
    credentials, and `vendors.yaml` for the `vendor` profiles."""

    name: ClassVar[str] = "snmp"

    def __init__(self, config: DeviceConfig) -> None:
        super().__init__(config)
        self.profile: VendorProfile = profile_for(config.options)
        self._session = SnmpSession(parse_settings(config), device=config.address)

    async def close(self) -> None:
        """Close the SNMP socket. Idempotent; never raises."""
        self._session.close()

    # --- reads ------------------------------------------------------------------------------------

    async def get_ports(self) -> list[PortInfo]:
        """Every port by ifIndex, with its mode from the VLAN tables (routed when not bridged)."""
        async with self._deadline("get_ports"):
            interfaces = self._only_ports(await read_interfaces(self._session, self.profile))
            try:
                membership: Membership | None = await read_membership(self._session, self.profile)
            except Unsupported:
                membership = None
            return [_port_info(interface, _state(membership, interface).mode) for interface in interfaces]

    async def get_counters(self) -> dict[str, PortCounters]:
        """Error and discard counters by port name (IF-MIB only)."""
        async with self._deadline("get_counters"):
            interfaces = self._only_ports(await read_interfaces(self._session, self.profile))
            return {interface.name: interface.counters for interface in interfaces}

    async def get_vlan_state(self, port: str) -> VlanState:
        """The VLAN membership of `port`; `routed` when it is no bridge port."""
        async with self._deadline("get_vlan_state"):
            interface = _find(await self._ports(), port, self.address)
            return _state(await read_membership(self._session, self.profile), interface)

    async def get_vlan_states(self) -> dict[str, VlanState]:
        """The VLAN membership of every port, by port name, from one walk of the tables."""
        async with self._deadline("get_vlan_states"):
            interfaces = await self._ports()
            membership = await read_membership(self._session, self.profile)
            return {interface.name: _state(membership, interface) for interface in interfaces}

    async def get_lldp_neighbours(self) -> list[LldpNeighbour]:
        """Every LLDP neighbour, with the local port named as the switch names it."""
        async with self._deadline("get_lldp_neighbours"):
            interfaces = await read_interface_ids(self._session, self.profile)
            return await read_neighbours(self._session, self.profile, interfaces)

    # --- writes -----------------------------------------------------------------------------------

    async def set_access_vlan(self, port: str, vlan: int) -> None:
        """Untagged member of `vlan` only, PVID `vlan`; idempotent; read back."""
        await self._apply("set_access_vlan", port, Wanted.access(vlan), VlanState(SwitchportMode.ACCESS, vlan))

    async def set_trunk_vlans(self, port: str, allowed: Sequence[int], native: int | None = None) -> None:
        """Tagged member of exactly `allowed` (less `native`), untagged member and PVID of `native`
        when given (else untagged nowhere, PVID unchanged); idempotent; read back. A trunk with only a
        native VLAN is `Unsupported`: Q-BRIDGE cannot tell it from an access port. A trunk carrying
        nothing (no VLAN, no native) leaves the port a member of no VLAN, which reads back as
        `NO_VLAN` (the cluster lifecycle asks for it when a trunk's last tenant VLAN goes)."""
        wanted = Wanted.trunk(allowed, native)
        if not wanted.tagged and native is not None:
            raise Unsupported("a trunk needs a tagged VLAN besides the native one", device=self.address)
        expected = (
            VlanState(mode=SwitchportMode.TRUNK, native_vlan=native, allowed_vlans=tuple(sorted(wanted.tagged)))
            if wanted.tagged
            else NO_VLAN
        )
        await self._apply("set_trunk_vlans", port, wanted, expected)

    async def _apply(self, operation: str, port: str, wanted: Wanted, expected: VlanState) -> None:
        """Read the port lists, SET them with this port's bits changed, read back. A VLAN's port list is
        shared by every port of the switch, so changes of two ports must not interleave (the second
        would write the first's bits back as it read them): this process's changes to one agent take
        turns, and the driver's deadline starts once it is this change's turn. Another manager writing
        the same agent at once can still race (SNMP has no transaction)."""
        if not self.profile.vlan_writable:
            raise Unsupported(
                f"vendor profile {self.profile.name!r} takes no VLAN changes by SNMP", device=self.address
            )
        async with self._write_lock(), self._deadline(operation):
            await self._apply_alone(port, wanted, expected)

    def _write_lock(self) -> asyncio.Lock:
        settings = self._session.settings
        locks = _WRITE_LOCKS.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault((settings.host, settings.port, settings.context), asyncio.Lock())

    async def _apply_alone(self, port: str, wanted: Wanted, expected: VlanState) -> None:
        interface = _find(await self._ports(), port, self.address)
        membership = await read_membership(self._session, self.profile)
        if membership.table != "static":
            raise Unsupported("VLAN changes need dot1qVlanStaticTable, which the agent lacks", device=self.address)
        bridge_port = membership.bridge_ports.get(interface.index)
        if bridge_port is None:
            raise Unsupported(f"port {port} is not a bridge port (routed)", device=self.address)
        steps = plan(membership, bridge_port, wanted, self.address)
        if not steps:
            return
        for step in steps:
            await self._session.set(step)
        after = (await read_membership(self._session, self.profile)).state(bridge_port)
        if after != expected:
            raise ChangeRejected(
                f"read-back of {port} shows {_show(after)}, expected {_show(expected)}", device=self.address
            )

    # --- helpers ----------------------------------------------------------------------------------

    async def _ports(self) -> list[InterfaceId]:
        """The ports, named only (the cheap walk)."""
        return self._only_ports(await read_interface_ids(self._session, self.profile))

    def _only_ports(self, interfaces: list[AnyInterface]) -> list[AnyInterface]:
        return [interface for interface in interfaces if self.profile.is_port(interface.name, interface.if_type)]

    @asynccontextmanager
    async def _deadline(self, operation: str) -> AsyncIterator[None]:
        """Bound one driver call by `config.timeout_s`."""
        try:
            async with asyncio.timeout(self.config.timeout_s):
                yield
        except TimeoutError as e:
            raise DeviceTimeout(
                f"{operation} did not finish in {self.config.timeout_s:g} s", device=self.address
            ) from e


def _find(interfaces: Sequence[InterfaceId], port: str, device: str) -> InterfaceId:
    for interface in interfaces:
        if interface.name == port:
            return interface
    raise MalformedResponse(f"the switch has no port {port!r}", field="port", device=device)


def _state(membership: Membership | None, interface: InterfaceId) -> VlanState:
    if membership is None or interface.index not in membership.bridge_ports:
        return ROUTED
    return membership.state(membership.bridge_ports[interface.index])


def _port_info(interface: Interface, mode: SwitchportMode) -> PortInfo:
    return PortInfo(
        name=interface.name,
        index=interface.index,
        description=interface.alias,
        admin_up=interface.admin_up,
        oper_up=interface.oper_up,
        speed_gbps=interface.speed_gbps,
        mtu=interface.mtu,
        mode=mode,
        counters=interface.counters,
    )


def _show(state: VlanState) -> str:
    if state.mode is SwitchportMode.ACCESS:
        return f"access vlan {state.access_vlan}"
    if state.mode is SwitchportMode.TRUNK:
        return f"trunk native {state.native_vlan} allowed {list(state.allowed_vlans)}"
    return str(state.mode)
