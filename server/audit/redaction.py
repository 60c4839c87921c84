"""Secrets out of audit entries: by key name, and by what a value looks like, wherever it appears.

A key is secret when one of its words (split at `_`, `-`, `.`, spaces and camelCase) is a secret
word (`token`, `secret`, `password`, `passphrase`, `credential`, `authorization`, ...), or it names
a key that is a secret (`apiKey`, `private_key`, `sshKeys`, `keyMaterial`). A bare `key` is not:
it is the identifier of every vertex of the graph, and an audit log blind to which node a mutation
touched would be of little use (`keyspace`, `monkey`, `sortKey` are not secret either). A secret
word followed by a harmless last word (`tokenId`, `secretName`, `tokenExpiresAt`, `passwordPolicy`)
is not redacted: those name or describe a secret without holding it. A key that names an operation
(`createToken`, `rotateSecret`: a verb, then a secret word) holding a map is a GraphQL field and its
arguments: they are redacted one by one rather than as a whole (a plain value under it is redacted).

Whatever the key, an API token (`mg_...`), a JWT (`eyJ...` in three base64url segments), a
`Bearer ...` credential (not a plain word: "Bearer token required" stays readable) or a secret the
process was configured with (`register_secret`: the admin token, any string) inside any string is
replaced by `[redacted]`. The result is storable (see `storable`) and nested at most `MAX_DEPTH` deep.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from .storable import MAX_DEPTH, TOO_DEEP, storable_text

REDACTED = "[redacted]"

_SECRET_WORDS = frozenset(
    {
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "passphrase",
        "passphrases",
        "credential",
        "credentials",
        "authorization",
        "cookie",
        "cookies",
    }
)
_KEY_QUALIFIERS = frozenset(
    {"api", "private", "secret", "access", "signing", "encryption", "ssh", "client", "master", "session", "auth"}
)
"""A `key` after one of these words is a secret (`apiKey`, `private_key`)."""
_KEY_CONTENTS = frozenset({"material", "pem", "data"})
"""A `key` before one of these words is a secret (`keyMaterial`)."""
_KEY_COMPOUNDS = frozenset({"apikey", "apikeys", "privatekey", "secretkey", "accesskey", "sshkey", "sshkeys"})
"""Words that are a secret key written as one word (`user_apikey`)."""
_SECRET_NAMES = _KEY_COMPOUNDS | {"auth", "authheader"}
"""Whole names (lower case, separators removed) that are secret."""
_HARMLESS_LAST = frozenset(
    {
        "id",
        "ids",
        "name",
        "names",
        "count",
        "type",
        "kind",
        "prefix",
        "at",
        "ttl",
        "expiry",
        "expires",
        "created",
        "revoked",
        "description",
        "policy",
    }
)
"""A secret word followed by one of these as the last word names or describes a secret (`tokenId`)."""

_OPERATION_VERBS = frozenset(
    {
        "create",
        "revoke",
        "delete",
        "remove",
        "issue",
        "rotate",
        "update",
        "add",
        "list",
        "get",
        "find",
        "count",
        "generate",
        "expire",
        "enable",
        "disable",
    }
)
"""First words of a key that names an operation (`createToken`) rather than a value."""

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SECRET_TEXT = re.compile(
    r"(?<![A-Za-z0-9])mg_[A-Za-z0-9_-]{16,}"  # one of our API tokens (mg_<id>_<secret>)
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"  # a JWT (JWS compact form)
    r"|(?<=(?i:bearer) )(?!(?:<[^<>\s]*>|[A-Za-z]{1,24})[.,;:!?)\]\"']*(?:\s|$))[^\s\"',;]+"
    # what follows `Bearer `, unless it is a plain word ("Bearer token required") or a <placeholder>
)
_configured: set[str] = set()
"""Secrets this process holds (`register_secret`), redacted by their exact value."""


def register_secret(value: str) -> None:
    """Redact `value` wherever it appears from now on (for secrets of any shape, like the admin token)."""
    if value:
        _configured.add(value)


def key_words(name: str) -> list[str]:
    """The lower-case words of a key: `apiKey`, `api_key`, `API-Key` all give ["api", "key"]."""
    return [w.lower() for w in _WORDS.findall(name)]


def is_secret_key(name: str) -> bool:
    """Whether a value under the key `name` is a secret (see the module notes for the rules)."""
    words = key_words(name)
    if not words:
        return False
    if "".join(words) in _SECRET_NAMES:
        return True
    if len(words) > 1 and words[-1] in _HARMLESS_LAST:
        return False  # names or describes a secret (`tokenId`); a token in its value is still caught
    for index, word in enumerate(words):
        if word in _SECRET_WORDS or word in _KEY_COMPOUNDS:
            return True
        if word in ("key", "keys"):
            before = words[index - 1] if index > 0 else ""
            after = words[index + 1] if index + 1 < len(words) else ""
            if before in _KEY_QUALIFIERS or after in _KEY_CONTENTS:
                return True
    return False


def redact_text(text: str) -> str:
    """`text` with every API token, JWT, bearer credential and configured secret replaced by `[redacted]`,
    and made storable (NUL characters and lone surrogates escaped)."""
    for secret in sorted(_configured, key=len, reverse=True):  # a secret inside another goes with it
        if secret in text:
            text = text.replace(secret, REDACTED)
    return storable_text(_SECRET_TEXT.sub(REDACTED, text))


def names_an_operation(name: str) -> bool:
    """Whether `name` is a verb phrase such as `createToken` or `rotate_secret` (a GraphQL field)."""
    words = key_words(name)
    return len(words) > 1 and words[0] in _OPERATION_VERBS


def _redact_item(key: str, value: Any, depth: int) -> Any:
    if not is_secret_key(key):
        return redact(value, _depth=depth)
    if isinstance(value, Mapping) and names_an_operation(key):
        return redact(value, _depth=depth)  # the arguments of `createToken`: each judged by its own key and value
    return REDACTED


def redact(value: Any, *, _depth: int = 0) -> Any:
    """A JSON-ready, storable copy of `value` with secrets redacted, recursively (maps, lists, strings).

    Values that JSON cannot hold become strings (dates as ISO-8601, enums as their value, NaN and
    infinities as text, anything else as `str()`), themselves scanned for tokens. Maps and lists
    deeper than `MAX_DEPTH` are replaced by a marker.
    """
    if value is None or isinstance(value, bool | int):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, str):
        return redact_text(value.value if isinstance(value, Enum) else value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping | list | tuple | set | frozenset) and _depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, Mapping):
        return {redact_text(str(k)): _redact_item(str(k), v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [redact(item, _depth=_depth + 1) for item in items]
    if isinstance(value, Enum):
        return redact(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return redact_text(str(value))
