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
from metalgraph.server.errors import AlreadyExists, DomainError, Forbidden, InUse, InvalidReference, NotFound
from metalgraph.server.inventory.references import InvalidInventory
from metalgraph.server.lifecycle.admission import AdmissionRefused
from metalgraph.server.lifecycle.reserve import CannotPlace
from metalgraph.server.lifecycle.service import InvalidState
from metalgraph.server.store.base import ConstraintViolation, InvalidValue, StoreUnavailable

from .introspection_rights import may_introspect

log = logging.getLogger("metalgraph.api")

_TOKENS = re.compile(r"^Syntax Error: Document contains more than \d+ tokens\.")
_LENGTH = re.compile(r"^Syntax Error: Source contains more than \d+ code points\.")
"""graphql-core's parser reports its token and length limits as syntax errors."""
_SUGGESTION = " Did you mean "
"""How graphql-core's hint at names the schema has begins ("Did you mean 'nodes'?"), at the end of a message."""


class Code(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    IN_USE = "IN_USE"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_STATE = "INVALID_STATE"
    """The object is not in a state that allows the request (a cluster still provisioning)."""
    INSUFFICIENT_CAPACITY = "INSUFFICIENT_CAPACITY"
    """No placement meets the request now; the message says why, level by level."""
    ADMISSION_REFUSED = "ADMISSION_REFUSED"
    """The request breaks a rule of the provider (a quota, a size limit)."""
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    UNAVAILABLE = "UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    PAGE_SIZE_LIMIT = "PAGE_SIZE_LIMIT"
    DEPTH_LIMIT = "DEPTH_LIMIT"
    ALIAS_LIMIT = "ALIAS_LIMIT"
    COST_LIMIT = "COST_LIMIT"
    TOKEN_LIMIT = "TOKEN_LIMIT"
    """The document has more tokens than the parser reads."""
    DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
    """The document is longer than the parser reads (in characters)."""
    SELECTION_LIMIT = "SELECTION_LIMIT"
    """The document selects too many fields with its fragments expanded."""
    DIRECTIVE_LIMIT = "DIRECTIVE_LIMIT"
    """A selection carries too many directives."""
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    BAD_REQUEST = "BAD_REQUEST"
    """The HTTP request is not a GraphQL request (its body, its parameters or its method)."""
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


DOMAIN_CODES: dict[type[DomainError], Code] = {
    InvalidState: Code.INVALID_STATE,
    CannotPlace: Code.INSUFFICIENT_CAPACITY,
    AdmissionRefused: Code.ADMISSION_REFUSED,
    NotFound: Code.NOT_FOUND,
    AlreadyExists: Code.ALREADY_EXISTS,
    InUse: Code.IN_USE,
    InvalidReference: Code.INVALID_INPUT,
    Forbidden: Code.FORBIDDEN,
}
"""Domain errors by code; a subclass takes the code of its nearest listed ancestor (InvalidState is an InUse)."""


def domain_code(error: DomainError) -> Code:
    for cls in type(error).__mro__:
        if cls in DOMAIN_CODES:
            return DOMAIN_CODES[cls]
    return Code.INVALID_INPUT


def api_error(error: DomainError) -> ApiError:
    """The API's form of a domain error: its code, its message (safe to show: services write them so)."""
    return ApiError(domain_code(error), error.message)


def _classify(error: GraphQLError) -> tuple[Code, str, dict[str, Any]]:
    original = error.original_error
    if isinstance(original, ApiError):
        return original.code, str(original), original.details
    if isinstance(original, DomainError):
        return domain_code(original), original.message, {}
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
        if isinstance(code, str) and code in Code.__members__:  # a permission refusal carries its code
            return Code(code), error.message, {}
        return Code.INVALID_INPUT, error.message, {}  # a variable that does not coerce
    if original is None:
        extensions = dict(error.extensions or {})
        code = extensions.pop("code", None)
        if code:
            return Code(code), error.message, extensions
        if _TOKENS.search(error.message):
            return Code.TOKEN_LIMIT, error.message, {}
        if _LENGTH.search(error.message):
            return Code.DOCUMENT_TOO_LARGE, error.message.split("\n")[0], {}
        if error.message.startswith("Syntax Error"):
            return Code.GRAPHQL_PARSE_FAILED, error.message, {}
        return Code.GRAPHQL_VALIDATION_FAILED, error.message, {}
    log.error("unexpected error in %s", error.path, exc_info=original)
    return Code.INTERNAL, "internal error; it has been logged", {}


def without_suggestion(message: str) -> str:
    """`message` without the hint that ends it, if it ends with one: the last " Did you mean " after
    which only the final question mark comes (found in one pass, whatever the message repeats)."""
    if not message.endswith("?"):
        return message
    hint = message.find(_SUGGESTION, message.rfind("?", 0, len(message) - 1) + 1)
    return message if hint < 0 else message[:hint]


def with_code(error: GraphQLError, suggestions: bool = True) -> GraphQLError:
    """The typed form of `error`; without `suggestions`, no hint at names the schema has."""
    code, message, details = _classify(error)
    if not suggestions:
        message = without_suggestion(message)
    typed = GraphQLError(
        redact_text(message),  # a message may quote input, and input may hold a token
        path=error.path,
        extensions={"code": code.value, **details},
    )
    # Copied, not recomputed: finding the locations of nodes again would scan the document again.
    typed.nodes, typed.source, typed.positions, typed.locations = (
        error.nodes,
        error.source,
        error.positions,
        error.locations,
    )
    return typed


class ErrorCodes(SchemaExtension):
    """Rewrites every error of a result into its typed, traceback-free form: of the one result of a
    query or mutation, and of each result a subscription streams (before the transport sends it).
    Only callers who may introspect the schema see the names validation suggests."""

    def _typed(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        suggestions = may_introspect(self.execution_context.context)
        return [with_code(e, suggestions) for e in errors]

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = self._typed(result.errors)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._typed(errors)
        yield
