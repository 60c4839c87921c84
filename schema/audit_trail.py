"""Every mutation and every refused request goes to the audit log.

A mutation's writes reach the store through `AuditingStore`, which commits each write together with
its audit entry in one transaction; `AuditTrail` then records whatever did not write (a refusal, an
error, a no-op) once the operation is over. Entries carry the root fields' arguments with secrets
redacted, never the raw document. Refusals a caller can repeat at will (a limit, or any refusal of an
anonymous caller) are counted per caller and window rather than written one by one (`AuditLog.refused`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, get_operation_ast
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from metalgraph.server.audit import AuditEvent, Outcome
from metalgraph.server.store.base import GraphStore, Row, Statement, StepDone

from .context import Context
from .errors import Code

REFUSALS: dict[str, Outcome] = {
    Code.UNAUTHENTICATED.value: Outcome.DENIED,
    Code.FORBIDDEN.value: Outcome.DENIED,
    Code.RATE_LIMITED.value: Outcome.LIMITED,
    Code.COST_LIMIT.value: Outcome.LIMITED,
    Code.DEPTH_LIMIT.value: Outcome.LIMITED,
    Code.ALIAS_LIMIT.value: Outcome.LIMITED,
    Code.TOKEN_LIMIT.value: Outcome.LIMITED,
    Code.DOCUMENT_TOO_LARGE.value: Outcome.LIMITED,
    Code.SELECTION_LIMIT.value: Outcome.LIMITED,
    Code.DIRECTIVE_LIMIT.value: Outcome.LIMITED,
    Code.PAGE_SIZE_LIMIT.value: Outcome.LIMITED,
    Code.INTROSPECTION_DISABLED.value: Outcome.DENIED,
}
"""Codes that make even a query worth an entry, and how the entry names them."""

MUTATION_OUTCOMES: dict[str, Outcome] = {
    **REFUSALS,
    Code.NOT_FOUND.value: Outcome.NOT_FOUND,
    Code.INVALID_INPUT.value: Outcome.INVALID,
    Code.ALREADY_EXISTS.value: Outcome.INVALID,
    Code.IN_USE.value: Outcome.INVALID,
    Code.INVALID_STATE.value: Outcome.INVALID,
    Code.INSUFFICIENT_CAPACITY.value: Outcome.LIMITED,
    Code.ADMISSION_REFUSED.value: Outcome.LIMITED,
}


class AuditingStore(GraphStore):
    """The store as a mutation sees it: every atomic write is committed with its audit entry."""

    def __init__(self, inner: GraphStore, context: Context, operation: str) -> None:
        super().__init__()
        self.inner = inner
        self.context = context
        self.operation = operation
        self.kind = inner.kind
        self.writes = 0

    @property
    def underlying(self) -> GraphStore:
        return self.inner.underlying

    async def _read(self, query: str, params: dict[str, Any]) -> list[Row]:
        return await self.inner.read(query, params)

    async def read_collected(self, match: str, row: str, params: dict[str, Any] | None = None) -> list[Row]:
        return await self.inner.read_collected(match, row, params)

    async def _write(self, query: str, params: dict[str, Any]) -> list[Row]:
        raise RuntimeError("mutations write through write_atomically, so that each write is audited")

    async def write_atomically(self, statements: Sequence[Statement], step_done: StepDone | None = None) -> None:
        event = event_for(self.context, self.operation, Outcome.OK, "")
        await self.context.services.audit.record(event, list(statements))
        self.writes += 1

    async def _write_atomically(self, statements: Sequence[Statement], step_done: StepDone) -> None:
        raise NotImplementedError  # write_atomically is overridden

    async def start(self) -> None:
        raise RuntimeError("a mutation cannot start the store")

    async def close(self) -> None:
        raise RuntimeError("a mutation cannot close the store")

    async def ping(self) -> None:
        await self.inner.ping()

    async def clear(self) -> None:
        raise RuntimeError("a mutation cannot clear the store")


def event_for(context: Context, operation: str, outcome: Outcome, detail: str) -> AuditEvent:
    principal = context.principal
    variables = context.audit_arguments
    tenant: str | None
    if principal is not None and principal.tenant is not None:
        tenant = principal.tenant
    elif principal is not None and outcome is Outcome.OK:
        tenant = _tenant_acted_on(variables)
    else:
        tenant = None  # refusals of providers and of unknown callers are the provider's business only
    return AuditEvent(
        actor=principal.subject if principal else f"anonymous@{context.client or 'unknown'}",
        role=principal.role.value if principal else "",
        tenant=tenant,
        operation=operation,
        variables=variables,
        outcome=outcome,
        detail=detail[:500],
    )


def _tenant_acted_on(arguments: dict[str, Any]) -> str | None:
    """The tenant a provider's successful operation acted on, so that tenant's admins see it in their
    log: only when every root field names that same tenant (the entry holds all their arguments)."""
    named = {args.get("tenant") if isinstance(args, dict) else None for args in arguments.values()}
    if len(named) == 1:
        (tenant,) = named
        return tenant if isinstance(tenant, str) else None
    return None


def _root_arguments(execution_context: Any) -> tuple[str, dict[str, Any]]:
    """The operation's root fields and their arguments (variables resolved), for the entry."""
    document = execution_context.graphql_document
    if document is None:
        return "", {}
    operation = get_operation_ast(document, execution_context.operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return "", {}
    schema = execution_context.schema._schema
    root = schema.get_root_type(operation.operation)
    variables = get_variable_values(schema, operation.variable_definitions or (), execution_context.variables or {})
    names, arguments = [], {}
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            continue
        name = selection.name.value
        names.append(name)
        definition = root.fields.get(name) if root is not None else None
        if definition is None:
            continue
        try:
            if isinstance(variables, list):  # variables that do not coerce: the request fails anyway
                raise GraphQLError("invalid variables")
            values = get_argument_values(definition, selection, variables)
        except GraphQLError:
            values = {"invalid arguments": True}
        arguments[selection.alias.value if selection.alias else name] = values
    return ",".join(dict.fromkeys(names)), arguments


_NAMED_ROOT_FIELDS = 20
"""How many root fields the entry of an operation refused before execution names."""


def _root_field_names(execution_context: Any) -> str:
    """The root fields of an operation refused before execution, their arguments left alone: the
    document was not validated, and coercing arguments that may be invalid by the thousand would cost
    as much as validating. At most `_NAMED_ROOT_FIELDS` names, then how many more there are."""
    document = execution_context.graphql_document
    operation = get_operation_ast(document, execution_context.operation_name) if document is not None else None
    if not isinstance(operation, OperationDefinitionNode):
        return ""
    fields = operation.selection_set.selections
    names = list(dict.fromkeys(s.name.value for s in fields if isinstance(s, FieldNode)))
    more = len(names) - _NAMED_ROOT_FIELDS
    return ",".join(names[:_NAMED_ROOT_FIELDS]) + (f" and {more} more" if more > 0 else "")


def _is_mutation(execution_context: Any) -> bool:
    if execution_context.graphql_document is None:
        return False
    try:
        return execution_context.operation_type == OperationType.MUTATION
    except Exception:  # an operation name the document does not define: nothing runs
        return False


def _codes(result: Any) -> list[tuple[str, str]]:
    errors = (result.errors if result is not None else None) or []
    return [(str((e.extensions or {}).get("code", "")), e.message) for e in errors]


class AuditTrail(SchemaExtension):
    """Records refusals of any operation, and the outcome of every mutation."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        context: Context = ctx.context
        context.audit_operation, context.audit_arguments = _root_arguments(ctx)
        if _is_mutation(ctx):
            context.store = AuditingStore(context.store, context, context.audit_operation)
        yield

    async def on_operation(self) -> Any:  # type: ignore[override]
        yield
        ctx = self.execution_context
        context: Context = ctx.context
        is_mutation = _is_mutation(ctx)
        wrote = isinstance(context.store, AuditingStore) and context.store.writes > 0
        outcomes = MUTATION_OUTCOMES if is_mutation else REFUSALS
        codes = _codes(ctx.result)
        refusal = next(((code, message) for code, message in codes if code in outcomes), None)
        if refusal is None and codes and is_mutation:
            refusal = next(iter(codes))
        if not context.audit_operation:  # refused before execution (a limit, validation, the rate limit)
            context.audit_operation = _root_field_names(ctx)
        operation = context.audit_operation or (ctx.operation_name or "")
        if refusal is not None:
            code, message = refusal
            outcome = outcomes.get(code, Outcome.ERROR)
            event = event_for(context, operation, outcome, f"{code}: {message}")
            if context.principal is None or (code in REFUSALS and outcome is Outcome.LIMITED):
                await context.services.audit.refused(event, code)
            else:
                await context.services.audit.record(event)
        elif is_mutation and not wrote:
            await context.services.audit.record(event_for(context, operation, Outcome.OK, "no change"))
