"""Estimated query cost, computed from the parsed document before anything executes.

The model is an upper bound on the fields a query can make the server produce:

- every selected field costs 1 (`__typename` and introspection fields included);
- a field's selection is multiplied by how many objects the field can return:
  - a *connection* (a field with a `first` argument, or whose type name ends in `Connection`) returns
    a page of `first` items: the value of `first` (literal or variable), else the argument's default
    in the schema, else `default_page`; an explicit `null` also means `default_page`. On a connection
    type, the page multiplies the list fields (`edges`); `pageInfo` and `totalCount` are counted once;
  - a field with `first` that returns a list directly multiplies its selection by `first`;
  - any other list field declares the most items it can hold next to its definition, in its
    Strawberry metadata (`max_items`): a number the inventory enforces (`Switch.ports` at most
    `MAX_PORTS_PER_SWITCH`), or the name of the setting that caps it (`Cluster.nodes` at most
    `max_cluster_nodes`). A list that no rule limits is declared `unbounded` and counts as a page
    of `default_page` items. Introspection lists (`__Schema.types`), whose sizes the schema fixes,
    are assumed to hold `list_size` items;
  - anything else multiplies by 1.
  A list of scalars or enums is one field, whatever its length: its items are values, not objects.
- multipliers compound through nesting: `switches(first: 100) { edges { node { ports { name } } } }`
  is 1 + 1 + 100 * (1 + 1 + 1,024 * 1) = 102,602.
- a list may also declare the label of its items when each item is in one parent's list only (a
  port on one switch, a node in one rack). The lists of *distinct* parents then hold no more items
  together than the caller can see of that label (`totals`), however many parents there are: 100
  racks of a page hold at most every node, not 100 * 128. Parents are distinct in a page, in such
  lists of distinct parents, and wherever there is one; a single-object field makes them repeat
  (the switch of every NIC's port is the same few leaves), and there only the per-parent maximum holds.
- fragments and inline fragments count where they are spread; `@skip`/`@include` are honoured (a
  condition that cannot be read, e.g. a missing variable, counts the field). Branches for different
  types of an abstract field are all added up, and fields repeated under one response key are counted
  each time: the estimate may be high, never low.

`CostLimiter` refuses an operation above `max_cost` before it executes, with an ordinary GraphQL
error whose extensions are `{"code": "COST_LIMIT", "cost": N, "limit": L}`. It reads the totals only
for an operation whose estimate without them is over the limit. The same unit is counted while the
operation runs (`execution_limit`), where the fields really produced are known.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache, partial
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
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from metalgraph.server.settings import Settings
from metalgraph.server.topology.counts import visible_counts

from .errors import ApiError, Code

MAX_ITEMS = "max_items"
"""The metadata key of a list field's declared `ListBound` (see `max_items` and `unbounded`)."""


@dataclass(frozen=True)
class ListBound:
    most: int | str | None
    """The most items of one parent: a number, the name of the `Settings` limit, or None (no rule limits it)."""
    label: str | None = None
    """The items' vertex label, when each item is in the list of one parent only."""


def max_items(bound: int | str, *, label: str | None = None) -> dict[str, ListBound]:
    """Metadata of a list field: the most items it returns. A number the inventory enforces, or the
    name of the `Settings` limit that caps it: `strawberry.field(metadata=max_items(MAX_GPUS_PER_NODE))`.
    `label`: the items are vertices of that label, each in one parent's list only."""
    return {MAX_ITEMS: ListBound(bound, label)}


def unbounded(reason: str, *, label: str | None = None) -> dict[str, ListBound | str]:
    """Metadata of a list field that no rule limits (a report over the whole inventory), with the reason:
    the estimate counts it as a page of `default_page` items (or by `label`'s total), and the execution
    limit bounds it."""
    return {MAX_ITEMS: ListBound(None, label), "unbounded": reason}


def declared_bound(definition: GraphQLField) -> ListBound:
    """The bound a list field declares; KeyError when it declares none."""
    field_definition = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(field_definition, StrawberryField):
        raise KeyError(MAX_ITEMS)
    bound = field_definition.metadata[MAX_ITEMS]
    if not isinstance(bound, ListBound):
        raise TypeError(f"{MAX_ITEMS} of a field must be a ListBound (use max_items or unbounded)")
    return bound


