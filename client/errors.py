"""The SDK's error family: what can go wrong between a client and a metalgraph server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class MetalgraphError(Exception):
    """Base of every error the SDK raises."""


class ConnectionFailed(MetalgraphError):
    """The server could not be reached (refused, DNS, TLS, dropped connection) or did not answer in time."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


class RequestTimeout(ConnectionFailed):
    """The server took longer than the client's timeout to answer."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url, f"no answer within {timeout:g} s")
        self.args = (f"{url} did not answer within {timeout:g} s",)
        self.timeout = timeout


class SubscriptionUnavailable(ConnectionFailed):
    """A subscription's websocket could not be opened (refused, no websocket route, no
    `graphql-transport-ws`, no `connection_ack`); plain queries over HTTP may still work."""


class ProtocolError(MetalgraphError):
    """Something answered, but not with a GraphQL response (wrong URL, a proxy's error page)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiError(MetalgraphError):
    """The server answered with GraphQL errors.

    `code` is the first error's `extensions.code` (`NOT_FOUND`, `FORBIDDEN`, `INVALID_INPUT`, ...;
    `UNKNOWN` when the server sent none), `path` the response path of the field that failed
    (`("node", "gpus")`, or None for request-level errors). `errors` holds every error as sent,
    `data` whatever partial data came with them.
    """

    def __init__(
        self,
        code: str,
        message: str,
        path: Sequence[str | int] | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path: tuple[str | int, ...] | None = tuple(path) if path else None
        self.errors: list[dict[str, Any]] = (
            errors if errors is not None else [{"message": message, "extensions": {"code": code}}]
        )
        self.data = data

    @property
    def extensions(self) -> dict[str, Any]:
        """The first error's `extensions` (its `code` and any details such as `problems`)."""
        ext = self.errors[0].get("extensions") if self.errors else None
        return ext if isinstance(ext, dict) else {}

    @property
    def path_text(self) -> str | None:
        """The path as text: `nodes.edges[0].node.gpus`."""
        return format_path(self.path)

    def __str__(self) -> str:
        where = f" (at {self.path_text})" if self.path else ""
        return f"[{self.code}] {self.message}{where}"

    def __repr__(self) -> str:
        return f"ApiError(code={self.code!r}, message={self.message!r}, path={self.path!r})"

    @classmethod
    def from_errors(cls, errors: Sequence[Any], data: dict[str, Any] | None = None) -> ApiError:
        """An ApiError for the first of a GraphQL response's `errors` (the rest kept in `.errors`)."""
        plain = [_plain_error(e) for e in errors] or [{"message": "unknown error"}]
        first = plain[0]
        raw_ext, raw_path = first.get("extensions"), first.get("path")
        ext: dict[str, Any] = raw_ext if isinstance(raw_ext, dict) else {}
        code = str(ext.get("code") or "UNKNOWN")
        path = raw_path if isinstance(raw_path, list) else None
        return cls(code, str(first.get("message", "")), path, errors=plain, data=data)


def format_path(path: Sequence[str | int] | None) -> str | None:
    if not path:
        return None
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _plain_error(error: Any) -> dict[str, Any]:
    if isinstance(error, dict):
        return error
    formatted = getattr(error, "formatted", None)  # graphql-core's GraphQLError
    if isinstance(formatted, dict):
        return dict(formatted)
    return {"message": str(error)}
