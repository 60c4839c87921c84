"""API tokens: random, shown once, stored only as a SHA-256 hash, bound to a tenant and a role,
with an expiry and revocation.

A token reads `mg_<id>_<secret>`: the id finds the stored record in one lookup, the secret (256
random bits) is compared with its stored hash in constant time. With that much entropy a fast
hash is the right one; a slow password hash would only slow every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..store.base import GraphStore, Statement
from .errors import AuthenticationError
from .principal import AuthMethod, Principal, Role

_PUBLIC = ".key, .tenant, .role, .description, .created_at, .created_by, .expires_at, .revoked_at"
"""What may leave the store: everything but the hash."""

TOKEN_PATTERN = re.compile(r"mg_([a-z2-7]{16})_([A-Za-z0-9_-]{43})")


class TokenRejected(AuthenticationError):
    """The presented token is unknown, malformed, expired or revoked (the message never holds it)."""


@dataclass(frozen=True)
class TokenRecord:
    id: str
    tenant: str | None
    role: Role
    description: str
    created_at: str
    created_by: str
    expires_at: str | None
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not _expired(self.expires_at)

    @classmethod
    def from_props(cls, p: dict) -> TokenRecord:
        return cls(
            id=p["key"],
            tenant=p.get("tenant"),
            role=Role(p["role"]),
            description=p.get("description", ""),
            created_at=p["created_at"],
            created_by=p.get("created_by", ""),
            expires_at=p.get("expires_at"),
            revoked_at=p.get("revoked_at"),
        )


@dataclass(frozen=True)
class IssuedToken:
    record: TokenRecord
    secret: str
    """The whole token; shown once, never stored."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _expired(expires_at: str | None) -> bool:
    return expires_at is not None and datetime.fromisoformat(expires_at) <= datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_api_token(value: str) -> bool:
    return value.startswith("mg_")


def new_token(
    tenant: str | None, role: Role, created_by: str, expires_in: timedelta | None, description: str = ""
) -> tuple[IssuedToken, Statement]:
    """A fresh token and the statement that stores its record (the caller commits it, with its audit entry)."""
    if role.is_provider != (tenant is None):
        raise ValueError("provider roles have no tenant; tenant roles need one")
    token_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(16))
    secret = secrets.token_urlsafe(32)
    created = now_iso()
    expires = (datetime.now(UTC) + expires_in).isoformat(timespec="milliseconds") if expires_in else None
    props = {
        "key": token_id,
        "hash": _digest(secret),
        "tenant": tenant,
        "role": role.value,
        "description": description,
        "created_at": created,
        "created_by": created_by,
        "expires_at": expires,
        "revoked_at": None,
    }
    record = TokenRecord.from_props(props)
    stored = {k: v for k, v in props.items() if v is not None}
    return IssuedToken(record, f"mg_{token_id}_{secret}"), ("CREATE (t:ApiToken) SET t = $props", {"props": stored})


async def verify(store: GraphStore, token: str) -> tuple[Principal, datetime | None]:
    """The principal a token stands for and when the token expires (None: never); `TokenRejected`
    for anything else."""
    match = TOKEN_PATTERN.fullmatch(token)
    if match is None:
        raise TokenRejected("malformed API token")
    token_id, secret = match.groups()
    rows = await store.read("MATCH (t:ApiToken {key: $id}) RETURN t{.*} AS t", {"id": token_id})
    if not rows or not hmac.compare_digest(rows[0]["t"]["hash"], _digest(secret)):
        raise TokenRejected("unknown API token")
    record = TokenRecord.from_props(rows[0]["t"])
    if record.revoked_at is not None:
        raise TokenRejected("API token revoked")
    if _expired(record.expires_at):
        raise TokenRejected("API token expired")
    principal = Principal(
        subject=f"token:{record.id}", role=record.role, tenant=record.tenant, method=AuthMethod.API_TOKEN
    )
    return principal, datetime.fromisoformat(record.expires_at) if record.expires_at else None


async def list_tokens(store: GraphStore, tenant: str | None) -> list[TokenRecord]:
    """Token records (never secrets or hashes); only `tenant`'s when given."""
    where = "WHERE t.tenant = $tenant " if tenant is not None else ""
    rows = await store.read(
        f"MATCH (t:ApiToken) {where}RETURN t{{{_PUBLIC}}} AS t ORDER BY t.created_at, t.key", {"tenant": tenant}
    )
    return [TokenRecord.from_props(row["t"]) for row in rows]


async def find_token(store: GraphStore, token_id: str) -> TokenRecord | None:
    rows = await store.read("MATCH (t:ApiToken {key: $id}) RETURN t{" + _PUBLIC + "} AS t", {"id": token_id})
    return TokenRecord.from_props(rows[0]["t"]) if rows else None


def revoke_statement(token_id: str) -> Statement:
    return (
        "MATCH (t:ApiToken {key: $id}) WHERE t.revoked_at IS NULL SET t.revoked_at = $at",
        {"id": token_id, "at": now_iso()},
    )


MAX_LIFETIME = timedelta(days=366)
"""The longest an API token may live; one without an expiry lives until it is revoked."""

_DURATION = re.compile(r"\s*([0-9]+)\s*([smhdw])\s*")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
DURATION_FORM = "a whole number from 1 and a unit (s, m, h, d or w), e.g. 30d, 12h, 2w; at most 366d"


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `45m`, `90s` or `2w`, up to `MAX_LIFETIME`; `ValueError` saying the accepted form."""
    match = _DURATION.fullmatch(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"not a duration: use {DURATION_FORM}")
    digits, unit = match.groups()
    # Compared as whole seconds, never as a timedelta: a 20-digit amount overflows one.
    if len(digits) > 12 or int(digits) * _UNIT_SECONDS[unit] > MAX_LIFETIME.total_seconds():
        raise ValueError("too long: a token lives at most 366 days (366d, 52w)")
    return timedelta(seconds=int(digits) * _UNIT_SECONDS[unit])
