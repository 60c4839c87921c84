"""Graph stores: one interface (`GraphStore`), an embedded FalkorDB adapter and a Neo4j adapter."""

from __future__ import annotations

from collections.abc import Sequence

from ..settings import Settings
from .base import GraphStore, StoreError, StoreLocked, StoreQueryError, StoreUnavailable, count_round_trips

__all__ = [
    "GraphStore",
    "StoreError",
    "StoreLocked",
    "StoreQueryError",
    "StoreUnavailable",
    "count_round_trips",
    "open_store",
]


def open_store(settings: Settings, keyed_labels: Sequence[str]) -> GraphStore:
    """The store the settings name, not yet started."""
    if settings.uses_neo4j:
        from .neo4j_store import Neo4jStore

        password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else None
        return Neo4jStore(
            settings.store, keyed_labels, user=settings.neo4j_user, password=password, database=settings.neo4j_database
        )
    from .falkordb_store import FalkorStore

    return FalkorStore(settings.data_dir, keyed_labels)
