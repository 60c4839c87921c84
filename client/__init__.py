"""The Python SDK of metalgraph's GraphQL API, and the CLI commands built on it.

`MetalgraphClient` is imported on first use, so commands that never talk to a server (and
`metalgraph --help`) do not pay for loading aiohttp and gql.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    ApiError,
    ConnectionFailed,
    MetalgraphError,
    ProtocolError,
    RequestTimeout,
    SubscriptionUnavailable,
)

DEFAULT_URL = "http://127.0.0.1:8080/graphql"

if TYPE_CHECKING:
    from .sdk import MetalgraphClient

__all__ = [
    "DEFAULT_URL",
    "ApiError",
    "ConnectionFailed",
    "MetalgraphClient",
    "MetalgraphError",
    "ProtocolError",
    "RequestTimeout",
    "SubscriptionUnavailable",
]


def __getattr__(name: str) -> Any:
    if name == "MetalgraphClient":
        from .sdk import MetalgraphClient

        return MetalgraphClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
