"""The per-request context: the caller, the services, and fresh DataLoaders (caches never outlive a request)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from metalgraph.server.store.base import GraphStore
from metalgraph.server.topology.reader import Props, Related, Relation, TopologyReader


@dataclass
class Caller:
    is_admin: bool
    from_loopback: bool


@dataclass
class Loaders:
    reader: TopologyReader
    _vertex: dict[str, DataLoader[str, Props | None]] = field(default_factory=dict)
    _related: dict[Relation, DataLoader[str, list[Related]]] = field(default_factory=dict)

    def vertex(self, label: str) -> DataLoader[str, Props | None]:
        if label not in self._vertex:

            async def load(keys: list[str]) -> list[Props | None]:
                return await self.reader.vertices(label, keys)

            self._vertex[label] = DataLoader(load)
        return self._vertex[label]

    def related(self, relation: Relation) -> DataLoader[str, list[Related]]:
        if relation not in self._related:

            async def load(keys: list[str]) -> list[list[Related]]:
                return await self.reader.related(relation, keys)

            self._related[relation] = DataLoader(load)
        return self._related[relation]


@dataclass
class Context:
    store: GraphStore
    caller: Caller
    loaders: Loaders
    settings: Any
    request: Any = None
    response: Any = None


def new_context(store: GraphStore, caller: Caller, settings: Any, request: Any = None, response: Any = None) -> Context:
    return Context(store, caller, Loaders(TopologyReader(store)), settings, request, response)
