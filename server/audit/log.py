"""The audit log service: appends entries, each in the same atomic write as the change it records.

The chain's head is one `(:AuditHead {key: 'head', seq, hash, changes})` vertex; each tenant's own
sequence ends at an `(:AuditTenantHead {key: <tenant>, seq})` vertex. An append is the caller's
statements followed by one statement that
1. takes a write lock on the head (`SET h.locked_at`; Neo4j reads committed values after it),
2. fails the whole write (a division by zero, which both stores refuse) unless the head still
   holds the seq and hash this process read before building the entry, and the entry's tenant
   head the tenant seq it read (a tenant head is only written under the head's lock), and
3. moves the head (and the tenant head) and creates the entry.
So two servers on one Neo4j never fork the chain nor a tenant's sequence: the loser of a race
re-reads the heads and retries (a bounded number of times, with a little jitter). In one process
an asyncio.Lock keeps appends in turn, so such retries are rare. This module holds the only Cypher
that writes `AuditEntry`, `AuditHead` and `AuditTenantHead` vertices.

`changes` on the head counts the appends that carried changes: with the inventory's generation,
the clock by which caches of what the graph holds know that something changed, in this process or
another (`change_mark`). Refusals and other entries without changes do not move it.

Refusals that a caller can repeat at will (limits, anonymous callers) go through `refused`, which
writes the first of each caller's window and counts the rest (see `refusals`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..store.base import GraphStore, Statement, StoreError, StoreQueryError
from ..store.cypher_text import check_returns_nothing
from .entry import GENESIS_HASH, AuditEntry, AuditEvent, build_entry, now_iso
from .refusals import RefusalWindows
from .storable import storable_text

MAX_ATTEMPTS = 100
"""Appends tried before giving up under contention from other processes."""

_READ_HEAD = (
    "MATCH (h:AuditHead {key: 'head'}) OPTIONAL MATCH (t:AuditTenantHead {key: $tenant}) "
    "RETURN h.seq AS seq, h.hash AS hash, t.seq AS tenant_seq"
)
_CREATE_HEAD = (
    "OPTIONAL MATCH (e:AuditEntry) WITH e LIMIT 1 WITH count(e) AS entries WHERE entries = 0 "
    "MERGE (h:AuditHead {key: 'head'}) ON CREATE SET h.seq = 0, h.hash = $genesis, h.changes = 0"
)
"""The head of an empty log; never a second head, and never a new head for a log that has entries."""
_APPEND = (
    "MATCH (h:AuditHead {key: 'head'}) SET h.locked_at = $now "
    "WITH collect(h) AS heads "
    "WITH heads, 1 / CASE WHEN size(heads) = 1 AND heads[0].seq = $prev_seq AND heads[0].hash = $prev_hash "
    "THEN 1 ELSE 0 END AS guard "
    "UNWIND heads AS h SET h.seq = $seq * guard, h.hash = $hash, h.changes = coalesce(h.changes, 0) + $changes "
    "CREATE (e:AuditEntry) SET e = $entry"
)
_APPEND_TENANT = (
    " WITH e MERGE (t:AuditTenantHead {key: $tenant}) "
    "WITH t, 1 / CASE WHEN coalesce(t.seq, 0) = $prev_tenant_seq THEN 1 ELSE 0 END AS tenant_guard "
    "SET t.seq = $tenant_seq * tenant_guard"
)
"""Appended to `_APPEND` for an entry of a tenant: under the head's lock, so tenant heads move in turn too."""


class AuditError(StoreError):
    """The audit log cannot take an entry (so the change it would record is not made either)."""


class AuditLogCorrupted(AuditError):
    """The head is missing while entries exist, or there are several heads: run `metalgraph audit verify`."""


class AuditContention(AuditError):
    """Other processes kept moving the head; the entry (and its change) was not written."""


@dataclass(frozen=True)
class Head:
    """Where the chain ends: the last entry's seq and hash (0 and `GENESIS_HASH` when empty), and where
    the sequence of the tenant about to be appended to ends (0 for a tenant without entries)."""

    seq: int
    hash: str
    tenant_seq: int = 0


