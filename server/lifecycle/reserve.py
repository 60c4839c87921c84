"""Reserving nodes for a cluster: plan, admit, then take them in one atomic write.

The plan comes from the in-memory placement index, which may be behind the store by a moment;
correctness comes from the write. It locks the planned nodes, checks in the same transaction that
every one of them is still `available` and in no cluster, and only then makes them members, puts
their ports in the cluster's VLAN (allocating it from the site's pool for a new cluster), adds the
VLAN to the trunks that join them, and moves the job on, all with its audit entry and event. If
another request took one of the nodes first, nothing at all is written: the index is refreshed, the
lost nodes are excluded, and the plan is made again after a random wait, until it succeeds or no plan
is feasible any more (see `MAX_ROUNDS_PER_ATTEMPT` for the bounds). Two servers on one Neo4j are safe
the same way; on the embedded store the write is one query.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import DomainError
from ..placement.index import PlacementIndex
from ..placement.planner import Plan, plan
from ..placement.spec import ClusterSpec, Level
from ..store.base import ConstraintViolation, Statement, StoreQueryError
from .admission import AdmissionRequest
from .context import JobContext
from .events import event_statement
from .fabric import cluster_trunks, node_ports
from .network import set_access_statement, trunk_statements
from .records import ClusterRecord, LeaseLost, owner_guard, read_cluster, set_state
from .states import ClusterState, JobKind
from .vlan_pool import allocate_statement, site_vlans, used_vlans

MAX_ROUNDS_PER_ATTEMPT = 16
"""Losing a race to a request that got ahead (it took a chosen node or the VLAN) is progress and does
not count as an attempt (`reserve_attempts` counts the rounds lost for no visible reason), but a
job plans at most this many times `reserve_attempts` in all."""
VLAN_SPREAD = 32


class CannotPlace(DomainError):
    """No placement meets the request now; the message explains why, level by level."""


_LOCK_NODES = "UNWIND $nodes AS k MATCH (n:Node {key: k}) SET n.reserving = true"
_GUARDED_ASSIGN = """
UNWIND $nodes AS k
MATCH (n:Node {key: k})
WHERE n.state = 'available' AND NOT (n)<-[:MEMBER]-(:Cluster)
WITH collect(n) AS free
WITH free, 1 / CASE WHEN size(free) = size($nodes) THEN 1 ELSE 0 END AS all_still_free
MATCH (c:Cluster {key: $key})
UNWIND free AS n
CREATE (c)-[:MEMBER]->(n)
SET n.state = 'allocated'
REMOVE n.reserving
"""
"""After `_LOCK_NODES` in the same transaction: Neo4j reads without locks, so writing each node first
makes this check see any reservation committed meanwhile (see `tenancy` for the same pattern)."""

_STILL_FREE = """
UNWIND $nodes AS k MATCH (n:Node {key: k})
WHERE n.state = 'available' AND NOT (n)<-[:MEMBER]-(:Cluster)
RETURN n.key AS node
"""


@dataclass(frozen=True)
class Reservation:
    nodes: tuple[str, ...]
    vlan: int
    site: str
    message: str


def request_for(record: ClusterRecord) -> tuple[ClusterSpec, tuple[str, ...], frozenset[str]]:
    """What to plan for the record's job: the spec (sized to the nodes wanted), the anchors (nodes the
    cluster keeps, whose domains the plan should prefer) and the nodes that must not be chosen."""
    spec = ClusterSpec.from_json(record.spec)
    if record.job is JobKind.CREATE:
        return spec, (), frozenset()
    if record.site:
        spec = dataclasses.replace(spec, sites=(record.site,), regions=(), jurisdictions=spec.jurisdictions)
    if record.job is JobKind.GROW:
        return dataclasses.replace(spec, nodes=int(record.job_args["add"]), gpus=None), record.members, frozenset()
    old = record.job_args["node"]
    keep = tuple(m for m in record.members if m != old)
    return dataclasses.replace(spec, nodes=1, gpus=None), keep, frozenset({old})


async def reserve(ctx: JobContext, record: ClusterRecord, next_state: ClusterState) -> Reservation:
    """Reserve the nodes of `record`'s job and move it to `next_state` (step `network`)."""
    spec, anchors, excluded = request_for(record)
    lost: set[str] = set()
    stalled = rounds = 0
    vlan_spread = 1
    while stalled < ctx.config.reserve_attempts and rounds < ctx.config.reserve_attempts * MAX_ROUNDS_PER_ATTEMPT:
        if rounds:
            await asyncio.sleep(_backoff(ctx, rounds))
        rounds += 1
        index = await ctx.placement.index()
        chosen = plan(index, spec, anchors=anchors, exclude=excluded | lost)
        if not chosen.feasible:
            raise CannotPlace("; ".join(chosen.explanations) or "no placement meets the request")
        nodes = tuple(sorted(chosen.nodes))
        taken = set(nodes) - await _still_free(ctx, nodes)
        if taken:  # the index was behind: skip the costly write of a plan that cannot win
            lost |= taken
            ctx.placement.invalidate()
            continue
        gpus = gpu_count(index, nodes)
        await ctx.admission.admit(
            ctx.store,
            AdmissionRequest(
                record.tenant, record.name, record.job or JobKind.CREATE, nodes, gpus, len(anchors) + len(nodes)
            ),
        )
        site = record.site or chosen.site
        assert site is not None  # a feasible plan lives in one site
        try:
            return await _take(ctx, record, nodes, gpus, site, where(chosen), next_state, vlan_spread)
        except _NodesTaken:
            taken = set(nodes) - await _still_free(ctx, nodes)
            if not taken:
                stalled += 1  # the write failed, yet every node is still free: no one got ahead of us
            lost |= taken
            ctx.placement.invalidate()
        except ConstraintViolation:
            ctx.placement.invalidate()  # the VLAN was taken by another cluster meanwhile: pick again,
            vlan_spread = VLAN_SPREAD  # at random among the lowest free, not the one the others pick too
    raise CannotPlace(f"other requests kept taking the chosen nodes; gave up after {rounds} plans")


