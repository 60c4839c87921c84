"""The events of a cluster: one per step of its jobs, what tenants read and subscribe to.

Events are `ClusterEvent` vertices hanging off their cluster (`(Cluster)-[:LOGGED]->(ClusterEvent)`),
numbered per cluster from 1. They are written in the same atomic write as the change they report
where there is one (`event_statement`), so the log never claims a step that did not happen. Only the
job holding a cluster's lease appends, one event at a time, so the per-cluster counter cannot race.

Messages are written for the cluster's tenant: they name the tenant's own nodes, ports and VLAN,
never another tenant's object.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..audit.entry import now_iso
from ..audit.storable import storable_text
from ..store.base import GraphStore, Statement
from .states import ClusterState

MAX_MESSAGE = 1000

_APPEND = """
MATCH (c:Cluster {key: $cluster})
SET c.event_seq = coalesce(c.event_seq, 0) + 1, c.updated_at = $at
CREATE (c)-[:LOGGED]->(e:ClusterEvent)
SET e.key = $cluster + '/' + toString(c.event_seq), e.cluster = $cluster, e.seq = c.event_seq,
    e.at = $at, e.kind = $kind, e.state = coalesce($state, c.state), e.message = $message,
    e.done = $done, e.total = $total
"""

_LIST = """
MATCH (:Cluster {key: $cluster})-[:LOGGED]->(e:ClusterEvent) WHERE e.seq > $after
RETURN e{.seq, .at, .kind, .state, .message, .done, .total} AS e ORDER BY e.seq LIMIT $limit
"""


@dataclass(frozen=True)
class ClusterEvent:
    seq: int
    at: str
    kind: str
    """What happened: `requested`, `reserved`, `vlan`, `network`, `power`, `ready`, `failed`, ..."""
    state: ClusterState
    """The cluster's state once this event happened."""
    message: str
    done: int | None = None
    total: int | None = None
    """Progress of the step, when it has parts (ports configured of all ports, nodes powered on)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ClusterEvent:
        return cls(
            seq=int(row["seq"]),
            at=row["at"],
            kind=row["kind"],
            state=ClusterState(row["state"]),
            message=row["message"],
            done=row.get("done"),
            total=row.get("total"),
        )


def event_statement(
    cluster: str,
    kind: str,
    state: ClusterState | None,
    message: str,
    done: int | None = None,
    total: int | None = None,
) -> Statement:
    """The statement that appends an event to `cluster` (its key); put it in the write it reports.
    `state` is the cluster's state the write leaves it in (None: the state it has). The message may
    quote a device's words: it is made storable (see `audit.storable`)."""
    params = {
        "cluster": cluster,
        "at": now_iso(),
        "kind": kind,
        "state": state.value if state is not None else None,
        "message": storable_text(message)[:MAX_MESSAGE],
        "done": done,
        "total": total,
    }
    return _APPEND, params


async def list_events(store: GraphStore, cluster: str, after: int = 0, limit: int = 1000) -> list[ClusterEvent]:
    rows = await store.read(_LIST, {"cluster": cluster, "after": after, "limit": limit})
    return [ClusterEvent.from_row(row["e"]) for row in rows]


class EventBell:
    """Wakes watchers of a cluster in this process as soon as an event is written here; watchers of
    a cluster whose job runs in another process notice new events by polling the store."""

    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def ring(self, clusters: Sequence[str]) -> None:
        for cluster in clusters:
            for waiter in self._waiters.get(cluster, ()):
                waiter.set()

    async def wait(self, cluster: str, timeout_s: float) -> None:
        """Return when `ring` names `cluster`, or after `timeout_s`."""
        waiter = asyncio.Event()
        self._waiters[cluster].add(waiter)
        try:
            async with asyncio.timeout(timeout_s):
                await waiter.wait()
        except TimeoutError:
            pass
        finally:
            self._waiters[cluster].discard(waiter)
            if not self._waiters[cluster]:
                del self._waiters[cluster]
