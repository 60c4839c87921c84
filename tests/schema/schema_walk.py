"""Documents over an introspected schema: every field's selection to a bounded depth, arguments filled from
pools of identifiers. A field added to the schema is walked without anyone touching the callers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_abstract_type,
    is_enum_type,
    is_input_object_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_required_argument,
    is_required_input_field,
)
from tenant_world import Cursor, Pools

DEPTH = 3
"""Object levels below a root field's object (connections, edges and pageInfo do not count):
`switch { ports { nic { node { ... } } } }` goes from a shared switch down to a node."""


def _is_wrapper(t: GraphQLNamedType) -> bool:
    """Relay plumbing: a connection, an edge, a page info. Walking through it costs no depth."""
    return t.name.endswith(("Connection", "Edge")) or t.name == "PageInfo"


def _item_type(t: GraphQLNamedType) -> GraphQLNamedType:
    """The type a field is about: a connection's node type, else the type itself."""
    if isinstance(t, GraphQLObjectType) and t.name.endswith("Connection") and "edges" in t.fields:
        edge = get_named_type(t.fields["edges"].type)
        if isinstance(edge, GraphQLObjectType) and "node" in edge.fields:
            return get_named_type(edge.fields["node"].type)
    return t


_SCALAR_DEFAULTS: dict[str, Any] = {
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "DateTime": "2026-01-01T00:00:00+00:00",
    "JSON": {},
}


