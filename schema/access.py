"""Refusals decided before an operation runs: missing or bad credentials, the caller's rate limit,
and schema introspection by tenants (when the provider turns it off)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from graphql.validation.validate import validate
from strawberry.extensions import SchemaExtension

from .context import Context
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


class AccessPolicy(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.result = self._refusal(ctx.context, ctx) or ctx.result
        yield

    def _refusal(self, context: Context, ctx: Any) -> ExecutionResult | None:
        principal = context.principal
        # Callers without a principal are limited by address, so guessing credentials is slow too.
        key = principal.subject if principal is not None else f"client:{context.client}"
        wait = context.services.rate_limiter.take(key)
        if wait is not None:
            return _refusal(
                Code.RATE_LIMITED, f"too many requests; retry in {wait:.1f} s", retryAfterSeconds=round(wait, 1)
            )
        if context.auth_error is not None:
            return _refusal(Code.UNAUTHENTICATED, f"authentication failed: {context.auth_error}")
        if principal is None:
            return _refusal(Code.UNAUTHENTICATED, "credentials required (Authorization: Bearer <token>)")
        if not may_introspect(context) and _introspects(ctx):
            return _refusal(Code.INTROSPECTION_DISABLED, "schema introspection is disabled for tenant tokens")
        return None
