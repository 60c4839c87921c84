"""Limits on the size of a GraphQL document, checked before any validation rule walks it.

The parser reads no document longer than `max_chars` characters, and stops after `max_tokens` tokens
(graphql-core counts them as it lexes, comments included) and at the fragment definition past
`max_fragments` (several validation rules compare each fragment with the others).
The parsed document is then measured in one pass over each definition, each fragment measured once
however often it is spread, so the work is linear in the document's length even when the document,
as execution would expand it, is exponentially larger (fragments spreading another fragment twice,
nested). What is measured is the document as expanded:

- fields: every field selection, fragments counted where they are spread;
- depth: as Strawberry's `QueryDepthLimiter` counts it (a root leaf is 0, introspection fields 0);
- aliases: as Strawberry's `MaxAliasesLimiter` counts them (all operations together);
- directives: on any one node (not expanded);
- repeats: fields of one response name in one selection (validation compares them pairwise).

A spread that closes a fragment cycle, or names no fragment, adds nothing: validation reports those.
The first limit exceeded is reported as an ordinary GraphQL error with its code in `extensions`, and
the validation rules do not run.

Parsing and validation run in a worker thread, bounded as they are, so the event loop is not held
for the tens of milliseconds a document at the token limit takes. The threads are few, so that
however many documents arrive together, few threads compete with the event loop for the interpreter
(a Python thread holds it while it computes): the documents of callers without credentials queue for
one thread of their own, so that none delays an authenticated caller's, and those of authenticated
callers for two others. Positions in the parsed document resolve to lines by bisection
(`IndexedSource`), so errors cost the same on the last line of a document as on the first.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.language.parser import Parser, nested_too_deeply_error
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from .context import Context
from .errors import Code
from .indexed_source import IndexedSource


@dataclass(frozen=True)
class DocumentLimits:
    max_chars: int
    max_tokens: int
    max_fields: int
    max_depth: int
    max_aliases: int
    max_directives: int
    max_repeats: int
    max_fragments: int


@dataclass
class _Shape:
    """What one definition selects by itself, and the fragments it spreads."""

    fields: int = 0
    aliases: int = 0
    depth: int = 0
    spreads: list[tuple[str, int | None]] = field(default_factory=list)
    """(fragment name, depth it is spread at; None inside an introspection field, which depth ignores)"""
    crowded: Node | None = None
    """The first node carrying more directives than allowed."""
    repeated: FieldNode | None = None
    """The first field whose response name one selection repeats more often than allowed."""


def _shape(definition: ExecutableDefinitionNode, limits: DocumentLimits) -> _Shape:
    """One walk of the definition (fragments not followed). The repeats of a response name are counted
    per selection with its inline fragments, which validation compares with each other pairwise."""
    shape = _Shape()
    if len(definition.directives or ()) > limits.max_directives:
        shape.crowded = definition
    stack: list[tuple[Any, int | None, Counter[str]]] = [(definition.selection_set, 0, Counter())]
    while stack:
        selection_set, level, keys = stack.pop()
        for selection in selection_set.selections:
            if shape.crowded is None and len(selection.directives or ()) > limits.max_directives:
                shape.crowded = selection
            if isinstance(selection, FragmentSpreadNode):
                shape.spreads.append((selection.name.value, level))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, level, keys))
            elif isinstance(selection, FieldNode):
                shape.fields += 1
                shape.aliases += selection.alias is not None
                key = (selection.alias or selection.name).value
                keys[key] += 1
                if shape.repeated is None and keys[key] > limits.max_repeats:
                    shape.repeated = selection
                counted = level if level is not None and not selection.name.value.startswith("__") else None
                nested = selection.selection_set is not None
                if counted is not None:
                    shape.depth = max(shape.depth, counted + nested)
                if nested:
                    stack.append((selection.selection_set, None if counted is None else counted + 1, Counter()))
    return shape


@dataclass(frozen=True)
class _Expanded:
    fields: int
    aliases: int
    depth: int


def _fragment_sizes(shapes: dict[str, _Shape], cap: int) -> dict[str, _Expanded]:
    """Each fragment as expanded, in one walk of the spread graph without recursion (counts stop at `cap`)."""
    sizes: dict[str, _Expanded] = {}
    for root in shapes:
        if root in sizes:
            continue
        path = [(root, iter(shapes[root].spreads))]
        on_path = {root}
        while path:
            name, spreads = path[-1]
            for spread, _level in spreads:
                if spread in shapes and spread not in sizes and spread not in on_path:
                    path.append((spread, iter(shapes[spread].spreads)))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.remove(name)
                sizes[name] = _expand(shapes[name], sizes, cap)
    return sizes


def _expand(shape: _Shape, sizes: dict[str, _Expanded], cap: int) -> _Expanded:
    fields, aliases, depth = shape.fields, shape.aliases, shape.depth
    for name, level in shape.spreads:
        spread = sizes.get(name)  # None: unknown, or closing a cycle
        if spread is None:
            continue
        fields = min(cap, fields + spread.fields)
        aliases = min(cap, aliases + spread.aliases)
        if level is not None:
            depth = max(depth, min(cap, level + spread.depth))
    return _Expanded(fields, aliases, depth)


def _refusal(code: Code, message: str, node: Node | None = None, **details: Any) -> GraphQLError:
    return GraphQLError(message, nodes=node, extensions={"code": code.value, **details})


def document_refusal(document: DocumentNode, limits: DocumentLimits) -> GraphQLError | None:
    """Why `document` is refused before validation, or None; linear in the document's length."""
    definitions = [d for d in document.definitions if isinstance(d, ExecutableDefinitionNode)]
    fragments = [d for d in definitions if isinstance(d, FragmentDefinitionNode)]
    shapes = {d.name.value: _shape(d, limits) for d in fragments}
    operations = [(d, _shape(d, limits)) for d in definitions if isinstance(d, OperationDefinitionNode)]
    for shape in [*shapes.values(), *(s for _, s in operations)]:
        if shape.crowded is not None:
            count = len(shape.crowded.directives or ())  # type: ignore[attr-defined]
            message = f"{count} directives on one selection; the limit is {limits.max_directives}"
            return _refusal(Code.DIRECTIVE_LIMIT, message, shape.crowded, limit=limits.max_directives)
        if shape.repeated is not None:
            key = (shape.repeated.alias or shape.repeated.name).value
            message = f"'{key}' is selected more than {limits.max_repeats} times in one selection"
            return _refusal(Code.SELECTION_LIMIT, message, shape.repeated, limit=limits.max_repeats)
    cap = 2 * max(limits.max_fields, limits.max_depth, limits.max_aliases)
    sizes = _fragment_sizes(shapes, cap)
    fields = aliases = 0
    for operation, shape in operations:
        expanded = _expand(shape, sizes, cap)
        fields, aliases = fields + expanded.fields, aliases + expanded.aliases
        if expanded.depth > limits.max_depth:
            name = operation.name.value if operation.name else "anonymous"
            message = f"'{name}' exceeds maximum operation depth of {limits.max_depth}"
            return _refusal(Code.DEPTH_LIMIT, message, operation)
    if fields > limits.max_fields:
        message = (
            f"the document selects more than {limits.max_fields} fields with its fragments expanded"
            f" ({min(fields, cap)}{'+' if fields >= cap else ''}): select fewer fields or spread fragments fewer times"
        )
        return _refusal(Code.SELECTION_LIMIT, message, limit=limits.max_fields)
    if aliases > limits.max_aliases:
        return _refusal(Code.ALIAS_LIMIT, f"{aliases} aliases found. Allowed: {limits.max_aliases}")
    return None