def _compatible(value: Any, t: GraphQLInputType) -> bool:
    if is_non_null_type(t):
        return value is not None and _compatible(value, t.of_type)  # type: ignore[union-attr]
    if is_list_type(t):
        return isinstance(value, list) and all(_compatible(v, t.of_type) for v in value)  # type: ignore[union-attr]
    named = get_named_type(t)
    if is_input_object_type(named):
        return isinstance(value, dict)
    if is_enum_type(named):
        return isinstance(value, str) and value in named.values  # type: ignore[union-attr]
    name = named.name
    if name in ("String", "ID"):
        return isinstance(value, str | Cursor)
    if name in ("Int", "Float"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "Boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


def _type_ref(t: Any) -> str:
    return str(t)


@dataclass(frozen=True)
class Call:
    """One root field with its arguments, as a document and variables."""

    operation: str  # "query" or "mutation"
    field: str
    args: dict[str, Any]
    arg_types: dict[str, str]
    selection: str

    def document(self) -> str:
        if not self.args:
            return f"{self.operation} {{ {self.field} {self.selection} }}"
        decl = ", ".join(f"${a}: {self.arg_types[a]}" for a in self.args)
        use = ", ".join(f"{a}: ${a}" for a in self.args)
        return f"{self.operation}({decl}) {{ {self.field}({use}) {self.selection} }}"

    def __str__(self) -> str:
        return f"{self.field}({self.args})"


class Walker:
    """Documents over an introspected schema: selections of every field to a depth, arguments from pools."""

    def __init__(self, schema: GraphQLSchema, depth: int = DEPTH) -> None:
        self.schema = schema
        self.depth = depth

    # -- selections

    def selection(self, t: GraphQLNamedType, level: int = 0, pools: Pools | None = None) -> str:
        """`{ ... }` with every scalar field and every object field down to `self.depth` levels."""
        if is_leaf_type(t):
            return ""
        if is_abstract_type(t):
            parts = ["__typename"]
            for possible in self.schema.get_possible_types(t):  # type: ignore[arg-type]
                inner = self.selection(possible, level, pools)
                if inner:
                    parts.append(f"... on {possible.name} {inner}")
            return "{ " + " ".join(parts) + " }"
        assert isinstance(t, GraphQLObjectType)
        parts = []
        for name, f in t.fields.items():
            target = get_named_type(f.type)
            args = self._nested_arguments(f, pools)
            if args is None:
                continue
            if is_leaf_type(target):
                parts.append(f"{name}{args}")
                continue
            below = level if _is_wrapper(target) else level + 1
            if below > self.depth:
                continue
            inner = self.selection(target, below, pools)
            if inner:
                parts.append(f"{name}{args} {inner}")
        return "{ " + " ".join(parts) + " }" if parts else ""

    def _nested_arguments(self, f: GraphQLField, pools: Pools | None) -> str | None:
        """Literal values for the required arguments of a nested field (optional ones are left out)."""
        values = {}
        for name, arg in f.args.items():
            if is_required_argument(arg):
                value = self.fill(arg.type, name, pools, {})
                if value is _MISSING:
                    return None
                values[name] = value
        if not values:
            return ""
        return "(" + ", ".join(f"{k}: {_literal(v, f.args[k].type)}" for k, v in values.items()) + ")"

    # -- argument values

    def fill(self, t: GraphQLInputType, name: str, pools: Pools | None, obj: dict[str, Any]) -> Any:
        """A value of type `t` for the argument (or input field) `name`: from the object named, else from
        the pools by name, else a plain value of the type."""
        if is_non_null_type(t):
            return self.fill(t.of_type, name, pools, obj)  # type: ignore[union-attr]
        candidates = [obj[name]] if name in obj else []
        if pools is not None:
            candidates += pools.by_argument.get(name, [])
        for value in candidates:
            if _compatible(value, t):
                return value
            if is_list_type(t) and _compatible([value], t):
                return [value]
        if is_list_type(t):
            inner = self.fill(t.of_type, name, pools, obj)  # type: ignore[union-attr]
            return _MISSING if inner is _MISSING else [inner]
        named = get_named_type(t)
        if is_enum_type(named):
            return next(iter(named.values))  # type: ignore[union-attr]
        if isinstance(named, GraphQLInputObjectType):
            objects = pools.objects.get(named.name.removesuffix("Input"), []) if pools else []
            inner_obj = objects[0] if objects else {}
            value = {}
            for fname, f in named.fields.items():
                if is_required_input_field(f):
                    v = self.fill(f.type, fname, pools, inner_obj)
                    if v is _MISSING:
                        return _MISSING
                    value[fname] = v
            return value
        if named.name in ("String", "ID"):
            return pools.fallback_string if pools else "x"
        return _SCALAR_DEFAULTS.get(named.name, pools.fallback_string if pools else "x")

    def calls(self, operation: str, pools: Pools, selection_depth: int | None = None) -> list[Call]:
        """For every root field of `operation`: the argument sets that name the pools' objects."""
        root = self.schema.query_type if operation == "query" else self.schema.mutation_type
        assert root is not None
        out: list[Call] = []
        for name, f in root.fields.items():
            walker = Walker(self.schema, self.depth if selection_depth is None else selection_depth)
            selection = walker.selection(get_named_type(f.type), 0, pools)
            types = {a: _type_ref(arg.type) for a, arg in f.args.items()}
            seen: set[str] = set()
            for args in self._argument_sets(name, f, pools):
                key = repr(sorted(args.items(), key=lambda kv: kv[0]))
                if key not in seen:
                    seen.add(key)
                    out.append(Call(operation, name, args, types, selection))
        return out

    def _argument_sets(self, field_name: str, f: GraphQLField, pools: Pools) -> list[dict[str, Any]]:
        target = _item_type(get_named_type(f.type))
        objects = pools.objects.get(target.name, [])
        if not objects:  # a payload: the mutation's name says what it is about (deleteNode, assignNodes)
            objects = next(
                (objs for type_name, objs in pools.objects.items() if type_name.lower() in field_name.lower()), []
            )
        required = [a for a, arg in f.args.items() if is_required_argument(arg)]
        sets: list[dict[str, Any]] = []
        for obj in objects[:8]:
            values = {a: self.fill(f.args[a].type, a, pools, obj) for a in required}
            if _MISSING in values.values():
                continue
            with_optional = {
                **values,
                **{a: obj[a] for a in f.args if a in obj and _compatible(obj[a], f.args[a].type)},
            }
            sets.append(with_optional)
            if with_optional != values:
                sets.append(values)
        if not sets:
            values = {a: self.fill(f.args[a].type, a, pools, {}) for a in required}
            if _MISSING in values.values():
                return []
            sets.append(values)
        base = sets[0]
        for a, arg in f.args.items():
            if a in base:
                continue
            sets += [{**base, a: v} for v in self._optional_values(a, arg, pools, objects)]
        for a, arg in f.args.items():  # every value of an enum argument (a role, a state)
            named = get_named_type(arg.type)
            if is_enum_type(named) and not is_list_type(arg.type):
                sets += [{**base, a: v} for v in named.values if base.get(a) != v]  # type: ignore[union-attr]
        return sets

    def _optional_values(self, name: str, arg: GraphQLArgument, pools: Pools, objects: list[dict]) -> list[Any]:
        named = get_named_type(arg.type)
        found = [obj[name] for obj in objects if name in obj and _compatible(obj[name], arg.type)]
        if isinstance(named, GraphQLInputObjectType):
            for fname, f in named.fields.items():
                found += [{fname: v} for v in pools.by_argument.get(fname, [])[:2] if _compatible(v, f.type)]
        else:
            found += [v for v in pools.by_argument.get(name, [])[:2] if _compatible(v, arg.type)]
        unique: list[Any] = []
        for v in found:
            if v not in unique:
                unique.append(v)
        return unique


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _literal(value: Any, t: Any) -> str:
    named = get_named_type(t)
    if isinstance(value, list):
        inner = t.of_type if isinstance(t, GraphQLNonNull) else t
        inner = inner.of_type if isinstance(inner, GraphQLList) else inner
        return "[" + ", ".join(_literal(v, inner) for v in value) + "]"
    if isinstance(value, dict):
        fields = named.fields if isinstance(named, GraphQLInputObjectType) else {}
        return (
            "{"
            + ", ".join(f"{k}: {_literal(v, fields[k].type if k in fields else None)}" for k, v in value.items())
            + "}"
        )
    if is_enum_type(named) and isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
