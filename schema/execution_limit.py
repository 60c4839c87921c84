"""The cost limit while an operation runs: execution stops once it has produced more fields than allowed.

The estimate (`cost`) refuses an operation before it runs, from declared bounds; this counts what
the operation really produces, in the same unit (one per field of each object completed), so that a
list longer than its estimate (introspection, a list no rule limits) cannot run on. The count is kept
where graphql-core executes the fields of one object, one addition and one comparison per object.

Once the count passes the limit, the operation is abandoned as a whole: the error is raised through
every enclosing field (no partial data, nulls or sibling work), graphql-core cancels the resolvers
still in flight, and the response is `data: null` with one error whose extensions are
`{"code": "COST_LIMIT", "produced": N, "limit": L}`. Each subscription event is counted on its own.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLObjectType, GraphQLOutputType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from .errors import ApiError, Code


class _Count:
    __slots__ = ("fields",)

    def __init__(self) -> None:
        self.fields = 0


class CostExceeded(GraphQLError):
    """Raised where the count passes the limit; never located at a field, never turned into a null."""

    def __init__(self, produced: int, limit: int) -> None:
        message = (
            f"the query produced more than {limit} fields and was stopped: "
            "ask for smaller pages (`first`) or fewer nested lists"
        )
        super().__init__(
            message,
            original_error=ApiError(Code.COST_LIMIT, message, produced=produced, limit=limit),
            extensions={"code": Code.COST_LIMIT.value, "produced": produced, "limit": limit},
        )


class FieldLimitedExecution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, counting the fields it completes. Use `field_limited(limit)` for a class."""

    max_fields: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count = _Count()  # shared by the shallow copies graphql-core makes of an executor

    def _produce(self, fields: int) -> None:
        count = self._count
        count.fields += fields
        if count.fields > self.max_fields:
            raise CostExceeded(count.fields, self.max_fields)

    def execute_fields(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Any, grouped_field_set: Any, *args: Any
    ) -> Any:
        self._produce(len(grouped_field_set))
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, *args)

    def execute_fields_serially(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Any, grouped_field_set: Any, *args: Any
    ) -> Any:
        self._produce(len(grouped_field_set))
        return super().execute_fields_serially(parent_type, source_value, path, grouped_field_set, *args)

    def handle_field_error(self, raw_error: Exception, return_type: GraphQLOutputType, *args: Any) -> None:
        if isinstance(raw_error, CostExceeded):
            raise raw_error
        super().handle_field_error(raw_error, return_type, *args)

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        executor._count = _Count()  # type: ignore[attr-defined]  # a copy of this class
        return executor


def field_limited(max_fields: int) -> type[FieldLimitedExecution]:
    """The executor class of a schema whose operations may produce at most `max_fields` fields."""
    return type("FieldLimitedExecution", (FieldLimitedExecution,), {"max_fields": max_fields})
