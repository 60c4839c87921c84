"""Sanitizing nodes between tenants: every drive erased through the BMC before a node is free again.

A node leaves a cluster in state `sanitizing` (with `sanitizing_for`, the cluster it left). Any
server's `Sanitizer` claims such a node under a lease, powers it off, starts a secure-erase job on
its BMC (the job id is kept on the node, so a server that takes over after a crash polls the same
job), and waits for it. Only a completed job makes the node `available`; a failed or impossible one
makes it `failed` with the reason (and `needs_erase`: an operator who puts it back in service sends it
through sanitization again), out of the pool until an operator looks at it. The reservation of
a new cluster only takes `available` nodes, so a node can never reach the next tenant unerased.
"""

from __future__ import annotations

import asyncio
import logging
import time

from metalgraph.drivers.errors import DriverError
from metalgraph.drivers.types import CleaningMethod, JobState, PowerAction

from ..audit.storable import storable_text
from ..devices.access import node_bmc
from ..devices.secrets import SecretError
from ..errors import DomainError
from ..store.base import Statement, StoreQueryError
from .context import JobContext
from .events import event_statement

log = logging.getLogger("metalgraph.lifecycle")

_CLAIMABLE = """
MATCH (n:Node {state: 'sanitizing'}) WHERE coalesce(n.clean_lease_until, 0) < $now
RETURN n.key AS node LIMIT $limit
"""
_LOCK = "MATCH (n:Node {key: $node}) SET n.clean_claiming = $owner"
_CLAIM = """
MATCH (n:Node {key: $node})
WITH n, 1 / CASE WHEN n.state = 'sanitizing' AND (n.clean_owner = $owner OR coalesce(n.clean_lease_until, 0) < $now)
                 THEN 1 ELSE 0 END AS claimable
SET n.clean_owner = $owner, n.clean_lease_until = $until
REMOVE n.clean_claiming
"""
_READ = "MATCH (n:Node {key: $node}) RETURN n.clean_job AS job, n.sanitizing_for AS cluster, n.state AS state"
_FINISH = """
MATCH (n:Node {key: $node}) WHERE n.state = 'sanitizing'
SET n.state = $state, n.failure_reason = $reason, n.power_state = 'off', n.needs_erase = $erase
REMOVE n.clean_job, n.clean_owner, n.clean_lease_until, n.sanitizing_for
"""


class Sanitizer:
    """Erases the sanitizing nodes this server claims (see the module doc); `tick` claims new ones."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.config = ctx.config
        self._running: dict[str, asyncio.Task[None]] = {}

    async def tick(self) -> None:
        """Start work on every sanitizing node nobody is working on."""
        rows = await self.store.read(_CLAIMABLE, {"now": time.time(), "limit": 256})
        for row in rows:
            node = row["node"]
            if node not in self._running and await self._claim(node):
                task = asyncio.create_task(self._sanitize(node), name=f"sanitize {node}")
                self._running[node] = task
                task.add_done_callback(lambda _t, n=node: self._running.pop(n, None))

    async def close(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _claim(self, node: str) -> bool:
        now = time.time()
        params = {"node": node, "owner": self.config.owner, "now": now, "until": now + self.config.lease_s}
        try:
            await self.store.write_atomically([(_LOCK, params), (_CLAIM, params)])
        except StoreQueryError as e:
            if "by zero" in str(e).lower():
                return False
            raise
        return True

    async def _sanitize(self, node: str) -> None:
        try:
            rows = await self.store.read(_READ, {"node": node})
            if not rows or rows[0]["state"] != "sanitizing":
                return
            cluster = rows[0]["cluster"]
            await self.ctx.prepare_devices()
            try:
                await self._erase(node, rows[0]["job"])
            except _TakenOver:
                return
            except (DriverError, DomainError, SecretError, TimeoutError) as e:
                await self._finish(node, cluster, f"sanitization failed: {e}")
                return
            await self._finish(node, cluster, None)
        except asyncio.CancelledError:
            raise
        except Exception:  # a store outage: the lease runs out and this or another server retries
            log.exception("sanitizing %s stopped; it will be retried", node)

    async def _erase(self, node: str, job_id: str | None) -> None:
        ref = await node_bmc(self.store, node)
        deadline = time.monotonic() + self.config.clean_timeout_s
        async with self.ctx.access.open_bmc(ref) as bmc:
            await bmc.set_power_state(PowerAction.OFF)
            if job_id is None:
                job = await bmc.start_cleaning(CleaningMethod.SECURE_ERASE)
                job_id = job.id
                await self.store.write_atomically(
                    [("MATCH (n:Node {key: $node}) SET n.clean_job = $job", {"node": node, "job": job_id})]
                )
            while True:
                job = await bmc.get_cleaning_job(job_id)
                if job.state is JobState.COMPLETED:
                    return
                if job.state is JobState.FAILED:
                    raise DomainError(f"the BMC reports the erase job failed: {job.message or 'no reason given'}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the erase job did not finish within {self.config.clean_timeout_s:g} s")
                await self._renew(node)
                await asyncio.sleep(self.config.clean_poll_s)

    async def _renew(self, node: str) -> None:
        if not await self._claim(node):
            raise _TakenOver(node)

    async def _finish(self, node: str, cluster: str | None, failure: str | None) -> None:
        """Make `node` available, or failed with `failure` (which may quote the BMC: made storable)."""
        failure = storable_text(failure) if failure else None
        state = "failed" if failure else "available"
        changes: list[Statement] = [
            (_FINISH, {"node": node, "state": state, "reason": failure, "erase": failure is not None})
        ]
        if cluster:
            message = f"node {node} could not be sanitized: {failure}" if failure else f"node {node} sanitized"
            changes.append(event_statement(cluster, "node_failed" if failure else "sanitized", None, message))
        await self.ctx.record(cluster, "sanitizeNode", failure or "sanitized", changes, node=node)


class _TakenOver(Exception):
    """Another server holds this node's lease now (this one stalled past it): stop, it carries on."""
