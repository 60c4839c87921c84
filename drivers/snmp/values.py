"""Typed access to walked columns: every value is checked against the type its MIB object has, and
a wrong type or a hole raises `MalformedResponse` naming the instance (`IF-MIB::ifMtu.9`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyasn1.type import univ

from ..errors import MalformedResponse
from .oids import MibObject

Index = tuple[int, ...]
Column = Mapping[Index, Any]
"""One walked column: instance index -> raw pysnmp value."""


class Reader:
    """Converts raw values of one device into Python values; `device` goes into every error."""

    def __init__(self, device: str) -> None:
        self.device = device

    def malformed(self, obj: MibObject, index: Index, message: str) -> MalformedResponse:
        return MalformedResponse(message, field=obj.label(index), device=self.device)

    def integer(self, obj: MibObject, index: Index, value: Any) -> int:
        """An INTEGER-like value (Integer32, Gauge32, Counter32/64, Unsigned32, TimeTicks)."""
        if not isinstance(value, univ.Integer):
            raise self.malformed(obj, index, f"expected an integer, got {_kind(value)}")
        return int(value)

    def octets(self, obj: MibObject, index: Index, value: Any) -> bytes:
        """An OCTET STRING value as bytes."""
        if not isinstance(value, univ.OctetString):
            raise self.malformed(obj, index, f"expected an octet string, got {_kind(value)}")
        return bytes(value.asOctets())

    def text(self, obj: MibObject, index: Index, value: Any) -> str:
        """A DisplayString / SnmpAdminString value as text (invalid UTF-8 replaced)."""
        return self.octets(obj, index, value).rstrip(b"\x00").decode("utf-8", errors="replace").strip()

    def enum(self, obj: MibObject, index: Index, value: Any, allowed: Iterable[int]) -> int:
        """An enumerated INTEGER; a value outside `allowed` is malformed."""
        number = self.integer(obj, index, value)
        if number not in set(allowed):
            raise self.malformed(obj, index, f"value {number} is not one the MIB defines")
        return number

    def row(self, column: Column, obj: MibObject, index: Index) -> Any:
        """The value of `obj` at `index`; a hole (no value there) is malformed."""
        try:
            return column[index]
        except KeyError:
            raise self.malformed(obj, index, "missing (the table has a hole here)") from None

    def check_index(self, column: Column, obj: MibObject, length: int) -> None:
        """Every instance of `obj` has an index of `length` sub-identifiers."""
        for index in column:
            if len(index) != length:
                raise self.malformed(obj, index, f"index should have {length} part(s)")


def _kind(value: Any) -> str:
    return type(value).__name__
