"""The tamper-evident audit log: every mutation and every refused request, hash-chained.

- `entry`: `AuditEvent` (what happened), `AuditEntry` (a link of the chain), `Outcome`, hashing.
- `redaction`: secrets out of variables and messages; `storable`: text every store takes.
- `log`: `AuditLog.record`, which appends an entry in the same atomic write as its change, and
  `AuditLog.refused`, which counts repeatable refusals per caller and window (`refusals`).
- `verify`: walks the chain and names the first entry that is not as written.
- `queries`: `page` and `count` for the API's `auditLog` connection.
"""

from __future__ import annotations

from ..labels import AUDIT_LABELS
from .entry import AuditEntry, AuditEvent, Outcome
from .log import AuditContention, AuditError, AuditLog, AuditLogCorrupted
from .queries import AuditFilter, InvalidCursor, count, page
from .redaction import redact, redact_text, register_secret
from .verify import Problem, VerifyResult, verify

__all__ = [
    "AUDIT_LABELS",
    "AuditContention",
    "AuditEntry",
    "AuditError",
    "AuditEvent",
    "AuditFilter",
    "AuditLog",
    "AuditLogCorrupted",
    "InvalidCursor",
    "Outcome",
    "Problem",
    "VerifyResult",
    "count",
    "page",
    "redact",
    "redact_text",
    "register_secret",
    "verify",
]
