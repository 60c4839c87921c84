"""Numeric OIDs of the MIB objects the driver reads and writes. No MIB is compiled or loaded at
runtime: the readers address columns by number and name them (`IF-MIB::ifHighSpeed.7`) in errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Oid = tuple[int, ...]
"""An object identifier as a tuple of sub-identifiers."""


def parse_oid(dotted: str) -> Oid:
    """`"1.3.6.1"` -> `(1, 3, 6, 1)`."""
    return tuple(int(part) for part in dotted.strip(".").split("."))


@dataclass(frozen=True)
class MibObject:
    """One MIB object (a table column or a scalar): its module, name and numeric OID."""

    mib: str
    name: str
    oid: Oid

    def at(self, index: Sequence[int]) -> Oid:
        """The instance OID of this column at `index`."""
        return self.oid + tuple(index)

    def label(self, index: Sequence[int] = ()) -> str:
        """The symbolic instance name used in errors, e.g. `IF-MIB::ifHighSpeed.7`."""
        suffix = "".join(f".{part}" for part in index)
        return f"{self.mib}::{self.name}{suffix}"


def _column(mib: str, name: str, dotted: str) -> MibObject:
    return MibObject(mib, name, parse_oid(dotted))


# --- IF-MIB (RFC 2863): ifTable 1.3.6.1.2.1.2.2.1 and ifXTable 1.3.6.1.2.1.31.1.1.1 --------------
IF_DESCR = _column("IF-MIB", "ifDescr", "1.3.6.1.2.1.2.2.1.2")
IF_TYPE = _column("IF-MIB", "ifType", "1.3.6.1.2.1.2.2.1.3")
IF_MTU = _column("IF-MIB", "ifMtu", "1.3.6.1.2.1.2.2.1.4")
IF_SPEED = _column("IF-MIB", "ifSpeed", "1.3.6.1.2.1.2.2.1.5")
IF_ADMIN_STATUS = _column("IF-MIB", "ifAdminStatus", "1.3.6.1.2.1.2.2.1.7")
IF_OPER_STATUS = _column("IF-MIB", "ifOperStatus", "1.3.6.1.2.1.2.2.1.8")
IF_IN_DISCARDS = _column("IF-MIB", "ifInDiscards", "1.3.6.1.2.1.2.2.1.13")
IF_IN_ERRORS = _column("IF-MIB", "ifInErrors", "1.3.6.1.2.1.2.2.1.14")
IF_OUT_DISCARDS = _column("IF-MIB", "ifOutDiscards", "1.3.6.1.2.1.2.2.1.19")
IF_OUT_ERRORS = _column("IF-MIB", "ifOutErrors", "1.3.6.1.2.1.2.2.1.20")
IF_NAME = _column("IF-MIB", "ifName", "1.3.6.1.2.1.31.1.1.1.1")
IF_HIGH_SPEED = _column("IF-MIB", "ifHighSpeed", "1.3.6.1.2.1.31.1.1.1.15")
IF_ALIAS = _column("IF-MIB", "ifAlias", "1.3.6.1.2.1.31.1.1.1.18")

# --- LLDP-MIB (IEEE 802.1AB): lldpLocPortTable and lldpRemTable under 1.0.8802.1.1.2.1 ------------
LLDP_LOC_PORT_ID_SUBTYPE = _column("LLDP-MIB", "lldpLocPortIdSubtype", "1.0.8802.1.1.2.1.3.7.1.2")
LLDP_LOC_PORT_ID = _column("LLDP-MIB", "lldpLocPortId", "1.0.8802.1.1.2.1.3.7.1.3")
LLDP_LOC_PORT_DESC = _column("LLDP-MIB", "lldpLocPortDesc", "1.0.8802.1.1.2.1.3.7.1.4")
LLDP_REM_CHASSIS_ID_SUBTYPE = _column("LLDP-MIB", "lldpRemChassisIdSubtype", "1.0.8802.1.1.2.1.4.1.1.4")
LLDP_REM_CHASSIS_ID = _column("LLDP-MIB", "lldpRemChassisId", "1.0.8802.1.1.2.1.4.1.1.5")
LLDP_REM_PORT_ID_SUBTYPE = _column("LLDP-MIB", "lldpRemPortIdSubtype", "1.0.8802.1.1.2.1.4.1.1.6")
LLDP_REM_PORT_ID = _column("LLDP-MIB", "lldpRemPortId", "1.0.8802.1.1.2.1.4.1.1.7")
LLDP_REM_PORT_DESC = _column("LLDP-MIB", "lldpRemPortDesc", "1.0.8802.1.1.2.1.4.1.1.8")
LLDP_REM_SYS_NAME = _column("LLDP-MIB", "lldpRemSysName", "1.0.8802.1.1.2.1.4.1.1.9")

# --- BRIDGE-MIB (RFC 4188): dot1dBasePortTable, bridge port -> ifIndex -----------------------------
DOT1D_BASE_PORT_IF_INDEX = _column("BRIDGE-MIB", "dot1dBasePortIfIndex", "1.3.6.1.2.1.17.1.4.1.2")

# --- Q-BRIDGE-MIB (RFC 4363) under 1.3.6.1.2.1.17.7.1.4 ------------------------------------------
# dot1qVlanCurrentTable, index (dot1qVlanTimeMark, dot1qVlanIndex)
DOT1Q_VLAN_CURRENT_EGRESS = _column("Q-BRIDGE-MIB", "dot1qVlanCurrentEgressPorts", "1.3.6.1.2.1.17.7.1.4.2.1.4")
DOT1Q_VLAN_CURRENT_UNTAGGED = _column("Q-BRIDGE-MIB", "dot1qVlanCurrentUntaggedPorts", "1.3.6.1.2.1.17.7.1.4.2.1.5")
# dot1qVlanStaticTable, index (dot1qVlanIndex)
DOT1Q_VLAN_STATIC_EGRESS = _column("Q-BRIDGE-MIB", "dot1qVlanStaticEgressPorts", "1.3.6.1.2.1.17.7.1.4.3.1.2")
DOT1Q_VLAN_STATIC_UNTAGGED = _column("Q-BRIDGE-MIB", "dot1qVlanStaticUntaggedPorts", "1.3.6.1.2.1.17.7.1.4.3.1.4")
# dot1qPortVlanTable, index (dot1dBasePort)
DOT1Q_PVID = _column("Q-BRIDGE-MIB", "dot1qPvid", "1.3.6.1.2.1.17.7.1.4.5.1.1")

ALL: tuple[MibObject, ...] = tuple(value for value in list(globals().values()) if isinstance(value, MibObject))


def label_of(oid: Sequence[int]) -> str:
    """The symbolic name of any instance OID the driver knows (longest prefix), else the dotted OID."""
    oid = tuple(oid)
    best: MibObject | None = None
    for obj in ALL:
        if oid[: len(obj.oid)] == obj.oid and (best is None or len(obj.oid) > len(best.oid)):
            best = obj
    if best is None:
        return ".".join(str(part) for part in oid)
    return best.label(oid[len(best.oid) :])
