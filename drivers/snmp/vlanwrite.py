"""Q-BRIDGE-MIB writer: turn "this bridge port should be untagged in U, tagged in T, PVID P" into
SETs of dot1qVlanStaticEgressPorts / dot1qVlanStaticUntaggedPorts / dot1qPvid.

Only the port's own bit changes in each VLAN's port list; every other bit (and the list's length)
is written back as read. The SETs go in up to three PDUs, each sent only when it changes something,
in an order that keeps RFC 4363's rules (untagged within egress; the PVID an untagged VLAN):
1. VLANs the port joins or becomes untagged in (egress before untagged);
2. the PVID;
3. VLANs the port leaves or becomes tagged in (untagged before egress).
Nothing is sent when the port is already as wanted, which makes the setters idempotent.
Read-modify-write of shared port lists is not atomic against another manager writing the same VLAN.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pysnmp.proto import rfc1902

from ..errors import ChangeRejected
from . import oids, portlist
from .oids import Oid
from .qbridge import Membership

MAX_VLAN = 4094


@dataclass(frozen=True)
class Wanted:
    """The membership one bridge port should end with."""

    untagged: frozenset[int]
    tagged: frozenset[int]
    pvid: int | None
    """None leaves the PVID as it is (a trunk without a native VLAN)."""

    @classmethod
    def access(cls, vlan: int) -> Wanted:
        """Untagged in `vlan` only, PVID `vlan`."""
        return cls(untagged=frozenset({vlan}), tagged=frozenset(), pvid=vlan)

    @classmethod
    def trunk(cls, allowed: Iterable[int], native: int | None) -> Wanted:
        """Tagged in `allowed` (less `native`); untagged in and PVID `native` when given."""
        tagged = frozenset(allowed) - ({native} if native is not None else set())
        return cls(untagged=frozenset() if native is None else frozenset({native}), tagged=tagged, pvid=native)

    @property
    def vlans(self) -> frozenset[int]:
        """Every VLAN the port should be a member of."""
        return self.untagged | self.tagged


def plan(membership: Membership, bridge_port: int, wanted: Wanted, device: str) -> list[list[tuple[Oid, Any]]]:
    """The SET PDUs (lists of OID, value) that bring `bridge_port` to `wanted`; empty when it is
    there already. `ChangeRejected` for a VLAN id out of range or one the switch does not have."""
    for vlan in sorted(wanted.vlans | ({wanted.pvid} if wanted.pvid is not None else set())):
        if not 1 <= vlan <= MAX_VLAN:
            raise ChangeRejected(f"VLAN {vlan} is outside 1..{MAX_VLAN}", device=device)
        if vlan not in membership.vlans:
            raise ChangeRejected(f"VLAN {vlan} is not configured on the switch (VLANs are not created)", device=device)
    gains: list[tuple[Oid, Any]] = []
    losses: list[tuple[Oid, Any]] = []
    for vlan, row in sorted(membership.vlans.items()):
        in_egress, in_untagged = vlan in wanted.vlans, vlan in wanted.untagged
        egress = portlist.with_port(row.egress, bridge_port, in_egress)
        untagged = portlist.with_port(row.untagged, bridge_port, in_untagged)
        egress_bind = (oids.DOT1Q_VLAN_STATIC_EGRESS.at((vlan,)), rfc1902.OctetString(egress))
        untagged_bind = (oids.DOT1Q_VLAN_STATIC_UNTAGGED.at((vlan,)), rfc1902.OctetString(untagged))
        if in_egress and bridge_port not in row.egress_ports:
            gains.append(egress_bind)
        if in_untagged and bridge_port not in row.untagged_ports:
            gains.append(untagged_bind)
        if not in_untagged and bridge_port in row.untagged_ports:
            losses.append(untagged_bind)
        if not in_egress and bridge_port in row.egress_ports:
            losses.append(egress_bind)
    steps = [gains]
    if wanted.pvid is not None and membership.pvids.get(bridge_port) != wanted.pvid:
        steps.append([(oids.DOT1Q_PVID.at((bridge_port,)), rfc1902.Unsigned32(wanted.pvid))])
    steps.append(losses)
    return [step for step in steps if step]