class DocumentLimiter(SchemaExtension):
    """Caps the tokens the parser reads, refuses an oversized document before validation runs, and
    parses and validates in a worker thread, so that the event loop goes on serving other requests."""

    def __init__(self, limits: DocumentLimits) -> None:
        self.limits = limits

    def on_operation(self) -> Iterator[None]:
        options: dict[str, Any] = self.execution_context.parse_options  # type: ignore[assignment]
        options["max_tokens"] = self.limits.max_tokens
        options["max_source_length"] = self.limits.max_chars  # passed on to graphql-core's parse, as all are
        yield

    async def _in_thread(self, work: Callable[..., Any], *args: Any) -> Any:
        context: Context = self.execution_context.context
        threads = _ANONYMOUS if context.principal is None else _AUTHENTICATED
        return await asyncio.get_running_loop().run_in_executor(threads, work, *args)

    async def on_parse(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            try:
                ctx.graphql_document = await self._in_thread(_parse, ctx.query, self.limits, ctx.parse_options)
            except GraphQLError as error:
                # Strawberry would parse the query again on the event loop to find this error; an empty
                # operation in its place lets the error through as a refusal before validation instead.
                ctx.graphql_document = empty_operation(ctx.operation_name)
                ctx.pre_execution_errors = [error]
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and ctx.pre_execution_errors is None:
            ctx.pre_execution_errors = await self._in_thread(self._errors, ctx.schema._schema, ctx.graphql_document)
        yield  # Strawberry validates no more once the errors are set (an empty list: none)

    def _errors(self, schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
        refusal = document_refusal(document, self.limits)
        if refusal is not None:
            return [refusal]
        return validate_document(schema, document, tuple(self.execution_context.validation_rules))


_ANONYMOUS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphql-anonymous")
"""Where the documents of callers without credentials are parsed and validated, one at a time."""
_AUTHENTICATED = ThreadPoolExecutor(max_workers=2, thread_name_prefix="graphql-authenticated")


def _parse(query: str, limits: DocumentLimits, options: dict[str, Any]) -> DocumentNode:
    """graphql-core's `parse`, with `_Parser` in place of its parser."""
    parser = _Parser(IndexedSource(query), limits.max_fragments, **options)
    try:
        return parser.parse_document()
    except RecursionError:
        raise nested_too_deeply_error(parser) from None


class _Parser(Parser):
    """graphql-core's parser, stopping at the fragment definition past `max_fragments`."""

    def __init__(self, source: IndexedSource, max_fragments: int, **options: Any) -> None:
        super().__init__(source, **options)
        self._max_fragments = max_fragments
        self._fragments = 0

    def parse_fragment_definition(self) -> FragmentDefinitionNode:
        self._fragments += 1
        if self._fragments > self._max_fragments:
            raise GraphQLError(
                f"the document defines more than {self._max_fragments} fragments",
                source=self._lexer.source,
                positions=[self._lexer.token.start],
                extensions={"code": Code.SELECTION_LIMIT.value, "limit": self._max_fragments},
            )
        return super().parse_fragment_definition()


def empty_operation(name: str | None, kind: OperationType = OperationType.QUERY) -> DocumentNode:
    """An operation selecting nothing, under the name the request gave (Strawberry looks it up)."""
    operation = OperationDefinitionNode(
        operation=kind,
        name=NameNode(value=name) if name else None,
        directives=(),
        variable_definitions=(),
        selection_set=SelectionSetNode(selections=()),
    )
    return DocumentNode(definitions=(operation,))
