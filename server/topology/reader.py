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
from .scope import EVERYTHING, Scope

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
        "Tenant",
        "Cluster",
        "OWNS",
        "MEMBER",
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
    """Reads on behalf of one caller: whatever its `scope` does not include is never returned,
    whichever way it is asked for (by key, by relation, in a page or a count)."""

    def __init__(self, store: GraphStore, scope: Scope = EVERYTHING) -> None:
        self.store = store
        self.scope = scope

    async def vertices(self, label: str, keys: Sequence[str]) -> list[Props | None]:
        wanted = self.scope.only_visible(label, set(keys))
        rows = (
            await self.store.read_collected(
                f"UNWIND $keys AS k MATCH (n:{_checked(label)} {{key: k}})", "n{.*}", {"keys": wanted}
            )
            if wanted
            else []
        )
        found = {row["key"]: self.scope.redact(label, row) for row in rows}
        return [found.get(k) for k in keys]

    async def related(self, relation: Relation, keys: Sequence[str]) -> list[list[Related]]:
        wanted = self.scope.only_visible(relation.label, set(keys))
        rows = (
            await self.store.read_collected(
                f"UNWIND $keys AS k MATCH {relation.pattern()}", "{k: k, p: b{.*}, e: r{.*}}", {"keys": wanted}
            )
            if wanted
            else []
        )
        grouped: dict[str, list[Related]] = defaultdict(list)
        for row in rows:
            if self.scope.sees(relation.other, row["p"]["key"]):
                props = self.scope.redact(relation.other, dict(row["p"]))
                grouped[row["k"]].append(Related(props, dict(row["e"])))
        for items in grouped.values():
            items.sort(key=lambda item: (item.props.get("index", 0), item.props["key"]))
        return [grouped.get(k, []) for k in keys]
