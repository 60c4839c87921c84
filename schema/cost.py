"""Estimated query cost, computed from the parsed document before anything executes.

The model is an upper bound on the objects a query can make the server produce:

- every selected field costs 1 (`__typename` and introspection fields included);
- a field's selection is multiplied by how many objects the field can return:
  - a *connection* (a field with a `first` argument, or whose type name ends in `Connection`) returns
    a page of `first` items: the value of `first` (literal or variable), else the argument's default
    in the schema, else `default_page`; an explicit `null` also means `default_page`. On a connection
    type, the page multiplies the list fields (`edges`); `pageInfo` and `totalCount` are counted once;
  - a field with `first` that returns a list directly multiplies its selection by `first`;
  - any other list field (`Node.gpus`, `Switch.ports`, `__Schema.types`) is assumed to hold
    `list_size` items;
  - anything else multiplies by 1.
- multipliers compound through nesting: `switches(first: 100) { edges { node { ports { name } } } }`
  is 1 + 1 + 100 * (1 + 1 + 10 * 1) = 1,202.
- fragments and inline fragments count where they are spread; `@skip`/`@include` are honoured (a
  condition that cannot be read, e.g. a missing variable, counts the field). Branches for different
  types of an abstract field are all added up, and fields repeated under one response key are counted
  each time: the estimate may be high, never low.

`CostLimiter` refuses an operation above `max_cost` before it executes, with an ordinary GraphQL
error whose extensions are `{"code": "COST_LIMIT", "cost": N, "limit": L}`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    Undefined,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_list_type,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from .errors import ApiError, Code


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    default_page: int = 100,
    list_size: int = 10,
) -> int:
    """The estimated cost of the operation `operation_name` of `document` (see the module docstring).

    An operation that cannot be selected (unknown or ambiguous name) costs 0: execution refuses it anyway.
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = _root_type(schema, operation.operation)
    return _Estimator(
        schema=schema,
        fragments={d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)},
        variables=_with_defaults(operation, variables or {}),
        default_page=default_page,
        list_size=list_size,
    ).selection_set(operation.selection_set, root, None)


def cost_error(cost: int, limit: int) -> GraphQLError:
    """The refusal: typed on its own, and as an `ApiError` so that `ErrorCodes` keeps `cost` and `limit`."""
    message = f"query cost {cost} is over the limit of {limit}: ask for smaller pages (`first`) or fewer nested lists"
    return GraphQLError(
        message,
        original_error=ApiError(Code.COST_LIMIT, message, cost=cost, limit=limit),
        extensions={"code": Code.COST_LIMIT.value, "cost": cost, "limit": limit},
    )


class CostLimiter(SchemaExtension):
    """Refuses an operation whose estimated cost is over `max_cost`, before it executes.

    Use a factory so that each request gets its own instance: `lambda: CostLimiter(max_cost=...)`.
    With `report=True` the cost of every executed operation is added to the response's `extensions`.
    """

    def __init__(self, max_cost: int, *, default_page: int = 100, list_size: int = 10, report: bool = False) -> None:
        super().__init__()
        self.max_cost = max_cost
        self.default_page = default_page
        self.list_size = list_size
        self.report = report
        self.cost: int | None = None

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        # Validation has passed here. A result set by an earlier extension (a refusal, a cache hit) stands.
        if ctx.result is None and ctx.graphql_document is not None:
            self.cost = estimate_cost(
                ctx.schema._schema,
                ctx.graphql_document,
                ctx.variables,
                ctx.operation_name,
                default_page=self.default_page,
                list_size=self.list_size,
            )
            if self.cost > self.max_cost:
                ctx.result = ExecutionResult(data=None, errors=[cost_error(self.cost, self.max_cost)])
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost} if self.report and self.cost is not None else {}


def _root_type(schema: GraphQLSchema, operation: OperationType) -> GraphQLObjectType | None:
    if operation == OperationType.MUTATION:
        return schema.mutation_type
    if operation == OperationType.SUBSCRIPTION:
        return schema.subscription_type
    return schema.query_type


def _with_defaults(operation: OperationDefinitionNode, variables: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    return values


def _is_connection(definition: GraphQLField | None, named: GraphQLNamedType | None) -> bool:
    return (definition is not None and "first" in definition.args) or (
        named is not None and named.name.endswith("Connection")
    )


@dataclass
class _Estimator:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    default_page: int
    list_size: int
    _fragment_costs: dict[tuple[str, str | None, int | None], int] = field(default_factory=dict)
    _spreading: set[str] = field(default_factory=set)

    def selection_set(self, node: SelectionSetNode | None, parent: GraphQLNamedType | None, page: int | None) -> int:
        """Cost of a selection on `parent`; `page` is set when `parent` is a connection type of that page size."""
        if node is None:
            return 0
        total = 0
        for selection in node.selections:
            if not self._included(selection.directives):
                continue
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set, self._condition(selection, parent), page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value, parent, page)
        return total

    def spread(self, name: str, parent: GraphQLNamedType | None, page: int | None) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in self._spreading:  # unknown or cyclic: validation reports it
            return 0
        key = (name, parent.name if parent else None, page)
        if key not in self._fragment_costs:  # memoised: `...A ...A` nested n deep stays linear
            self._spreading.add(name)
            try:
                self._fragment_costs[key] = self.selection_set(
                    fragment.selection_set, self._condition(fragment, parent), page
                )
            finally:
                self._spreading.discard(name)
        return self._fragment_costs[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, page: int | None) -> int:
        definition = self._definition(parent, node.name.value)
        output: GraphQLOutputType | None = definition.type if definition else None
        named = get_named_type(output) if output is not None else None
        returns_list = output is not None and is_list_type(get_nullable_type(output))
        own_page = self._page_size(node, definition) if _is_connection(definition, named) else None
        if returns_list:
            multiplier = own_page if own_page is not None else page if page is not None else self.list_size
            inner_page = None
        else:
            multiplier = 1
            inner_page = own_page
        return 1 + multiplier * self.selection_set(node.selection_set, named, inner_page)

    def _page_size(self, node: FieldNode, definition: GraphQLField | None) -> int:
        value: Any = Undefined
        for argument in node.arguments or ():
            if argument.name.value == "first":
                value = self._value(argument.value)
        if value is Undefined and definition is not None and "first" in definition.args:
            value = definition.args["first"].default_value
        if value is Undefined or value is None or isinstance(value, bool) or not isinstance(value, int):
            return self.default_page
        return max(value, 0)

    def _included(self, directives: tuple[DirectiveNode, ...] | None) -> bool:
        for directive in directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            condition = next((self._value(a.value) for a in directive.arguments or () if a.name.value == "if"), None)
            if (name == "skip" and condition is True) or (name == "include" and condition is False):
                return False
        return True

    def _value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value, Undefined)
        return value_from_ast_untyped(node, self.variables)

    def _condition(
        self, node: InlineFragmentNode | FragmentDefinitionNode, parent: GraphQLNamedType | None
    ) -> GraphQLNamedType | None:
        if node.type_condition is None:
            return parent
        return self.schema.get_type(node.type_condition.name.value) or parent

    def _definition(self, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        if name == "__typename":
            return TypeNameMetaFieldDef
        if parent is not None and parent is self.schema.query_type:
            if name == "__schema":
                return SchemaMetaFieldDef
            if name == "__type":
                return TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return parent.fields.get(name)
        return None
