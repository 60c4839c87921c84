"""`Lifecycle`: what the API asks of the cluster lifecycle, and the background work of this server.

The request side (`create`, `release`, `resize`, `replace_node`, `delete`) only checks the request
and hands a job to the cluster, in one write that the API's audit entry goes with; it returns at
once. The work side, started with the app, claims jobs and sanitizes nodes (`JobRunner`,
`Sanitizer`) in this and every other server on the same store. `watch` follows a cluster's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence

from ..audit.entry import now_iso
from ..errors import AlreadyExists, InUse, InvalidReference, NotFound
from ..isolation import IsolationReport, isolation_report
from ..placement.planner import Plan, plan
from ..placement.spec import ClusterSpec, Level
from ..store.base import GraphStore, Statement, StoreQueryError
from ..tenancy.tenants import check_name, get_tenant
from .admission import AdmissionRequest
from .context import JobContext
from .events import ClusterEvent, event_statement, list_events
from .held import HeldVlans
from .records import ClusterRecord, cluster_key, read_cluster, require_cluster, start_job
from .reserve import CannotPlace, gpu_count
from .runner import JobRunner
from .sanitize import Sanitizer
from .states import RESTING, ClusterState, JobKind

log = logging.getLogger("metalgraph.lifecycle")

_CREATE = """
MATCH (t:Tenant {key: $tenant})
CREATE (t)-[:OWNS]->(c:Cluster)
SET c = $props
"""
_FORGET: list[str] = [
    "MATCH (c:Cluster {key: $key})-[:LOGGED]->(e:ClusterEvent) WHERE c.state IN ['released', 'failed'] DETACH DELETE e",
    "MATCH (c:Cluster {key: $key}) WHERE c.state IN ['released', 'failed'] AND NOT (c)-[:MEMBER]->() "
    "AND NOT (c)-[:ON]->() DETACH DELETE c",
]
"""Forget a cluster that has ended, with its events (a name can then be used again)."""
_LOCK = "MATCH (c:Cluster {key: $key}) SET c.claiming = 'request'"
_IN_STATE = """
MATCH (c:Cluster {key: $key})
WITH c, 1 / CASE WHEN c.state IN $allowed THEN 1 ELSE 0 END AS in_state
REMOVE c.claiming
"""


class InvalidState(InUse):
    """The cluster is not in a state that allows the request (e.g. releasing one still provisioning)."""


class Lifecycle:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.runner = JobRunner(ctx)
        self.sanitizer = Sanitizer(ctx)
        self.held = HeldVlans(ctx, self._release_held, ctx.config.held_retry_s)
        self._loop: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    # --- the work side ---------------------------------------------------------------------

    async def start(self) -> None:
        """Run jobs and sanitization; load the placement index meanwhile, ahead of the first plan."""
        if self._loop is None:
            self._loop = asyncio.create_task(self._work(), name="lifecycle worker")
            self._warming = asyncio.create_task(self.ctx.placement.warm(), name="placement index warm-up")

    async def close(self) -> None:
        for task in (self._loop, self._warming):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._loop = self._warming = None
        await self.ctx.placement.close()
        await self.runner.close()
        await self.sanitizer.close()

    def wake(self) -> None:
        """Look for work now rather than at the next poll."""
        self._wake.set()

    async def _work(self) -> None:
        while True:
            try:
                await self.runner.tick()
                await self.sanitizer.tick()
                await self.held.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the store is down: try again at the next poll
                log.exception("lifecycle worker could not look for work")
            try:
                async with asyncio.timeout(self.ctx.config.poll_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    # --- the request side ------------------------------------------------------------------

    async def plan(self, spec: ClusterSpec, anchors: Sequence[str] = ()) -> Plan:
        """Where `spec` would go now; no side effect."""
        return plan(await self.ctx.placement.index(), spec, anchors=tuple(anchors))

    async def create(
        self, store: GraphStore, tenant: str, name: str, spec: ClusterSpec, description: str = ""
    ) -> ClusterRecord:
        """Ask for a new cluster; it is provisioned in the background (see `watch`). `CannotPlace`
        at once when nothing could hold it now, with the reasons."""
        check_name("cluster", name)
        if await get_tenant(self.ctx.store, tenant) is None:
            raise NotFound(f"tenant {tenant!r} not found")
        key = cluster_key(tenant, name)
        existing = await read_cluster(self.ctx.store, key)
        if existing is not None and existing.state not in (ClusterState.RELEASED, ClusterState.FAILED):
            raise AlreadyExists(f"cluster {name!r} already exists")
        index = await self.ctx.placement.index()
        found = plan(index, spec)
        if not found.feasible:
            raise CannotPlace("; ".join(found.explanations))
        nodes = tuple(sorted(found.nodes))
        # Refused now if the nodes it would get already break a rule; the job checks again when it reserves.
        await self.ctx.admission.admit(
            self.ctx.store,
            AdmissionRequest(tenant, name, JobKind.CREATE, nodes, gpu_count(index, nodes), len(nodes)),
        )
        at = now_iso()
        props = {
            "key": key,
            "name": name,
            "tenant": tenant,
            "description": description,
            "spec": spec.to_json(),
            "created_at": at,
            "updated_at": at,
            "state": ClusterState.REQUESTED.value,
        }
        changes: list[Statement] = []
        if existing is not None:
            changes += [(query, {"key": key}) for query in _FORGET]
        changes += [
            (_CREATE, {"tenant": tenant, "props": props}),
            start_job(key, JobKind.CREATE, ClusterState.REQUESTED, "reserve", {}, []),
            event_statement(key, "requested", ClusterState.REQUESTED, f"requested: {_wanted(spec)}"),
        ]
        try:
            await store.write_atomically(changes)
        except StoreQueryError as e:
            if "already exists" in str(e).lower() or "constraint" in str(e).lower():
                raise AlreadyExists(f"cluster {name!r} already exists") from None
            raise
        self.wake()
        return await require_cluster(self.ctx.store, key)

    async def release(self, store: GraphStore, tenant: str, name: str) -> ClusterRecord:
        """Give a ready cluster back (or clean up after a failed one): ports to quarantine, nodes
        sanitized, VLAN to the pool; the cluster ends `released`."""
        return await self._release(store, cluster_key(tenant, name), "release requested")

    async def _release(
        self,
        store: GraphStore | None,
        key: str,
        message: str,
        allowed: Sequence[ClusterState] = (ClusterState.READY, ClusterState.FAILED),
    ) -> ClusterRecord:
        """`store` None: the server's own decision, audited as the lifecycle."""
        record = await require_cluster(self.ctx.store, key)
        await self._start(
            store,
            record,
            allowed,
            JobKind.RELEASE,
            ClusterState.RELEASING,
            "detach",
            {},
            list(record.members),
            message,
        )
        return await require_cluster(self.ctx.store, record.key)

    async def _release_held(self, key: str) -> None:
        with contextlib.suppress(InvalidState):  # someone acted on it meanwhile
            message = "release retried: the switches of the held ports answer again"
            await self._release(None, key, message, allowed=(ClusterState.FAILED,))

    async def grow(self, store: GraphStore, tenant: str, name: str, add: int) -> ClusterRecord:
        """Add `add` nodes, preferring the domains the cluster already uses. Refused at once when no
        inventory could hold that many more, or when the cluster's size alone breaks an admission rule
        (the job admits the nodes it picks again)."""
        if add < 1:
            raise InvalidReference("a cluster grows by at least one node")
        record = await require_cluster(self.ctx.store, cluster_key(tenant, name))
        others = (await self.ctx.placement.index()).topology.size - len(record.members)
        if add > others:
            raise InvalidReference(f"a cluster grows by at most {max(others, 0)} node(s): the inventory has no more")
        size_only = AdmissionRequest(tenant, name, JobKind.GROW, (), 0, len(record.members) + add)
        await self.ctx.admission.admit(self.ctx.store, size_only)
        await self._start(
            store,
            record,
            (ClusterState.READY,),
            JobKind.GROW,
            ClusterState.RESIZING,
            "reserve",
            {"add": add},
            [],
            f"grow by {add} node(s) requested",
        )
        return await require_cluster(self.ctx.store, record.key)

    async def shrink(
        self, store: GraphStore, tenant: str, name: str, nodes: Sequence[str] = (), count: int = 0
    ) -> ClusterRecord:
        """Release the given nodes, or the `count` outermost ones (those in the leaf domains where
        the cluster has the fewest nodes), to sanitization; the rest of the cluster stays ready."""
        record = await require_cluster(self.ctx.store, cluster_key(tenant, name))
        if nodes:
            strangers = sorted(set(nodes) - set(record.members))
            if strangers:
                raise NotFound(f"node(s) not in cluster {name!r}: {', '.join(strangers[:5])}")
            leaving = sorted(set(nodes))
        else:
            leaving = await self._outermost(record, count)
        if not leaving or len(leaving) >= len(record.members):
            raise InvalidReference("a shrink must leave at least one node; release the cluster to give all back")
        await self._start(
            store,
            record,
            (ClusterState.READY,),
            JobKind.SHRINK,
            ClusterState.RESIZING,
            "detach",
            {},
            leaving,
            f"shrink by {len(leaving)} node(s) requested",
        )
        return await require_cluster(self.ctx.store, record.key)

    async def replace_node(self, store: GraphStore, tenant: str, name: str, node: str) -> ClusterRecord:
        """Swap `node` (failed, or just unwanted) for the healthy free node closest to the others."""
        record = await require_cluster(self.ctx.store, cluster_key(tenant, name))
        if node not in record.members:
            raise NotFound(f"node {node!r} is not in cluster {name!r}")
        await self._start(
            store,
            record,
            (ClusterState.READY,),
            JobKind.REPLACE,
            ClusterState.RESIZING,
            "reserve",
            {"node": node},
            [],
            f"replacement of node {node} requested",
        )
        return await require_cluster(self.ctx.store, record.key)

    async def delete(self, store: GraphStore, tenant: str, name: str) -> None:
        """Forget a released or failed cluster and its events."""
        record = await require_cluster(self.ctx.store, cluster_key(tenant, name))
        if record.state not in (ClusterState.RELEASED, ClusterState.FAILED) or record.members or record.vlan:
            raise InvalidState(f"cluster {name!r} is {record.state.value}; release it first")
        await store.write_atomically([(query, {"key": record.key}) for query in _FORGET])

    async def isolation_report(self, switches: Sequence[str] | None = None) -> IsolationReport:
        """The graph's intended VLAN isolation against every switch (or `switches`), through the same
        device access the jobs use."""
        await self.ctx.prepare_devices()
        return await isolation_report(self.ctx.store, self.ctx.access, switches=switches)

    async def events(self, tenant: str, name: str, after: int = 0, limit: int = 1000) -> list[ClusterEvent]:
        return await list_events(self.ctx.store, cluster_key(tenant, name), after, limit)

    async def watch(self, tenant: str, name: str, after: int = 0) -> AsyncIterator[ClusterEvent]:
        """Every event after `after` as it happens; ends once the cluster rests (ready, failed, released)
        and every event up to then was given."""
        key = cluster_key(tenant, name)
        while True:
            record = await read_cluster(self.ctx.store, key)
            if record is None:
                return
            for event in await list_events(self.ctx.store, key, after):
                after = event.seq
                yield event
            if record.state in RESTING and record.job is None:
                if not await list_events(self.ctx.store, key, after, 1):
                    return
                continue
            await self.ctx.bell.wait(key, self.ctx.config.poll_s)

    async def _start(
        self,
        store: GraphStore | None,
        record: ClusterRecord,
        allowed: Sequence[ClusterState],
        job: JobKind,
        state: ClusterState,
        step: str,
        args: dict[str, object],
        nodes: list[str],
        message: str,
    ) -> None:
        if record.state not in allowed:
            raise InvalidState(
                f"cluster {record.name!r} is {record.state.value}; this needs it "
                + " or ".join(s.value for s in allowed)
            )
        params = {"key": record.key, "allowed": [s.value for s in allowed]}
        changes = [
            (_LOCK, params),
            (_IN_STATE, params),
            start_job(record.key, job, state, step, args, nodes),
            event_statement(record.key, job.value, state, message),
        ]
        try:
            if store is None:
                await self.ctx.record(record.key, f"{job.value}Cluster", message, changes)
            else:
                await store.write_atomically(changes)
        except StoreQueryError as e:
            if "by zero" in str(e).lower():
                raise InvalidState(f"cluster {record.name!r} changed state meanwhile; try again") from None
            raise
        self.wake()

    async def _outermost(self, record: ClusterRecord, count: int) -> list[str]:
        if count < 1:
            raise InvalidReference("give the nodes to remove or a count of at least one")
        index = await self.ctx.placement.index()
        domain = {n: index.domain_of(n, Level.LEAF) or n for n in record.members}
        pod = {n: index.domain_of(n, Level.SPINE_POD) or n for n in record.members}
        per_domain, per_pod = Counter(domain.values()), Counter(pod.values())
        ranked = sorted(record.members, key=lambda n: (per_pod[pod[n]], per_domain[domain[n]], n), reverse=False)
        return ranked[:count]


def _wanted(spec: ClusterSpec) -> str:
    size = f"{spec.nodes} node(s)" if spec.nodes is not None else f"{spec.gpus} GPU(s)"
    model = f" of {spec.gpu_model}" if spec.gpu_model else ""
    return f"{size}{model}, {spec.mode.value} {spec.level.value}"
