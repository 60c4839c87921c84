"""A placement index kept current with the store, for the planner to read in memory.

The index follows the store's change mark (`audit.change_mark`). Occupancy (states, health,
cluster membership, link errors) is re-read when the mark moved (every change through the API
appends to the audit log with it, in any server sharing the store) or after `occupancy_max_age_s`.
The topology is rebuilt before answering when the mark's inventory generation moved (every
inventory change moves it, see inventory.generation), when the store's nodes or switch count no
longer match it, or after `invalidate(topology=True)`; and in the background, while the current
one keeps answering, once it is `topology_max_age_s` old (a change written around metalgraph).

The index may be a few seconds behind changes that bypass the audit log; that is safe because
reservation re-checks every node in the store and the lifecycle retries with `exclude`.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ..audit.change_mark import read_change_mark
from ..store.base import GraphStore
from .index import PlacementIndex
from .loader import load_index, load_occupancy

log = logging.getLogger(__name__)

class PlacementCache:
    def __init__(
        self, store: GraphStore, occupancy_max_age_s: float = 30.0, topology_max_age_s: float = 3600.0
    ) -> None:
        self.store = store
        self.occupancy_max_age_s = occupancy_max_age_s
        self.topology_max_age_s = topology_max_age_s
        self._index: PlacementIndex | None = None
        self._mark: object = None
        self._generation: object = None
        self._occupancy_at = 0.0
        self._topology_at = 0.0
        self._switches = 0
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None
        self._epoch = 0
        """Moved by every install and topology invalidation: a refresh installs only into the epoch it began in."""
        self._closed = False
        self.topology_loads = 0
        self.occupancy_loads = 0

    def invalidate(self, *, topology: bool = False) -> None:
        """Re-read occupancy on the next `index()` (and the whole topology with `topology=True`)."""
        self._occupancy_at = float("-inf")
        if topology:
            self._generation = object()
            self._epoch += 1

    async def index(self) -> PlacementIndex:
        async with self._lock:
            mark, generation = await self._marks()
            now = time.monotonic()
            current = self._index
            if current is None or generation != self._generation:
                return await self._rebuild(mark, generation, now)
            if now - self._topology_at >= self.topology_max_age_s:
                self._refresh_in_background()
            if mark == self._mark and now - self._occupancy_at < self.occupancy_max_age_s:
                return current
            read = await load_occupancy(self.store, current.topology)
            if not read.same_nodes or read.switches != self._switches:
                return await self._rebuild(mark, generation, now)
            self.occupancy_loads += 1
            self._index = current.with_occupancy(read.occupancy)
            self._mark, self._occupancy_at = mark, now
            return self._index

    async def warm(self) -> None:
        """Load the index now (at a server's start), so that the first plan does not pay for it."""
        try:
            await self.index()
        except Exception:  # the store is not ready: the first plan loads it instead
            log.exception("placement index could not be loaded ahead of the first plan")

    async def close(self) -> None:
        self._closed = True
        if self._refresh is not None:
            self._refresh.cancel()
            await asyncio.gather(self._refresh, return_exceptions=True)

    async def _marks(self) -> tuple[object, object]:
        mark = await read_change_mark(self.store)
        return mark, mark.generation

    async def _rebuild(self, mark: object, generation: object, now: float) -> PlacementIndex:
        index = await load_index(self.store)
        self._install(index, mark, generation, now)
        return index

    def _install(self, index: PlacementIndex, mark: object, generation: object, now: float) -> None:
        self.topology_loads += 1
        self._epoch += 1
        self._index, self._mark, self._generation = index, mark, generation
        self._occupancy_at = self._topology_at = now
        self._switches = len(index.topology.switches)

    def _refresh_in_background(self) -> None:
        if not self._closed and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self._refresh_topology(), name="placement topology refresh")

    async def _refresh_topology(self) -> None:
        epoch = self._epoch
        try:
            mark, generation = await self._marks()
            index = await load_index(self.store)
        except Exception:  # keep the current index; the next old-age answer tries again
            log.exception("placement topology refresh failed")
            return
        async with self._lock:
            if self._epoch == epoch:  # nothing newer was built, nor the topology invalidated, meanwhile
                self._install(index, mark, generation, time.monotonic())
