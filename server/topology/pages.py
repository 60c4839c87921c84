"""Filtered, key-ordered pages of vertices (the store side of Relay connections).

A page is keyset-paginated on `key`: the cursor is the last key seen, so a page costs the
same wherever it starts, and a concurrent insert never shifts rows between pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..store.base import GraphStore
from .reader import Props, _checked
from .scope import Scope


@dataclass
class Selection:
    """`MATCH (n:label)` narrowed by Cypher predicates on `n`, with their parameters."""

    label: str
    prefix: str = ""
    where: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    filtered: set[str] = field(default_factory=set)
    """The properties of `n` a condition reads: one the caller may not read makes the selection empty."""

    def equals(self, prop: str, value: Any) -> Selection:
        if value is not None:
            self.filtered.add(prop)
            name = f"p_{prop}"
            self.where.append(f"n.{prop} = ${name}")
            self.params[name] = value
        return self

    def at_least(self, prop: str, value: Any) -> Selection:
        if value is not None:
            self.filtered.add(prop)
            name = f"min_{prop}"
            self.where.append(f"n.{prop} >= ${name}")
            self.params[name] = value
        return self

    def starts_with(self, prop: str, value: str | None) -> Selection:
        if value:
            self.filtered.add(prop)
            name = f"prefix_{prop}"
            self.where.append(f"n.{prop} STARTS WITH ${name}")
            self.params[name] = value
        return self

    def _match(self, scope: Scope, after: str | None = None) -> tuple[str, dict[str, Any]]:
        where = list(self.where)
        params = dict(self.params)
        visible = scope.keys(self.label)
        if visible is not None:
            where.append("n.key IN $visible")
            params["visible"] = sorted(visible)
            if any(scope.hides(self.label, prop) for prop in self.filtered):
                params["visible"] = []
        if after is not None:
            where.append("n.key > $after")
            params["after"] = after
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return f"{self.prefix}MATCH (n:{_checked(self.label)}){clause}", params


async def fetch_page(
    store: GraphStore, scope: Scope, sel: Selection, first: int, after: str | None
) -> tuple[list[Props], bool]:
    """Up to `first` vertices visible in `scope` after the key `after`, and whether more follow."""
    match, params = sel._match(scope, after)
    items = await store.read_collected(
        f"{match} WITH n ORDER BY n.key LIMIT $limit", "n{.*}", {**params, "limit": first + 1}
    )
    items.sort(key=lambda item: item["key"])
    return [scope.redact(sel.label, item) for item in items[:first]], len(items) > first


async def count(store: GraphStore, scope: Scope, sel: Selection) -> int:
    match, params = sel._match(scope)
    rows = await store.read(f"{match} RETURN count(n) AS total", params)
    return int(rows[0]["total"]) if rows else 0


def _link_filter(scope: Scope, after: str | None) -> tuple[str, dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if after is not None:
        where.append("a.key > $after")
        params["after"] = after
    visible = scope.keys("Port")
    if visible is not None:
        where.append("a.key IN $visible AND b.key IN $visible")
        params["visible"] = sorted(visible)
    return (f"WHERE {' AND '.join(where)} " if where else ""), params


async def fetch_links_page(store: GraphStore, scope: Scope, first: int, after: str | None) -> tuple[list[Props], bool]:
    """Switch-to-switch cables (both ends visible) ordered by the key of their stored source port."""
    where, params = _link_filter(scope, after)
    rows = await store.read(
        f"MATCH (a:Port)-[c:CABLED]->(b:Port) {where}"
        "RETURN a{.*} AS a, b{.*} AS b, c.speed_gbps AS speed ORDER BY a.key LIMIT $limit",
        {**params, "limit": first + 1},
    )
    items = [
        {
            "key": row["a"]["key"],
            "a": scope.redact("Port", dict(row["a"])),
            "b": scope.redact("Port", dict(row["b"])),
            "speed": row["speed"],
        }
        for row in rows
    ]
    return items[:first], len(items) > first


async def count_links(store: GraphStore, scope: Scope) -> int:
    where, params = _link_filter(scope, None)
    rows = await store.read(f"MATCH (a:Port)-[c:CABLED]->(b:Port) {where}RETURN count(c) AS total", params)
    return int(rows[0]["total"]) if rows else 0
