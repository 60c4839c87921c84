"""Who may run what, until tenancy lands: mutations need the admin token; reads need the admin
token or a client on the loopback interface."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from .context import Context
from .errors import Code


def _refusal(code: Code, message: str) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code.value})])


class AccessPolicy(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        context: Context = ctx.context
        caller = context.caller
        if ctx.operation_type == OperationType.MUTATION and not caller.is_admin:
            ctx.result = _refusal(Code.UNAUTHENTICATED, "mutations need the admin token (Authorization: Bearer ...)")
        elif not (caller.is_admin or caller.from_loopback):
            ctx.result = _refusal(Code.UNAUTHENTICATED, "reads from other hosts need the admin token")
        yield