class AuditLog:
    """Appends to the hash-chained audit log in `store`. One per process (it serialises its appends)."""

    def __init__(
        self,
        store: GraphStore,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        refusal_window_s: float = 60.0,
        anonymous_refusals_per_window: int = 100,
    ) -> None:
        self._store = store
        self._max_attempts = max_attempts
        self._lock = asyncio.Lock()
        self.refusals = RefusalWindows(self.record, refusal_window_s, anonymous_refusals_per_window)

    async def refused(self, event: AuditEvent, code: str) -> None:
        """Audit a refusal its caller may repeat at will: the first of its caller's window now, the rest
        counted into one entry (see `refusals.RefusalWindows`). Raises `AuditError` like `record`."""
        await self.refusals.refused(event, code)

    async def close(self) -> None:
        """Write the refusals counted but not yet written (at shutdown)."""
        await self.refusals.close()

    async def record(self, event: AuditEvent, changes: Sequence[Statement] = ()) -> AuditEntry:
        """Append an entry for `event`, in the same atomic write as `changes`; return the entry.

        Neither the changes nor the entry exist without the other: if a change fails, its store
        error is raised and nothing is written. The changes must return nothing (see
        `GraphStore.write_atomically`, also for the size beyond which the embedded store cannot
        make a bulk write atomic). Raises `AuditError` if the log cannot be appended to.
        """
        statements = list(changes)
        for query, _params in statements:
            check_returns_nothing(query)  # before the head is read (or created)
        if event.tenant is not None:  # the tenant head is read under the key the entry is written with
            event = replace(event, tenant=storable_text(event.tenant))
        async with self._lock:
            for attempt in range(self._max_attempts):
                head = await self._head(event.tenant)
                tenant_seq = head.tenant_seq + 1 if event.tenant is not None else None
                entry = build_entry(
                    event, seq=head.seq + 1, prev_hash=head.hash, at=now_iso(), tenant_seq=tenant_seq
                )
                append = _append_statement(head, entry, changed=bool(statements))
                try:
                    await self._store.write_atomically([*statements, append])
                    return entry
                except StoreQueryError:
                    if await self._read_heads(event.tenant) == [head]:
                        raise  # the heads did not move: the failure is the changes' (or the store's)
                await asyncio.sleep(random.uniform(0, min(0.02, 0.001 * 2**attempt)))
        raise AuditContention(f"the audit head kept moving; gave up after {self._max_attempts} attempts")

    async def _read_heads(self, tenant: str | None) -> list[Head]:
        rows = await self._store.read(_READ_HEAD, {"tenant": tenant})
        return [Head(row["seq"], row["hash"], 0 if row["tenant_seq"] is None else row["tenant_seq"]) for row in rows]

    async def _head(self, tenant: str | None) -> Head:
        heads = await self._read_heads(tenant)
        if not heads:
            await self._store.write(_CREATE_HEAD, {"genesis": GENESIS_HASH})
            heads = await self._read_heads(tenant)
        if not heads:
            raise AuditLogCorrupted("the audit log has entries but no head; run `metalgraph audit verify`")
        if len(heads) > 1:
            raise AuditLogCorrupted(f"the audit log has {len(heads)} heads; run `metalgraph audit verify`")
        head = heads[0]
        if type(head.seq) is not int or not isinstance(head.hash, str) or type(head.tenant_seq) is not int:
            raise AuditLogCorrupted("the audit head is malformed; run `metalgraph audit verify`")
        return head


def _append_statement(head: Head, entry: AuditEntry, *, changed: bool = False) -> Statement:
    params = {
        "now": entry.at,
        "prev_seq": head.seq,
        "prev_hash": head.hash,
        "seq": entry.seq,
        "hash": entry.hash,
        "changes": 1 if changed else 0,
        "entry": entry.to_props(),
    }
    if entry.tenant is None:
        return _APPEND, params
    return _APPEND + _APPEND_TENANT, {
        **params,
        "tenant": entry.tenant,
        "prev_tenant_seq": head.tenant_seq,
        "tenant_seq": entry.tenant_seq,
    }
