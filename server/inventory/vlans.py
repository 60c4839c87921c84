"""A site's VLAN settings: the pool cluster VLANs are taken from, and the quarantine VLAN.

A pool is written as comma-separated ranges in ascending order, `"1000-3999"` or
`"100-199,300-399"` (a single id, `"42"`, is a range of one). The model validates it with
`vlan_ranges`; the cluster lifecycle reuses the same parse to allocate from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

MIN_VLAN = 2
"""VLAN 1 is the default VLAN of most switches; 4095 is reserved. Usable ids are 2..4094."""
MAX_VLAN = 4094
DEFAULT_VLAN_POOL = "1000-3999"
DEFAULT_QUARANTINE_VLAN = 4000

Ranges = list[tuple[int, int]]


def _vlan_id(text: str, where: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{where}: {text!r} is not a VLAN id")
    vlan = int(text)
    if not MIN_VLAN <= vlan <= MAX_VLAN:
        raise ValueError(f"{where}: VLAN {vlan} is outside {MIN_VLAN}-{MAX_VLAN}")
    return vlan


def vlan_ranges(text: str) -> Ranges:
    """The ranges of a pool, `[(first, last), ...]` inclusive; ValueError says what is wrong.

    Each id lies in 2..4094, each range is `first-last` with first <= last, and the ranges
    ascend without overlapping. An empty pool is refused.
    """
    ranges: Ranges = []
    parts = [part.strip() for part in text.split(",")]
    if not text.strip():
        raise ValueError("a VLAN pool needs at least one range, e.g. '1000-3999'")
    for part in parts:
        if not part:
            raise ValueError(f"empty range in {text!r}")
        first_text, dash, last_text = part.partition("-")
        first = _vlan_id(first_text.strip(), f"range {part!r}")
        last = _vlan_id(last_text.strip(), f"range {part!r}") if dash else first
        if first > last:
            raise ValueError(f"range {part!r} runs backwards")
        if ranges and first <= ranges[-1][1]:
            prev = ranges[-1]
            kind = "overlaps" if first >= prev[0] else "comes before"
            raise ValueError(f"range {part!r} {kind} {prev[0]}-{prev[1]}: ranges must ascend without overlapping")
        ranges.append((first, last))
    return ranges


def in_ranges(ranges: Sequence[tuple[int, int]], vlan: int) -> bool:
    return any(first <= vlan <= last for first, last in ranges)


def iter_vlans(ranges: Sequence[tuple[int, int]]) -> Iterator[int]:
    """Every VLAN id of the ranges, ascending."""
    for first, last in ranges:
        yield from range(first, last + 1)


def pool_size(ranges: Sequence[tuple[int, int]]) -> int:
    return sum(last - first + 1 for first, last in ranges)


def site_vlans(site: Mapping[str, Any]) -> tuple[Ranges, int]:
    """The pool ranges and quarantine VLAN of stored Site properties (a site stored before these
    settings existed has the defaults)."""
    pool = site.get("vlan_pool") or DEFAULT_VLAN_POOL
    quarantine = site.get("quarantine_vlan")
    return vlan_ranges(pool), DEFAULT_QUARANTINE_VLAN if quarantine is None else int(quarantine)