class _NodesTaken(Exception):
    pass


async def _still_free(ctx: JobContext, nodes: tuple[str, ...]) -> set[str]:
    return {r["node"] for r in await ctx.store.read(_STILL_FREE, {"nodes": list(nodes)})}


def _backoff(ctx: JobContext, rounds: int) -> float:
    """How long to wait before planning again after losing a race: requests that planned on the same
    index pick the same nodes, so only one of them wins each round; a random wait, longer after each
    loss, lets the others plan on an index that shows the winner's nodes."""
    return random.uniform(0.5, 1.0) * ctx.config.poll_s * min(rounds, 4)


def gpu_count(index: PlacementIndex, nodes: Iterable[str]) -> int:
    t = index.topology
    return sum(int(t.gpu_count[t.node_pos[n]]) for n in nodes if n in t.node_pos)


def where(chosen: Plan) -> str:
    """Where a plan puts the nodes, in words: `in 2 leaf domain(s) (a, b) of 1 spine pod (p) at site s`."""
    parts = []
    for level, noun in ((Level.LEAF, "leaf domain"), (Level.SPINE_POD, "spine pod")):
        names = chosen.domains.get(level, ())
        if names:
            shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
            parts.append(f"{len(names)} {noun}(s) ({shown})")
    return "in " + " of ".join(parts) + f" at site {chosen.site}" if parts else f"at site {chosen.site}"


async def _take(
    ctx: JobContext,
    record: ClusterRecord,
    nodes: tuple[str, ...],
    gpus: int,
    site: str,
    place: str,
    next_state: ClusterState,
    vlan_spread: int = 1,
) -> Reservation:
    new_ports = await node_ports(ctx.store, nodes)
    kept_ports = await node_ports(ctx.store, record.members)
    trunks_before = await cluster_trunks(ctx.store, kept_ports) if kept_ports else set()
    trunks_after = await cluster_trunks(ctx.store, [*kept_ports, *new_ports])
    changes: list[Statement] = [
        *owner_guard(record.key, ctx.config.owner),
        (_LOCK_NODES, {"nodes": list(nodes)}),
        (_GUARDED_ASSIGN, {"nodes": list(nodes), "key": record.key}),
    ]
    vlan = record.vlan
    if vlan is None:
        vlans = await site_vlans(ctx.store, site)
        vlan = vlans.pick_free(await used_vlans(ctx.store, site), vlan_spread)
        changes.append(allocate_statement(record.key, site, vlan))
    changes += [
        set_access_statement([p.port for p in new_ports], vlan),
        *trunk_statements(trunks_after - trunks_before, (), vlan),
        set_state(record.key, next_state, job_step="network", job_nodes=list(nodes)),
    ]
    message = f"reserved {len(nodes)} node(s) with {gpus} GPU(s) {place}; VLAN {vlan}"
    changes.append(event_statement(record.key, "reserved", next_state, message, len(nodes), len(nodes)))
    try:
        await ctx.record(record.key, "reserveNodes", message, changes, nodes=list(nodes), vlan=vlan)
    except StoreQueryError as e:
        if "by zero" not in str(e).lower() or isinstance(e, ConstraintViolation):
            raise
        current = await read_cluster(ctx.store, record.key)
        if current is None or current.job_owner != ctx.config.owner:
            raise LeaseLost(f"cluster {record.name} is being handled by another server") from None
        raise _NodesTaken from None
    return Reservation(nodes, vlan, site, message)
