"""Refusals decided before an operation runs: the caller's rate limit (before the document is even
parsed), missing or bad credentials, and schema introspection by tenants (when the provider turns it off)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType
from graphql.validation import NoSchemaIntrospectionCustomRule
from graphql.validation.validate import validate
from strawberry.extensions import SchemaExtension

from .context import Context
from .document_limits import empty_operation
from .errors import Code
from .introspection_rights import may_introspect


def _refusal(code: Code, message: str, **details: Any) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code.value, **details})])


def _introspects(execution_context: Any) -> bool:
    document = execution_context.graphql_document
    if document is None:
        return False
    schema = execution_context.schema._schema
    return bool(validate(schema, document, [NoSchemaIntrospectionCustomRule]))


NOT_PARSED = "(not parsed)"
"""How the audit entry of a request refused before its document was read names the operation."""


def _rate_limited(context: Context) -> GraphQLError | None:
    principal = context.principal
    # Callers without a principal are limited by address, so guessing credentials is slow too.
    key = principal.subject if principal is not None else f"client:{context.client}"
    wait = context.services.rate_limiter.take(key)
    if wait is None:
        return None
    message = f"too many requests; retry in {wait:.1f} s"
    return GraphQLError(message, extensions={"code": Code.RATE_LIMITED.value, "retryAfterSeconds": round(wait, 1)})


def _allowed_kind(execution_context: Any) -> OperationType:
    allowed = {kind.value for kind in execution_context.allowed_operations}
    return OperationType.QUERY if OperationType.QUERY.value in allowed else OperationType(min(allowed))


class AccessPolicy(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        """A caller over its rate is refused before its document is parsed or validated: the document
        is replaced by an empty operation of a kind the request allows, refused with the limit."""
        ctx = self.execution_context
        limited = _rate_limited(ctx.context)
        if limited is not None:
            ctx.graphql_document = empty_operation(ctx.operation_name, _allowed_kind(ctx))
            ctx.pre_execution_errors = [limited]
            ctx.context.audit_operation = ctx.operation_name or NOT_PARSED
        yield

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.result = self._refusal(ctx.context, ctx) or ctx.result
        yield

    def _refusal(self, context: Context, ctx: Any) -> ExecutionResult | None:
        principal = context.principal
        if context.auth_error is not None:
            return _refusal(Code.UNAUTHENTICATED, f"authentication failed: {context.auth_error}")
        if principal is None:
            return _refusal(Code.UNAUTHENTICATED, "credentials required (Authorization: Bearer <token>)")
        if not may_introspect(context) and _introspects(ctx):
            return _refusal(Code.INTROSPECTION_DISABLED, "schema introspection is disabled for tenant tokens")
        return None
