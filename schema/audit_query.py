"""The `auditLog` connection: providers read every entry; a tenant-admin reads its tenant's only.

A tenant sees its entries numbered by its own sequence, with cursors of that sequence and no
chain hashes: the global seq and the hashes are derived from every tenant's entries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from metalgraph.server.audit import AuditEntry as Entry
from metalgraph.server.audit import InvalidCursor, Outcome, count, page

from .connection import Connection, check_page_size, connection_of, decode_cursor
from .errors import ApiError, Code
from .lifecycle_scope import audit_entries
from .permissions import AdminsAndProviderViewers
from .types import Ctx

AuditOutcome = strawberry.enum(Outcome)


@strawberry.type(description="One entry of the hash-chained audit log.")
class AuditEntry:
    seq: int = strawberry.field(
        description="Providers: the entry's place in the whole log. Tenants: its place in their tenant's own log."
    )
    tenant_seq: int | None = strawberry.field(
        description="The entry's place in its tenant's own log (what the tenant sees as `seq`); null without a tenant."
    )
    at: str
    actor: str
    role: str
    tenant: str | None
    operation: str
    variables: JSON = strawberry.field(description="The operation's arguments, secrets redacted.")
    outcome: AuditOutcome  # type: ignore[valid-type]
    detail: str
    prev_hash: str | None = strawberry.field(
        description="The hash of the entry before, in the whole log; providers only (null for tenants)."
    )
    hash: str | None = strawberry.field(
        description="SHA-256 of the entry's fields and `prevHash`; providers only (null for tenants)."
    )

    @classmethod
    def of(cls, entry: Entry, *, tenant_view: bool = False) -> AuditEntry:
        return cls(
            seq=entry.seq_shown(tenant_view=tenant_view),
            tenant_seq=entry.tenant_seq,
            at=entry.at,
            actor=entry.actor,
            role=entry.role,
            tenant=entry.tenant,
            operation=entry.operation,
            variables=json.loads(entry.variables_json),
            outcome=Outcome(entry.outcome),
            detail=entry.detail,
            prev_hash=None if tenant_view else entry.prev_hash,
            hash=None if tenant_view else entry.hash,
        )


@strawberry.input(description="Narrows the audit log; all given conditions must hold.")
class AuditFilter:
    tenant: str | None = strawberry.field(default=None, description="Providers only; tenants always see their own.")
    actor: str | None = None
    operation: str | None = None
    outcome: AuditOutcome | None = None  # type: ignore[valid-type]
    since: datetime | None = None
    until: datetime | None = None


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Audit entries, newest first. Providers see all; a tenant-admin its own tenant's.",
        permission_classes=[AdminsAndProviderViewers],
    )
    async def audit_log(
        self, info: Ctx, first: int | None = 100, after: str | None = None, filter: AuditFilter | None = None
    ) -> Connection[AuditEntry]:
        f = filter or AuditFilter()
        own = info.context.tenant
        tenant = own if own is not None else f.tenant
        if own is not None and f.tenant not in (None, own):
            tenant = ""  # another tenant's log: an empty answer (no tenant has an empty name), like one without entries
        for moment in (f.since, f.until):
            if moment is not None and moment.tzinfo is None:
                raise ApiError(Code.INVALID_INPUT, "times need a time zone (e.g. 2026-01-01T00:00:00Z)")
        size = check_page_size(first, info.context.settings.max_page_size)
        criteria: dict[str, Any] = {
            "tenant": tenant,
            "actor": f.actor,
            "operation": f.operation,
            "outcome": f.outcome,
            "since": f.since,
            "until": f.until,
        }
        store = info.context.reader.store
        tenant_view = own is not None
        cursor = decode_cursor(after) if after else None
        try:
            entries, more = await page(store, **criteria, first=size, after=cursor, tenant_view=tenant_view)
        except InvalidCursor:
            raise ApiError(Code.INVALID_INPUT, "`after` is not a cursor returned by this API") from None

        async def total() -> int:
            return await count(store, **criteria, tenant_view=tenant_view)

        rows = [{"key": e.tenant_key if tenant_view else e.key, "entry": e} for e in entries]
        shown = await audit_entries(info, entries)  # what a tenant reads of infrastructure: tenancy.disclosure
        return connection_of(
            rows, more, after, lambda row: AuditEntry.of(shown(row["entry"]), tenant_view=tenant_view), total
        )
