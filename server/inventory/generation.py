"""The inventory's generation: a counter that every change to the inventory moves, in the same
atomic write as the change. Whatever is derived from the hardware and its cabling (the placement
index's topology) is rebuilt when the generation it was built from is no longer the store's."""

from __future__ import annotations

from ..store.base import GraphStore, Statement

GENERATION_LABEL = "InventoryGeneration"
MOVE_GENERATION: Statement = (
    f"MERGE (g:{GENERATION_LABEL} {{key: 'head'}}) SET g.seq = coalesce(g.seq, 0) + 1",
    {},
)
READ_GENERATION = f"OPTIONAL MATCH (g:{GENERATION_LABEL} {{key: 'head'}})"
"""Followed by a RETURN naming `g.seq` (null before the first change)."""


async def read_generation(store: GraphStore) -> int | None:
    rows = await store.read(f"{READ_GENERATION} RETURN g.seq AS seq")
    return rows[0]["seq"] if rows else None