@cache
def bounded_labels(schema: GraphQLSchema) -> frozenset[str]:
    """The labels whose totals bound some list of `schema`."""
    labels = set()
    for named in schema.type_map.values():
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for definition in named.fields.values():
                with suppress(KeyError):
                    label = declared_bound(definition).label
                    if label is not None:
                        labels.add(label)
    return frozenset(labels)


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    default_page: int = 100,
    list_size: int = 10,
    settings: Settings | None = None,
    totals: Mapping[str, int] | None = None,
) -> int:
    """The estimated cost of the operation `operation_name` of `document` (see the module docstring).
    `settings` give the limits that bound some lists (their defaults without it); `totals` the vertices
    per label the caller can see (without them, only each parent's maximum bounds its list).

    An operation that cannot be selected (unknown or ambiguous name) costs 0: execution refuses it anyway.
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = _root_type(schema, operation.operation)
    estimator = _Estimator(
        schema=schema,
        fragments={d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)},
        variables=_with_defaults(operation, variables or {}),
        default_page=default_page,
        list_size=list_size,
        settings=settings,
        totals=totals or {},
    )
    return math.ceil(estimator.selection_set(operation.selection_set, root, None, _ONE) - 1e-9)


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

    def __init__(
        self,
        max_cost: int,
        *,
        default_page: int = 100,
        list_size: int = 10,
        settings: Settings | None = None,
        report: bool = False,
    ) -> None:
        super().__init__()
        self.max_cost = max_cost
        self.default_page = default_page
        self.list_size = list_size
        self.settings = settings
        self.report = report
        self.cost: int | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        # Validation has passed here. A result set by an earlier extension (a refusal, a cache hit) stands.
        if ctx.result is None and ctx.graphql_document is not None:
            estimate = partial(
                estimate_cost,
                ctx.schema._schema,
                ctx.graphql_document,
                ctx.variables,
                ctx.operation_name,
                default_page=self.default_page,
                list_size=self.list_size,
                settings=self.settings,
            )
            self.cost = estimate()
            if self.cost > self.max_cost:
                totals = await _visible_totals(ctx.context, bounded_labels(ctx.schema._schema))
                if totals:
                    self.cost = min(self.cost, estimate(totals=totals))
            if self.cost > self.max_cost:
                ctx.result = ExecutionResult(data=None, errors=[cost_error(self.cost, self.max_cost)])
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost} if self.report and self.cost is not None else {}


async def _visible_totals(context: Any, labels: frozenset[str]) -> dict[str, int]:
    """The caller's totals of `labels`; none without a request context (a schema run on its own)."""
    reader = getattr(context, "reader", None)
    if not labels or reader is None:
        return {}
    return await visible_counts(reader.store, reader.scope, labels)


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


_At = tuple[float, bool]
"""Where a selection is costed: how many parent objects there may be, and whether they are distinct."""
_ONE: _At = (1.0, True)


@dataclass
class _Estimator:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    default_page: int
    list_size: int
    settings: Settings | None
    totals: Mapping[str, int]
    _fragment_costs: dict[tuple[str, str | None, int | None, _At], float] = field(default_factory=dict)
    _spreading: set[str] = field(default_factory=set)

    def selection_set(
        self, node: SelectionSetNode | None, parent: GraphQLNamedType | None, page: int | None, at: _At
    ) -> float:
        """Cost of a selection on one `parent` object of the `at` ones; `page` is set when `parent` is a
        connection type of that page size."""
        if node is None:
            return 0
        total = 0.0
        for selection in node.selections:
            if not self._included(selection.directives):
                continue
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page, at)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set, self._condition(selection, parent), page, at)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value, parent, page, at)
        return total

    def spread(self, name: str, parent: GraphQLNamedType | None, page: int | None, at: _At) -> float:
        fragment = self.fragments.get(name)
        if fragment is None or name in self._spreading:  # unknown or cyclic: validation reports it
            return 0
        key = (name, parent.name if parent else None, page, at)
        if key not in self._fragment_costs:  # memoised: `...A ...A` nested n deep stays linear
            self._spreading.add(name)
            try:
                self._fragment_costs[key] = self.selection_set(
                    fragment.selection_set, self._condition(fragment, parent), page, at
                )
            finally:
                self._spreading.discard(name)
        return self._fragment_costs[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, page: int | None, at: _At) -> float:
        definition = self._definition(parent, node.name.value)
        output: GraphQLOutputType | None = definition.type if definition else None
        named = get_named_type(output) if output is not None else None
        if node.selection_set is None:
            return 1
        instances, distinct = at
        returns_list = output is not None and is_list_type(get_nullable_type(output))
        own_page = self._page_size(node, definition) if _is_connection(definition, named) else None
        inner_page = None
        if not returns_list:
            # One object per parent: still distinct on the way from a page to its items, else they may repeat.
            multiplier = 1.0
            inner_page = own_page
            distinct = own_page is not None or (parent is not None and parent.name.endswith("Edge"))
        elif own_page is not None:  # a list with `first`: a page of each parent's
            multiplier, distinct = own_page, False
        elif page is not None:  # the edges of a connection: one page's items are distinct
            multiplier = page
        else:
            multiplier, distinct = self._items(definition, instances, distinct)
        inner = (instances * multiplier, distinct or instances * multiplier <= 1)
        return 1 + multiplier * self.selection_set(node.selection_set, named, inner_page, inner)

    def _items(self, definition: GraphQLField | None, parents: float, distinct: bool) -> tuple[float, bool]:
        """How many items a list of each of `parents` holds, and whether they are distinct."""
        try:
            bound = declared_bound(definition) if definition is not None else None
        except KeyError:  # introspection, or a schema not made by Strawberry
            bound = None
        if bound is None:
            return self.list_size, False
        most = self._most(bound.most)
        total = self.totals.get(bound.label) if bound.label is not None else None
        if not distinct or total is None:
            return (most if most is not None else self.default_page), False
        share = total / max(parents, 1.0)
        return (share if most is None else min(most, share)), True

    def _most(self, most: int | str | None) -> int | None:
        if isinstance(most, str):
            limit = getattr(self.settings, most) if self.settings is not None else Settings.model_fields[most].default
            return int(limit)
        return most

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
