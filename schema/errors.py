"""Typed API errors: every error a client sees carries `extensions.code`, and none carries a traceback."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from metalgraph.server.audit import redact_text
from metalgraph.server.inventory.references import InvalidInventory
from metalgraph.server.store.base import ConstraintViolation, InvalidValue, StoreUnavailable

log = logging.getLogger("metalgraph.api")

_DEPTH = re.compile(r"exceeds maximum operation depth of \d+$")
_ALIASES = re.compile(r"^\d+ aliases found\. Allowed: \d+$")
"""Strawberry's depth and alias limiters report plain validation errors; these give them their codes."""


class Code(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    IN_USE = "IN_USE"
    INVALID_INPUT = "INVALID_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    UNAVAILABLE = "UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    PAGE_SIZE_LIMIT = "PAGE_SIZE_LIMIT"
    DEPTH_LIMIT = "DEPTH_LIMIT"
    ALIAS_LIMIT = "ALIAS_LIMIT"
    COST_LIMIT = "COST_LIMIT"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    RATE_LIMITED = "RATE_LIMITED"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTERNAL = "INTERNAL"


class ApiError(Exception):
    """An expected failure: the message is safe to show to the caller."""

    def __init__(self, code: Code, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


def not_found(kind: str, name: str) -> ApiError:
    return ApiError(Code.NOT_FOUND, f"{kind} {name!r} not found", kind=kind, name=name)


def _classify(error: GraphQLError) -> tuple[Code, str, dict[str, Any]]:
    original = error.original_error
    if isinstance(original, ApiError):
        return original.code, str(original), original.details
    if isinstance(original, InvalidInventory):
        problems = [{"path": p.path, "message": p.message} for p in original.problems]
        return Code.INVALID_INPUT, str(original), {"problems": problems}
    if isinstance(original, InvalidValue):
        return Code.INVALID_INPUT, str(original), {}
    if isinstance(original, StoreUnavailable):
        return Code.UNAVAILABLE, "the store is unavailable; try again later", {}
    if isinstance(original, ConstraintViolation):
        return Code.ALREADY_EXISTS, "an object with that name already exists", {}
    if isinstance(original, GraphQLError):
        code = (original.extensions or {}).get("code")
        if code in Code.__members__:  # a permission refusal carries its code
            return Code(code), error.message, {}
        return Code.INVALID_INPUT, error.message, {}  # a variable that does not coerce
    if original is None:
        extensions = dict(error.extensions or {})
        code = extensions.pop("code", None)
        if code:
            return Code(code), error.message, extensions
        if error.message.startswith("Syntax Error"):
            return Code.GRAPHQL_PARSE_FAILED, error.message, {}
        if _DEPTH.search(error.message):
            return Code.DEPTH_LIMIT, error.message, {}
        if _ALIASES.search(error.message):
            return Code.ALIAS_LIMIT, error.message, {}
        return Code.GRAPHQL_VALIDATION_FAILED, error.message, {}
    log.error("unexpected error in %s", error.path, exc_info=original)
    return Code.INTERNAL, "internal error; it has been logged", {}


def with_code(error: GraphQLError) -> GraphQLError:
    code, message, details = _classify(error)
    return GraphQLError(
        redact_text(message),  # a message may quote input, and input may hold a token
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={"code": code.value, **details},
    )


class ErrorCodes(SchemaExtension):
    """Rewrites every error of a result into its typed, traceback-free form."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [with_code(e) for e in result.errors]
