"""Filtered, key-ordered pages of vertices (the store side of Relay connections).

A page is keyset-paginated on `key`: the cursor is the last key seen, so a page costs the
same wherever it starts, and a concurrent insert never shifts rows between pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..store.base import GraphStore
from .reader import Props, _checked


@dataclass
class Selection:
    """`MATCH (n:label)` narrowed by Cypher predicates on `n`, with their parameters."""

    label: str
    prefix: str = ""
    where: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def equals(self, prop: str, value: Any) -> Selection:
        if value is not None:
            name = f"p_{prop}"
            self.where.append(f"n.{prop} = ${name}")
            self.params[name] = value
        return self

    def at_least(self, prop: str, value: Any) -> Selection:
        if value is not None:
            name = f"min_{prop}"
            self.where.append(f"n.{prop} >= ${name}")
            self.params[name] = value
        return self

    def starts_with(self, prop: str, value: str | None) -> Selection:
        if value:
            name = f"prefix_{prop}"
            self.where.append(f"n.{prop} STARTS WITH ${name}")
            self.params[name] = value
        return self

    def _match(self, after: str | None = None) -> tuple[str, dict[str, Any]]:
        where = list(self.where)
        params = dict(self.params)
        if after is not None:
            where.append("n.key > $after")
            params["after"] = after
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return f"{self.prefix}MATCH (n:{_checked(self.label)}){clause}", params


async def fetch_page(store: GraphStore, sel: Selection, first: int, after: str | None) -> tuple[list[Props], bool]:
    """Up to `first` vertices after the key `after`, and whether more follow."""
    match, params = sel._match(after)
    items = await store.read_collected(
        f"{match} WITH n ORDER BY n.key LIMIT $limit", "n{.*}", {**params, "limit": first + 1}
    )
    items.sort(key=lambda item: item["key"])
    return items[:first], len(items) > first


async def count(store: GraphStore, sel: Selection) -> int:
    match, params = sel._match()
    rows = await store.read(f"{match} RETURN count(n) AS total", params)
    return int(rows[0]["total"]) if rows else 0


async def fetch_links_page(store: GraphStore, first: int, after: str | None) -> tuple[list[Props], bool]:
    """Switch-to-switch cables ordered by the key of their stored source port (a port has one cable)."""
    where = "WHERE a.key > $after " if after is not None else ""
    rows = await store.read(
        f"MATCH (a:Port)-[c:CABLED]->(b:Port) {where}"
        "RETURN a{.*} AS a, b{.*} AS b, c.speed_gbps AS speed ORDER BY a.key LIMIT $limit",
        {"after": after, "limit": first + 1},
    )
    items = [{"key": row["a"]["key"], "a": dict(row["a"]), "b": dict(row["b"]), "speed": row["speed"]} for row in rows]
    return items[:first], len(items) > first


async def count_links(store: GraphStore) -> int:
    rows = await store.read("MATCH (:Port)-[c:CABLED]->(:Port) RETURN count(c) AS total")
    return int(rows[0]["total"]) if rows else 0
