"""The per-request context: who is calling, what it may see, and fresh DataLoaders.

Resolvers read the graph only through `loaders` and `reader`, both bound to the caller's scope, so a
field cannot return what the caller may not see. `store` is for mutations, which are audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from metalgraph.server.auth.principal import Principal
from metalgraph.server.store.base import GraphStore
from metalgraph.server.topology.reader import Props, Related, Relation, TopologyReader
from metalgraph.server.topology.scope import Scope


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
    principal: Principal | None
    reader: TopologyReader
    loaders: Loaders
    settings: Any
    services: Any
    """The app's long-lived services (audit log, rate limiter, authenticator)."""
    auth_error: str | None = None
    """Why the presented credentials were refused, when they were."""
    client: str = ""
    request: Any = None
    response: Any = None
    audit_operation: str = ""
    """The operation's root fields, for its audit entry."""
    audit_arguments: dict[str, Any] = field(default_factory=dict)
    """Their arguments, variables resolved (the audit log redacts secrets)."""

    @property
    def scope(self) -> Scope:
        return self.reader.scope

    def forget_cached_reads(self) -> None:
        """After a write: whatever was loaded before may be stale."""
        self.loaders = Loaders(self.reader)

    @property
    def tenant(self) -> str | None:
        return self.principal.tenant if self.principal else None


def new_context(
    store: GraphStore,
    principal: Principal | None,
    scope: Scope,
    settings: Any,
    services: Any,
    *,
    auth_error: str | None = None,
    client: str = "",
    request: Any = None,
    response: Any = None,
) -> Context:
    reader = TopologyReader(store, scope)
    return Context(store, principal, reader, Loaders(reader), settings, services, auth_error, client, request, response)
