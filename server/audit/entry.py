"""Audit entries: what happened (an `AuditEvent`), and its place in the chain (an `AuditEntry`).

An entry's `hash` is the SHA-256 (hex) of a canonical JSON document of every other field,
`prev_hash` included, so editing any field of any entry, or taking one out, breaks the chain.
An entry of a tenant also carries `tenant_seq`, its place in that tenant's own sequence (1, 2, ...):
what the tenant sees instead of the global `seq` and the chain's hashes, which are derived from
every tenant's entries.
The variables are stored (and hashed) as their canonical JSON text, so that what is hashed is
exactly what the store holds, with no float or key-order round trip in between.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .redaction import redact, redact_text
from .storable import storable_text

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first entry."""
KEY_WIDTH = 12
"""Entry keys are the seq zero-padded to this many digits, so that keys sort as seqs do."""
MAX_DETAIL = 500
MAX_OPERATION = 200
"""Longer operation texts (many root fields) are cut."""
MAX_MARKER_KEY = 100
MAX_VARIABLES_JSON = 64 * 1024
"""Variables whose JSON is longer are replaced by a marker naming their size and top-level keys."""


class Outcome(StrEnum):
    """How the audited request ended."""

    OK = "ok"
    DENIED = "denied"
    """Unauthenticated or forbidden."""
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    """Refused input (including a name already taken, or an object still in use)."""
    LIMITED = "limited"
    """A rate, size, depth, cost or quota limit."""
    ERROR = "error"
    """An unexpected failure."""


@dataclass(frozen=True)
class AuditEvent:
    """What a caller did, as the API layer sees it; `AuditLog.record` turns it into an entry."""

    actor: str
    """The principal's subject (`token:<id>`, an OIDC subject, `admin`), or `anonymous@<address>`."""
    role: str
    """The principal's role (a `Role` value), or "" without a principal."""
    tenant: str | None
    """The tenant the request acted for or on; None for provider-wide actions."""
    operation: str
    """The GraphQL root field(s), or e.g. "authenticate", "http"."""
    variables: Mapping[str, Any] = field(default_factory=dict)
    """Arguments as JSON-like values; secrets are redacted when the entry is built."""
    outcome: Outcome = Outcome.OK
    detail: str = ""
    """A short message (cut to 500 characters; token-like strings redacted)."""


def entry_key(seq: int) -> str:
    """The vertex key of entry `seq`: zero-padded, so that keys sort in seq order."""
    return str(seq).zfill(KEY_WIDTH)


def now_iso() -> str:
    """The current UTC time, ISO-8601 with milliseconds (the format of `AuditEntry.at`)."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """`moment` (timezone-aware) as `AuditEntry.at` writes it, so that the strings compare as times do."""
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def variables_json(variables: Mapping[str, Any]) -> str:
    """The redacted, canonical JSON of `variables`, bounded in size."""
    text = canonical_json(redact(dict(variables)))
    if len(text) <= MAX_VARIABLES_JSON:
        return text
    keys = sorted(str(k)[:MAX_MARKER_KEY] for k in variables)[:50]
    return canonical_json({"[truncated]": {"bytes": len(text.encode()), "keys": redact(keys)}})


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain, as stored in an `(:AuditEntry)` vertex."""

    seq: int
    at: str
    actor: str
    role: str
    tenant: str | None
    operation: str
    variables_json: str
    """The redacted variables as canonical JSON text (what is stored and hashed)."""
    outcome: str
    detail: str
    prev_hash: str
    hash: str
    tenant_seq: int | None = None
    """The entry's place in its tenant's own sequence; None for entries of no tenant."""

    @property
    def key(self) -> str:
        """The vertex key, also the pagination cursor of `queries.page` for providers."""
        return entry_key(self.seq)

    @property
    def tenant_key(self) -> str | None:
        """The pagination cursor of `queries.page` for the entry's tenant (its `tenant_seq`, padded)."""
        return entry_key(self.tenant_seq) if self.tenant_seq is not None else None

    def seq_shown(self, *, tenant_view: bool) -> int:
        """The seq a reader sees: a tenant sees only `tenant_seq` (never the global seq, which says how
        many entries every tenant wrote), so an entry without one is not for a tenant's view."""
        if not tenant_view:
            return self.seq
        if self.tenant_seq is None:
            raise ValueError("an entry without a place in its tenant's sequence is not shown to tenants")
        return self.tenant_seq

    @property
    def variables(self) -> Any:
        """The redacted variables, parsed."""
        return json.loads(self.variables_json)

    def hashed_fields(self) -> dict[str, Any]:
        """Every field but `hash`: what the hash covers (`tenant_seq` only where there is one)."""
        fields = {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "role": self.role,
            "tenant": self.tenant,
            "operation": self.operation,
            "variables": self.variables_json,
            "outcome": self.outcome,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
        }
        if self.tenant_seq is not None:
            fields["tenant_seq"] = self.tenant_seq
        return fields

    def computed_hash(self) -> str:
        """The hash these fields should carry."""
        return compute_hash(self.hashed_fields())

    def to_props(self) -> dict[str, Any]:
        """The vertex properties (a null tenant is left out, as both stores drop null properties)."""
        props = {"key": self.key, **self.hashed_fields(), "hash": self.hash}
        if props["tenant"] is None:
            del props["tenant"]
        return props

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> AuditEntry:
        """An entry from vertex properties; ValueError if a field is missing or of the wrong type."""
        values: dict[str, Any] = {}
        for name, kind, optional in _FIELDS:
            value = props.get(name)
            if value is None and optional:
                values[name] = None
                continue
            if type(value) is not kind:
                raise ValueError(f"field {name!r} is {type(value).__name__}, not {kind.__name__}")
            values[name] = value
        values["variables_json"] = values.pop("variables")
        return cls(**values)


_FIELDS: tuple[tuple[str, type, bool], ...] = (
    ("seq", int, False),
    ("at", str, False),
    ("actor", str, False),
    ("role", str, False),
    ("tenant", str, True),
    ("operation", str, False),
    ("variables", str, False),
    ("outcome", str, False),
    ("detail", str, False),
    ("prev_hash", str, False),
    ("hash", str, False),
    ("tenant_seq", int, True),
)


def compute_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of `fields`."""
    return hashlib.sha256(canonical_json(dict(fields)).encode("utf-8")).hexdigest()


def build_entry(
    event: AuditEvent, *, seq: int, prev_hash: str, at: str, tenant_seq: int | None = None
) -> AuditEntry:
    """The entry that records `event` as link `seq` after the entry whose hash is `prev_hash`, and as
    entry `tenant_seq` of its tenant. Whatever the event's texts hold, the entry is storable."""
    fields: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor": redact_text(event.actor)[:MAX_DETAIL],
        "role": storable_text(str(event.role))[:MAX_OPERATION],
        "tenant": storable_text(event.tenant) if event.tenant is not None else None,
        "operation": redact_text(event.operation)[:MAX_OPERATION],
        "variables": variables_json(event.variables),
        "outcome": str(Outcome(event.outcome)),
        "detail": redact_text(event.detail)[:MAX_DETAIL],
        "prev_hash": prev_hash,
    }
    if tenant_seq is not None:
        fields["tenant_seq"] = tenant_seq
    digest = compute_hash(fields)
    fields["variables_json"] = fields.pop("variables")
    return AuditEntry(**fields, hash=digest)
