"""IF-MIB reader: every interface of the agent (ifTable + ifXTable) as typed values, either just
how it is named (`read_interface_ids`: three columns, for resolving port names) or in full.

Rules: ifDescr must exist (else `Unsupported`). The index set is every index any column reports;
each ifTable column read, and each ifXTable column the agent has at all, must cover it (a hole is
`MalformedResponse`). ifName falls back to ifDescr (and the reverse, per profile) when the column is
absent or a value is empty; ifHighSpeed (Mb/s) falls back to ifSpeed (b/s) when the column is absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import Unsupported
from ..types import PortCounters
from . import oids
from .oids import MibObject
from .session import SnmpSession
from .values import Column, Index, Reader
from .vendors import VendorProfile

ADMIN_STATES = (1, 2, 3)  # up, down, testing
OPER_STATES = (1, 2, 3, 4, 5, 6, 7)  # up, down, testing, unknown, dormant, notPresent, lowerLayerDown
_ID_COLUMNS = (oids.IF_DESCR, oids.IF_TYPE, oids.IF_NAME)
_REQUIRED = (
    oids.IF_DESCR,
    oids.IF_TYPE,
    oids.IF_MTU,
    oids.IF_ADMIN_STATUS,
    oids.IF_OPER_STATUS,
    oids.IF_IN_ERRORS,
    oids.IF_OUT_ERRORS,
    oids.IF_IN_DISCARDS,
    oids.IF_OUT_DISCARDS,
)
_OPTIONAL = (oids.IF_NAME, oids.IF_HIGH_SPEED, oids.IF_SPEED, oids.IF_ALIAS)


@dataclass(frozen=True)
class InterfaceId:
    """How one interface is known."""

    index: int
    name: str
    """As the profile names ports (ifName or ifDescr)."""
    if_name: str
    if_descr: str
    if_type: int


@dataclass(frozen=True)
class Interface(InterfaceId):
    """One IF-MIB row in full."""

    alias: str
    admin_up: bool
    oper_up: bool
    speed_gbps: float
    mtu: int
    counters: PortCounters


async def read_interface_ids(session: SnmpSession, profile: VendorProfile) -> list[InterfaceId]:
    """How every interface is named, by ifIndex (ifDescr, ifType, ifName only)."""
    reader, columns, indexes = await _walk(session, _ID_COLUMNS, [oids.IF_DESCR, oids.IF_TYPE])
    return [_interface_id(reader, columns, index, profile) for index in indexes]


async def read_interfaces(session: SnmpSession, profile: VendorProfile) -> list[Interface]:
    """Every interface in full, by ifIndex."""
    reader, columns, indexes = await _walk(session, [*_REQUIRED, *_OPTIONAL], _REQUIRED)
    speed_column = oids.IF_HIGH_SPEED if columns[oids.IF_HIGH_SPEED] else oids.IF_SPEED
    _check_holes(reader, columns, [speed_column], indexes)
    return [_interface(reader, columns, index, profile, speed_column) for index in indexes]


async def _walk(
    session: SnmpSession, walked: Sequence[MibObject], required: Sequence[MibObject]
) -> tuple[Reader, Mapping[MibObject, Column], list[Index]]:
    columns = await session.walk(walked)
    if not columns[oids.IF_DESCR]:
        raise Unsupported("the agent has no IF-MIB::ifTable", device=session.device)
    reader = Reader(session.device)
    for column, values in columns.items():
        reader.check_index(values, column, 1)
    indexes = sorted({index for values in columns.values() for index in values})
    present = [*required, *(c for c in (oids.IF_NAME, oids.IF_ALIAS) if columns.get(c))]
    _check_holes(reader, columns, present, indexes)
    return reader, columns, indexes


def _check_holes(
    reader: Reader, columns: Mapping[MibObject, Column], present: Sequence[MibObject], indexes: Sequence[Index]
) -> None:
    for column in present:
        for index in indexes:
            reader.row(columns[column], column, index)


def _text(reader: Reader, columns: Mapping[MibObject, Column], column: MibObject, index: Index) -> str:
    value = columns.get(column, {}).get(index)
    return "" if value is None else reader.text(column, index, value)


def _interface_id(
    reader: Reader, columns: Mapping[MibObject, Column], index: Index, profile: VendorProfile
) -> InterfaceId:
    descr, if_name = _text(reader, columns, oids.IF_DESCR, index), _text(reader, columns, oids.IF_NAME, index)
    preferred, other = (if_name, descr) if profile.port_name == "ifName" else (descr, if_name)
    if_type = reader.integer(oids.IF_TYPE, index, columns[oids.IF_TYPE][index])
    return InterfaceId(index[0], preferred or other or str(index[0]), if_name, descr, if_type)


def _interface(
    reader: Reader,
    columns: Mapping[MibObject, Column],
    index: Index,
    profile: VendorProfile,
    speed_column: MibObject,
) -> Interface:
    def integer(column: MibObject) -> int:
        return reader.integer(column, index, columns[column][index])

    ident = _interface_id(reader, columns, index, profile)
    speed = integer(speed_column)
    speed_gbps = speed / 1000 if speed_column is oids.IF_HIGH_SPEED else speed / 1e9
    admin = reader.enum(oids.IF_ADMIN_STATUS, index, columns[oids.IF_ADMIN_STATUS][index], ADMIN_STATES)
    oper = reader.enum(oids.IF_OPER_STATUS, index, columns[oids.IF_OPER_STATUS][index], OPER_STATES)
    return Interface(
        index=ident.index,
        name=ident.name,
        if_name=ident.if_name,
        if_descr=ident.if_descr,
        if_type=ident.if_type,
        alias=_text(reader, columns, oids.IF_ALIAS, index),
        admin_up=admin == 1,
        oper_up=oper == 1,
        speed_gbps=speed_gbps,
        mtu=integer(oids.IF_MTU),
        counters=PortCounters(
            in_errors=integer(oids.IF_IN_ERRORS),
            out_errors=integer(oids.IF_OUT_ERRORS),
            in_discards=integer(oids.IF_IN_DISCARDS),
            out_discards=integer(oids.IF_OUT_DISCARDS),
        ),
    )
