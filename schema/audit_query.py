"""The `auditLog` connection: providers read every entry; a tenant-admin reads its tenant's only."""

from __future__ import annotations

import json
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from metalgraph.server.audit import AuditEntry as Entry
from metalgraph.server.audit import InvalidCursor, Outcome, count, page

from .connection import Connection, check_page_size, connection_of, decode_cursor
from .errors import ApiError, Code
from .permissions import AdminsAndProviderViewers
from .types import Ctx

AuditOutcome = strawberry.enum(Outcome)


@strawberry.type(description="One entry of the hash-chained audit log.")
class AuditEntry:
    seq: int
    at: str
    actor: str
    role: str
    tenant: str | None
    operation: str
    variables: JSON = strawberry.field(description="The operation's arguments, secrets redacted.")
    outcome: AuditOutcome  # type: ignore[valid-type]
    detail: str
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: Entry) -> AuditEntry:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            role=entry.role,
            tenant=entry.tenant,
            operation=entry.operation,
            variables=json.loads(entry.variables_json),
            outcome=Outcome(entry.outcome),
            detail=entry.detail,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
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
        criteria = {
            "tenant": tenant,
            "actor": f.actor,
            "operation": f.operation,
            "outcome": f.outcome,
            "since": f.since,
            "until": f.until,
        }
        store = info.context.reader.store
        try:
            entries, more = await page(store, **criteria, first=size, after=decode_cursor(after) if after else None)
        except InvalidCursor:
            raise ApiError(Code.INVALID_INPUT, "`after` is not a cursor returned by this API") from None

        async def total() -> int:
            return await count(store, **criteria)

        rows = [{"key": e.key, "entry": e} for e in entries]
        return connection_of(rows, more, after, lambda row: AuditEntry.of(row["entry"]), total)
