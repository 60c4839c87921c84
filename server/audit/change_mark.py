"""The change mark: one read that says whether what the graph holds may have changed since a cache read it.

It pairs the audit head's `changes` (the appends that carried changes: every change made through
the API, in any process sharing the store) with the inventory's generation (every inventory
change, also those written without an audit entry: the CLI's `import` and `discover --apply`
into a store a server is using). Caches of what the graph holds (tenant scopes, the placement
index) keep what they read while the mark they read it at is the store's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..inventory.generation import READ_GENERATION
from ..store.base import GraphStore

_READ = (
    f"OPTIONAL MATCH (h:AuditHead {{key: 'head'}}) WITH h {READ_GENERATION} "
    "RETURN h.changes AS changes, g.seq AS generation"
)


@dataclass(frozen=True)
class ChangeMark:
    changes: object
    """The audit head's count of appends that carried changes (None before the first entry)."""
    generation: object
    """The inventory's generation (None before the first inventory change)."""


async def read_change_mark(store: GraphStore) -> ChangeMark:
    rows = await store.read(_READ)
    return ChangeMark(rows[0]["changes"], rows[0]["generation"]) if rows else ChangeMark(None, None)
