"""Progress events of a long step (ports configured, nodes powered on), for watchers and the CLI.

A step reports every finished part through a plain callback; `StepProgress` turns that into at
most one event per `steps` share of the work (and one at the end), written in the background in
order, so a 1,000-port step makes a handful of events and never waits on them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .context import JobContext
from .events import event_statement
from .states import ClusterState

Reporter = Callable[[int, int], None]

LABELS = {"network": "switch ports configured", "power": "nodes powered on"}


class StepProgress:
    def __init__(self, ctx: JobContext, cluster: str, steps: int = 4) -> None:
        self.ctx = ctx
        self.cluster = cluster
        self.steps = steps
        self._queue: asyncio.Queue[tuple[str, ClusterState, int, int] | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    def reporter(self, kind: str, state: ClusterState) -> Reporter:
        last_bucket = -1

        def report(done: int, total: int) -> None:
            nonlocal last_bucket
            bucket = self.steps if done >= total else done * self.steps // max(total, 1)
            if bucket > last_bucket and (bucket > 0 or done == total):
                last_bucket = bucket
                self._queue.put_nowait((kind, state, done, total))
                if self._writer is None or self._writer.done():
                    self._writer = asyncio.create_task(self._write())

        return report

    async def flush(self) -> None:
        """Wait until every progress event reported so far is written."""
        if self._writer is not None:
            await self._writer

    async def _write(self) -> None:
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                return
            kind, state, done, total = item
            message = f"{done} of {total} {LABELS.get(kind, kind)}"
            await self.ctx.store.write_atomically([event_statement(self.cluster, kind, state, message, done, total)])
            self.ctx.bell.ring([self.cluster])
