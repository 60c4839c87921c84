"""Whole-inventory operations: plan an import as a diff, apply it, export what the store holds."""

from __future__ import annotations

from ..store.base import GraphStore
from .diff import ChangeSet, diff
from .model import Inventory
from .records import from_records, to_records
from .references import validate_references
from .repository import Progress, apply_changes, load_records


async def plan_import(store: GraphStore, inventory: Inventory, *, prune: bool = True) -> ChangeSet:
    """The changes that make the store hold `inventory`; with `prune=False` nothing is removed."""
    desired = to_records(validate_references(inventory))
    current = await load_records(store)
    return diff(current, desired, remove_missing=prune)


async def import_inventory(
    store: GraphStore, inventory: Inventory, *, prune: bool = True, progress: Progress | None = None
) -> ChangeSet:
    changes = await plan_import(store, inventory, prune=prune)
    if not changes.empty:
        await apply_changes(store, changes, progress)
    return changes


async def export_inventory(store: GraphStore) -> Inventory:
    return from_records(await load_records(store))
