"""LLDP-MIB reader: lldpRemTable rows (index timeMark.localPortNum.remIndex) mapped to local
interface names as the vendor profile says (`lldp_local_port`).

Chassis and port ids are rendered by subtype: MAC addresses as `aa:bb:cc:dd:ee:ff`, network
addresses as IPv4 / IPv6 text, anything else as text (hex with colons when not printable).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import Unsupported
from ..types import LldpNeighbour
from . import oids
from .ifmib import InterfaceId
from .oids import MibObject
from .session import SnmpSession
from .values import Column, Index, Reader
from .vendors import VendorProfile

CHASSIS_MAC, CHASSIS_NETWORK = 4, 5
"""lldpRemChassisIdSubtype values rendered specially (LldpChassisIdSubtype)."""
PORT_MAC, PORT_NETWORK = 3, 4
"""lldpRemPortIdSubtype values rendered specially (LldpPortIdSubtype)."""
_REMOTE = (
    oids.LLDP_REM_CHASSIS_ID_SUBTYPE,
    oids.LLDP_REM_CHASSIS_ID,
    oids.LLDP_REM_PORT_ID_SUBTYPE,
    oids.LLDP_REM_PORT_ID,
    oids.LLDP_REM_PORT_DESC,
    oids.LLDP_REM_SYS_NAME,
)
_LOCAL = {"port_id": oids.LLDP_LOC_PORT_ID, "port_desc": oids.LLDP_LOC_PORT_DESC}


async def read_neighbours(
    session: SnmpSession, profile: VendorProfile, interfaces: Sequence[InterfaceId]
) -> list[LldpNeighbour]:
    """Every neighbour the agent has heard, by local ifIndex then remote index. `Unsupported` when
    the agent has neither lldpRemTable nor lldpLocPortTable (an LLDP agent without neighbours
    still has the local table)."""
    columns = await session.walk([*_REMOTE, *_LOCAL.values()])
    if not any(columns.values()):
        raise Unsupported("the agent has no LLDP-MIB (lldpRemTable, lldpLocPortTable)", device=session.device)
    reader = Reader(session.device)
    for column in _REMOTE:
        reader.check_index(columns[column], column, 3)
    for column in _LOCAL.values():
        reader.check_index(columns[column], column, 1)
    local = _local_port_resolver(reader, profile, interfaces, columns)
    rows = sorted({index for column in _REMOTE for index in columns[column]})
    found: list[tuple[int, int, LldpNeighbour]] = []
    for index in rows:

        def value(column: MibObject, index: Index = index) -> Any:
            return reader.row(columns[column], column, index)

        chassis_subtype = reader.integer(
            oids.LLDP_REM_CHASSIS_ID_SUBTYPE, index, value(oids.LLDP_REM_CHASSIS_ID_SUBTYPE)
        )
        port_subtype = reader.integer(oids.LLDP_REM_PORT_ID_SUBTYPE, index, value(oids.LLDP_REM_PORT_ID_SUBTYPE))
        chassis = reader.octets(oids.LLDP_REM_CHASSIS_ID, index, value(oids.LLDP_REM_CHASSIS_ID))
        port = reader.octets(oids.LLDP_REM_PORT_ID, index, value(oids.LLDP_REM_PORT_ID))
        interface = local(index)
        neighbour = LldpNeighbour(
            local_port=interface.name,
            chassis_id=_render(
                reader,
                oids.LLDP_REM_CHASSIS_ID,
                index,
                chassis,
                chassis_subtype == CHASSIS_MAC,
                chassis_subtype == CHASSIS_NETWORK,
            ),
            system_name=_optional_text(reader, columns[oids.LLDP_REM_SYS_NAME], oids.LLDP_REM_SYS_NAME, index),
            port_id=_render(
                reader, oids.LLDP_REM_PORT_ID, index, port, port_subtype == PORT_MAC, port_subtype == PORT_NETWORK
            ),
            port_description=_optional_text(reader, columns[oids.LLDP_REM_PORT_DESC], oids.LLDP_REM_PORT_DESC, index),
        )
        found.append((interface.index, index[2], neighbour))
    return [neighbour for *_, neighbour in sorted(found, key=lambda item: item[:2])]


def _local_port_resolver(
    reader: Reader, profile: VendorProfile, interfaces: Sequence[InterfaceId], columns: Mapping[MibObject, Column]
) -> Callable[[Index], InterfaceId]:
    """index of an lldpRemTable row -> the local interface, as `profile.lldp_local_port` says."""
    by_index = {interface.index: interface for interface in interfaces}
    by_name: dict[str, InterfaceId] = {}
    for interface in interfaces:
        for name in (interface.if_descr, interface.if_name, interface.name):
            if name:
                by_name.setdefault(name, interface)
    local_column = _LOCAL.get(profile.lldp_local_port)
    if local_column is not None and not columns[local_column]:
        raise Unsupported(f"the agent has no {local_column.label()} (vendor profile {profile.name!r})")

    def resolve(index: Index) -> InterfaceId:
        port_num = index[1]
        if local_column is None:
            found = by_index.get(port_num)
            detail = f"local port {port_num} is no ifIndex"
        else:
            raw = columns[local_column].get((port_num,))
            name = None if raw is None else reader.text(local_column, (port_num,), raw)
            found = None if name is None else by_name.get(name)
            detail = f"local port {port_num} ({local_column.name} {name!r}) names no interface"
        if found is None:
            raise reader.malformed(oids.LLDP_REM_CHASSIS_ID, index, detail)
        return found

    return resolve


def _render(reader: Reader, obj: MibObject, index: Index, raw: bytes, is_mac: bool, is_network: bool) -> str:
    if is_mac:
        if len(raw) != 6:
            raise reader.malformed(obj, index, f"a MAC address of {len(raw)} octets")
        return ":".join(f"{byte:02x}" for byte in raw)
    if is_network and raw[:1] in (b"\x01", b"\x02") and len(raw) in (5, 17):
        return str(ipaddress.ip_address(raw[1:]))  # IANA address family 1 (IPv4) or 2 (IPv6)
    text = raw.rstrip(b"\x00")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        decoded = ""
    if decoded and decoded.isprintable():
        return decoded
    return ":".join(f"{byte:02x}" for byte in raw)


def _optional_text(reader: Reader, column: Column, obj: MibObject, index: Index) -> str:
    value = column.get(index)
    return "" if value is None else reader.text(obj, index, value)
