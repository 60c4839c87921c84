"""The audit log service: appends entries, each in the same atomic write as the change it records.

The chain's head is one `(:AuditHead {key: 'head', seq, hash})` vertex. An append is the caller's
statements followed by one statement that
1. takes a write lock on the head (`SET h.locked_at`; Neo4j reads committed values after it),
2. fails the whole write (a division by zero, which both stores refuse) unless the head still
   holds the seq and hash this process read before building the entry, and
3. moves the head and creates the entry.
So two servers on one Neo4j never fork the chain: the loser of a race re-reads the head and
retries (a bounded number of times, with a little jitter). In one process an asyncio.Lock keeps
appends in turn, so such retries are rare. This module holds the only Cypher that writes
`AuditEntry` and `AuditHead` vertices.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from ..store.base import GraphStore, Statement, StoreError, StoreQueryError
from ..store.cypher_text import check_returns_nothing
from .entry import GENESIS_HASH, AuditEntry, AuditEvent, build_entry, now_iso

MAX_ATTEMPTS = 100
"""Appends tried before giving up under contention from other processes."""

_READ_HEAD = "MATCH (h:AuditHead {key: 'head'}) RETURN h.seq AS seq, h.hash AS hash"
_CREATE_HEAD = (
    "OPTIONAL MATCH (e:AuditEntry) WITH e LIMIT 1 WITH count(e) AS entries WHERE entries = 0 "
    "MERGE (h:AuditHead {key: 'head'}) ON CREATE SET h.seq = 0, h.hash = $genesis"
)
"""The head of an empty log; never a second head, and never a new head for a log that has entries."""
_APPEND = (
    "MATCH (h:AuditHead {key: 'head'}) SET h.locked_at = $now "
    "WITH collect(h) AS heads "
    "WITH heads, 1 / CASE WHEN size(heads) = 1 AND heads[0].seq = $prev_seq AND heads[0].hash = $prev_hash "
    "THEN 1 ELSE 0 END AS guard "
    "UNWIND heads AS h SET h.seq = $seq * guard, h.hash = $hash "
    "CREATE (e:AuditEntry) SET e = $entry"
)


class AuditError(StoreError):
    """The audit log cannot take an entry (so the change it would record is not made either)."""


class AuditLogCorrupted(AuditError):
    """The head is missing while entries exist, or there are several heads: run `metalgraph audit verify`."""


class AuditContention(AuditError):
    """Other processes kept moving the head; the entry (and its change) was not written."""


@dataclass(frozen=True)
class Head:
    """Where the chain ends: the last entry's seq and hash (0 and `GENESIS_HASH` when empty)."""

    seq: int
    hash: str


class AuditLog:
    """Appends to the hash-chained audit log in `store`. One per process (it serialises its appends)."""

    def __init__(self, store: GraphStore, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        self._store = store
        self._max_attempts = max_attempts
        self._lock = asyncio.Lock()

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
        async with self._lock:
            for attempt in range(self._max_attempts):
                head = await self._head()
                entry = build_entry(event, seq=head.seq + 1, prev_hash=head.hash, at=now_iso())
                try:
                    await self._store.write_atomically([*statements, _append_statement(head, entry)])
                    return entry
                except StoreQueryError:
                    if await self._read_heads() == [head]:
                        raise  # the head did not move: the failure is the changes' (or the store's)
                await asyncio.sleep(random.uniform(0, min(0.02, 0.001 * 2**attempt)))
        raise AuditContention(f"the audit head kept moving; gave up after {self._max_attempts} attempts")

    async def _read_heads(self) -> list[Head]:
        return [Head(row["seq"], row["hash"]) for row in await self._store.read(_READ_HEAD)]

    async def _head(self) -> Head:
        heads = await self._read_heads()
        if not heads:
            await self._store.write(_CREATE_HEAD, {"genesis": GENESIS_HASH})
            heads = await self._read_heads()
        if not heads:
            raise AuditLogCorrupted("the audit log has entries but no head; run `metalgraph audit verify`")
        if len(heads) > 1:
            raise AuditLogCorrupted(f"the audit log has {len(heads)} heads; run `metalgraph audit verify`")
        head = heads[0]
        if type(head.seq) is not int or not isinstance(head.hash, str):
            raise AuditLogCorrupted("the audit head is malformed; run `metalgraph audit verify`")
        return head


def _append_statement(head: Head, entry: AuditEntry) -> Statement:
    return (
        _APPEND,
        {
            "now": entry.at,
            "prev_seq": head.seq,
            "prev_hash": head.hash,
            "seq": entry.seq,
            "hash": entry.hash,
            "entry": entry.to_props(),
        },
    )
