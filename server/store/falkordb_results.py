"""Decoding FalkorDB's compact result sets into plain rows.

The store contract says queries return scalars, lists and maps, never graph entities, so the
decoder needs no schema look-ups and can be a plain function: the client library's own parser
awaits a coroutine per value, which cost three quarters of a 1,000-row read.
"""

from __future__ import annotations

from typing import Any

from .base import Row, StoreQueryError

_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY, _EDGE, _NODE, _PATH, _MAP = range(1, 11)


def _value(cell: list[Any]) -> Any:
    kind, raw = cell
    if kind in (_STRING, _INTEGER):
        return raw
    if kind == _NULL:
        return None
    if kind == _DOUBLE:
        return float(raw)
    if kind == _BOOLEAN:
        return raw == "true"
    if kind == _MAP:
        return {raw[i]: _value(raw[i + 1]) for i in range(0, len(raw), 2)}
    if kind == _ARRAY:
        return [_value(item) for item in raw]
    if kind in (_EDGE, _NODE, _PATH):
        raise StoreQueryError("queries must return maps such as n{.*}, not graph entities")
    raise StoreQueryError(f"unsupported FalkorDB value type {kind}")


def decode(reply: list[Any]) -> list[Row]:
    """Rows of a `GRAPH.QUERY ... --compact` reply; raises the error a reply carries."""
    if reply and isinstance(reply[-1], Exception):
        raise reply[-1]
    if len(reply) < 3:  # statistics only: a write without RETURN
        return []
    columns = [name for _kind, name in reply[0]]
    return [dict(zip(columns, (_value(cell) for cell in row), strict=True)) for row in reply[1]]
