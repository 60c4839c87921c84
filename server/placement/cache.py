"""A placement index kept current with the store, for the planner to read in memory.

Occupancy (states, health, cluster membership, link errors) is re-read when the audit head's
sequence number moved (every change through the API appends to the audit log, in any server
sharing the store: see tenancy.visibility.ScopeCache) or after `occupancy_max_age_s`. The topology
is rebuilt when the store's nodes or switch count no longer match it, after `topology_max_age_s`
(a recabling that keeps the counts), or after `invalidate(topology=True)`.

The index may be a few seconds behind changes that bypass the audit log; that is safe because
reservation re-checks every node in the store and the lifecycle retries with `exclude`.
"""

from __future__ import annotations

import asyncio
import time

from ..store.base import GraphStore
from .index import PlacementIndex
from .loader import load_index, load_occupancy

_CHANGE_MARK = "OPTIONAL MATCH (h:AuditHead {key: 'head'}) RETURN h.seq AS seq"


class PlacementCache:
    def __init__(self, store: GraphStore, occupancy_max_age_s: float = 30.0, topology_max_age_s: float = 300.0) -> None:
        self.store = store
        self.occupancy_max_age_s = occupancy_max_age_s
        self.topology_max_age_s = topology_max_age_s
        self._index: PlacementIndex | None = None
        self._mark: object = None
        self._occupancy_at = 0.0
        self._topology_at = 0.0
        self._switches = 0
        self._lock = asyncio.Lock()
        self.topology_loads = 0
        self.occupancy_loads = 0

    def invalidate(self, *, topology: bool = False) -> None:
        """Re-read occupancy on the next `index()` (and the whole topology with `topology=True`)."""
        self._occupancy_at = float("-inf")
        if topology:
            self._topology_at = float("-inf")

    async def index(self) -> PlacementIndex:
        rows = await self.store.read(_CHANGE_MARK)
        mark = rows[0]["seq"] if rows else None
        async with self._lock:
            now = time.monotonic()
            current = self._index
            if current is None or now - self._topology_at >= self.topology_max_age_s:
                return await self._rebuild(mark, now)
            if mark == self._mark and now - self._occupancy_at < self.occupancy_max_age_s:
                return current
            read = await load_occupancy(self.store, current.topology)
            if not read.same_nodes or read.switches != self._switches:
                return await self._rebuild(mark, now)
            self.occupancy_loads += 1
            self._index = current.with_occupancy(read.occupancy)
            self._mark, self._occupancy_at = mark, now
            return self._index

    async def _rebuild(self, mark: object, now: float) -> PlacementIndex:
        index = await load_index(self.store)
        self.topology_loads += 1
        self._index, self._mark = index, mark
        self._occupancy_at = self._topology_at = now
        self._switches = len(index.topology.switches)
        return index
