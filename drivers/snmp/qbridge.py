"""Q-BRIDGE-MIB reader: VLAN membership per bridge port, and the port's `VlanState` derived from it.

Membership comes from dot1qVlanStaticTable or dot1qVlanCurrentTable (the profile's `vlan_tables`,
first one the agent has), PVIDs from dot1qPvid, bridge port -> ifIndex from BRIDGE-MIB's
dot1dBasePortIfIndex. Bits for bridge ports the agent does not list are kept on write but ignored.

Derivation (per bridge port; tagged = egress minus untagged):
- tagged in any VLAN -> trunk: `allowed_vlans` the tagged ones, `native_vlan` the PVID when the
  port is an untagged member of it, else None;
- otherwise -> access: `access_vlan` the PVID when untagged there, else the lowest untagged VLAN,
  else None (a bridge port in no VLAN);
- either way, the port's other untagged VLANs go to `untagged_vlans`: a port untagged in a tenant
  VLAN besides its PVID's sends that VLAN's frames out untagged, and must not look sound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import Unsupported
from ..types import SwitchportMode, VlanState
from . import oids, portlist
from .oids import MibObject
from .session import SnmpSession
from .values import Reader
from .vendors import VendorProfile

TABLES: dict[str, tuple[MibObject, MibObject, int]] = {
    "static": (oids.DOT1Q_VLAN_STATIC_EGRESS, oids.DOT1Q_VLAN_STATIC_UNTAGGED, 1),
    "current": (oids.DOT1Q_VLAN_CURRENT_EGRESS, oids.DOT1Q_VLAN_CURRENT_UNTAGGED, 2),
}
"""table -> (egress column, untagged column, index length); the VLAN id is the last index part."""


@dataclass(frozen=True)
class VlanRow:
    """One VLAN's member lists as the agent sent them."""

    vlan: int
    egress: bytes
    untagged: bytes

    @property
    def egress_ports(self) -> frozenset[int]:
        """Bridge ports that send this VLAN (tagged or untagged)."""
        return portlist.decode(self.egress)

    @property
    def untagged_ports(self) -> frozenset[int]:
        """Bridge ports that send this VLAN untagged."""
        return portlist.decode(self.untagged)


@dataclass(frozen=True)
class Membership:
    """A snapshot of the switch's VLAN tables."""

    table: str
    """Which table the rows came from: `static` or `current`."""
    vlans: Mapping[int, VlanRow]
    pvids: Mapping[int, int]
    """bridge port -> PVID"""
    bridge_ports: Mapping[int, int]
    """ifIndex -> bridge port"""

    def state(self, bridge_port: int) -> VlanState:
        """The `VlanState` of one bridge port (see the module docstring)."""
        untagged = sorted(row.vlan for row in self.vlans.values() if bridge_port in row.untagged_ports)
        tagged = sorted(
            row.vlan
            for row in self.vlans.values()
            if bridge_port in row.egress_ports and bridge_port not in row.untagged_ports
        )
        pvid = self.pvids.get(bridge_port)
        if tagged:
            native = pvid if pvid in untagged else None
            others = tuple(v for v in untagged if v != native)
            return VlanState(
                SwitchportMode.TRUNK, native_vlan=native, allowed_vlans=tuple(tagged), untagged_vlans=others
            )
        access = pvid if pvid in untagged else (untagged[0] if untagged else None)
        others = tuple(v for v in untagged if v != access)
        return VlanState(mode=SwitchportMode.ACCESS, access_vlan=access, untagged_vlans=others)


async def read_membership(session: SnmpSession, profile: VendorProfile) -> Membership:
    """The VLAN tables now. `Unsupported` when the agent lacks what the profile needs;
    `MalformedResponse` for holes, wrong types, bad lengths and untagged members outside egress."""
    reader = Reader(session.device)
    base = await session.walk([oids.DOT1D_BASE_PORT_IF_INDEX, oids.DOT1Q_PVID])
    for table in profile.vlan_tables:
        egress_obj, untagged_obj, index_length = TABLES[table]
        columns = await session.walk([egress_obj, untagged_obj])
        if columns[egress_obj] or columns[untagged_obj]:
            break
    else:
        names = " or ".join(TABLES[table][0].label() for table in profile.vlan_tables)
        raise Unsupported(f"the agent has no VLAN table ({names})", device=session.device)
    for column in (oids.DOT1D_BASE_PORT_IF_INDEX, oids.DOT1Q_PVID):
        if not base[column]:
            raise Unsupported(f"the agent has no {column.label()}", device=session.device)
        reader.check_index(base[column], column, 1)
    bridge_ports = {
        reader.integer(oids.DOT1D_BASE_PORT_IF_INDEX, index, value): index[0]
        for index, value in base[oids.DOT1D_BASE_PORT_IF_INDEX].items()
    }
    pvids = {index[0]: reader.integer(oids.DOT1Q_PVID, index, value) for index, value in base[oids.DOT1Q_PVID].items()}
    for port in bridge_ports.values():
        reader.row(base[oids.DOT1Q_PVID], oids.DOT1Q_PVID, (port,))
    vlans: dict[int, VlanRow] = {}
    for column in (egress_obj, untagged_obj):
        reader.check_index(columns[column], column, index_length)
    for index in sorted(set(columns[egress_obj]) | set(columns[untagged_obj])):
        egress = reader.octets(egress_obj, index, reader.row(columns[egress_obj], egress_obj, index))
        untagged = reader.octets(untagged_obj, index, reader.row(columns[untagged_obj], untagged_obj, index))
        for obj, octets in ((egress_obj, egress), (untagged_obj, untagged)):
            if profile.portlist_octets is not None and len(octets) != profile.portlist_octets:
                raise reader.malformed(
                    obj, index, f"a port list of {len(octets)} octets, expected {profile.portlist_octets}"
                )
        row = VlanRow(vlan=index[-1], egress=egress, untagged=untagged)
        if not row.untagged_ports <= row.egress_ports:
            extra = sorted(row.untagged_ports - row.egress_ports)
            raise reader.malformed(untagged_obj, index, f"untagged bridge ports {extra} are not egress members")
        vlans[row.vlan] = row
    return Membership(table=table, vlans=vlans, pvids=pvids, bridge_ports=bridge_ports)
