"""Batched reads of the topology graph, shaped for per-request DataLoaders.

Every function here answers for many keys in one store round trip, so the number of round
trips a GraphQL request makes grows with its depth, never with its row count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..store.base import GraphStore

Props = dict[str, Any]
Direction = Literal["out", "in"]

_IDENT = frozenset(
    {
        "Site",
        "Rack",
        "Node",
        "GPU",
        "NIC",
        "Switch",
        "Port",
        "HAS_RACK",
        "HOLDS",
        "HAS_GPU",
        "HAS_NIC",
        "HAS_PORT",
        "CABLED",
        "NVLINK",
        "PCIE",
    }
)


def _checked(name: str) -> str:
    """Labels and types are spliced into Cypher; only the model's own names are allowed."""
    if name not in _IDENT:
        raise ValueError(f"unknown label or relationship type {name!r}")
    return name


@dataclass(frozen=True)
class Relation:
    """One way to step from a vertex: `(label)-[type]->(other)` or `(label)<-[type]-(other)`."""

    label: str
    type: str
    other: str
    direction: Direction = "out"

    def pattern(self) -> str:
        a, t, b = _checked(self.label), _checked(self.type), _checked(self.other)
        return (
            f"(a:{a} {{key: k}})-[r:{t}]->(b:{b})"
            if self.direction == "out"
            else f"(a:{a} {{key: k}})<-[r:{t}]-(b:{b})"
        )


@dataclass(frozen=True)
class Related:
    props: Props
    edge: Props


class TopologyReader:
    def __init__(self, store: GraphStore) -> None:
        self.store = store

    async def vertices(self, label: str, keys: Sequence[str]) -> list[Props | None]:
        rows = await self.store.read_collected(
            f"UNWIND $keys AS k MATCH (n:{_checked(label)} {{key: k}})", "n{.*}", {"keys": list(set(keys))}
        )
        found = {row["key"]: row for row in rows}
        return [found.get(k) for k in keys]

    async def related(self, relation: Relation, keys: Sequence[str]) -> list[list[Related]]:
        rows = await self.store.read_collected(
            f"UNWIND $keys AS k MATCH {relation.pattern()}", "{k: k, p: b{.*}, e: r{.*}}", {"keys": list(set(keys))}
        )
        grouped: dict[str, list[Related]] = defaultdict(list)
        for row in rows:
            grouped[row["k"]].append(Related(dict(row["p"]), dict(row["e"])))
        for items in grouped.values():
            items.sort(key=lambda item: (item.props.get("index", 0), item.props["key"]))
        return [grouped.get(k, []) for k in keys]
