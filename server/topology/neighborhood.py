"""The subgraph around one vertex: everything within a few steps, over every relationship type.

The start is found by key: for a node, switch, rack or site that is its name, for a GPU its
uuid, for a NIC `node/nic`, for a port `switch/port`. Labels are tried in the order of
`SEARCH_ORDER` (all in one round trip); pass `label` when two labels share a key.

Semantics:
- A vertex is in the neighborhood when a chain of at most `depth` relationships, each followed
  in either direction, joins it to the start; `distance` is the length of the shortest chain.
- The edges are those followed by the search: every edge with at least one end closer than
  `depth`. An edge between two vertices both at distance `depth` is not listed.
- At most `limit` vertices (the start included). When the next level would go over it, the
  vertices of that level that fit are kept in (label, key) order, the rest dropped, edges to
  dropped vertices left out, and `truncated` is set.

Cost: one round trip to find the start, then one per level (a UNION over the labels of the
frontier).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..store.base import GraphStore
from .paths import InvalidTopologyRequest, UnknownVertex, natural
from .scope import EVERYTHING, Scope

Props = dict[str, Any]
VertexRef = tuple[str, str]  # (label, key)

SEARCH_ORDER: tuple[str, ...] = ("Node", "Switch", "Rack", "Site", "GPU", "NIC", "Port")
MAX_DEPTH = 4
MAX_LIMIT = 5000
_LABEL = re.compile(r"[A-Z][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Vertex:
    label: str
    key: str
    name: str
    """The `name` property, or the key when the vertex has none (GPUs)."""
    distance: int


@dataclass(frozen=True)
class Edge:
    type: str
    source: VertexRef
    target: VertexRef
    props: Props = field(default_factory=dict)


@dataclass(frozen=True)
class Neighborhood:
    center: Vertex
    depth: int
    vertices: tuple[Vertex, ...]
    """Ordered by distance, then label and key."""
    edges: tuple[Edge, ...]
    truncated: bool


def _label(label: str) -> str:
    """Labels are spliced into Cypher: only identifiers pass."""
    if not _LABEL.fullmatch(label):
        raise InvalidTopologyRequest(f"not a label: {label!r}")
    return label


async def find_vertex(store: GraphStore, key: str, label: str | None = None, scope: Scope = EVERYTHING) -> Vertex:
    """The vertex with `key`, of `label` or else of the first label in SEARCH_ORDER that has one."""
    if label is not None and label not in SEARCH_ORDER:
        raise InvalidTopologyRequest(f"label must be one of {', '.join(SEARCH_ORDER)}; got {label!r}")
    labels = (label,) if label is not None else SEARCH_ORDER
    query = " UNION ALL ".join(
        f"MATCH (n:{_label(lb)} {{key: $key}}) RETURN '{lb}' AS label, n.key AS key, n.name AS name" for lb in labels
    )
    rows = [row for row in await store.read(query, {"key": key}) if scope.sees(row["label"], row["key"])]
    if not rows:
        raise UnknownVertex(label or "vertex", key)
    row = min(rows, key=lambda r: SEARCH_ORDER.index(r["label"]))
    return Vertex(row["label"], row["key"], _name(row), 0)


def _name(row: Props) -> str:
    name = row.get("name")
    return str(name) if name is not None else str(row["key"])


def _level_query(frontier: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
    parts, params = [], {}
    for i, (label, keys) in enumerate(sorted(frontier.items())):
        params[f"k{i}"] = keys
        parts.append(
            f"UNWIND $k{i} AS k MATCH (a:{_label(label)} {{key: k}})-[r]-(b) "
            f"RETURN '{label}' AS src_label, k AS src, type(r) AS type, startNode(r) = a AS outgoing, "
            "labels(b) AS labels, b.key AS key, b.name AS name, r{.*} AS props"
        )
    return " UNION ALL ".join(parts), params


async def neighborhood(
    store: GraphStore, name: str, depth: int = 1, limit: int = 500, label: str | None = None, scope: Scope = EVERYTHING
) -> Neighborhood:
    """The vertices within `depth` (1..4) steps of the vertex keyed `name` that `scope` can see,
    and the edges between them."""
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidTopologyRequest(f"depth must be between 1 and {MAX_DEPTH}; got {depth}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidTopologyRequest(f"limit must be between 1 and {MAX_LIMIT}; got {limit}")
    center = await find_vertex(store, name, label, scope)
    seen: dict[VertexRef, Vertex] = {(center.label, center.key): center}
    edges: dict[tuple[str, VertexRef, VertexRef], Edge] = {}
    frontier: list[VertexRef] = [(center.label, center.key)]
    truncated = False
    for level in range(1, depth + 1):
        if not frontier:
            break
        by_label: dict[str, list[str]] = {}
        for lb, key in frontier:
            by_label.setdefault(lb, []).append(key)
        query, params = _level_query(by_label)
        rows = await store.read(query, params)
        new: dict[VertexRef, Vertex] = {}
        found: list[Edge] = []
        for row in rows:
            if row["key"] is None or not row["labels"]:
                continue
            src: VertexRef = (row["src_label"], row["src"])
            dst: VertexRef = (str(row["labels"][0]), str(row["key"]))
            if not scope.sees(*dst):
                continue
            if dst not in seen and dst not in new:
                new[dst] = Vertex(dst[0], dst[1], _name(row), level)
            source, target = (src, dst) if row["outgoing"] else (dst, src)
            found.append(Edge(row["type"], source, target, dict(row["props"] or {})))
        room = limit - len(seen)
        ordered = sorted(new, key=lambda ref: (ref[0], natural(ref[1])))
        if len(ordered) > room:
            ordered, truncated = ordered[:room], True
        seen.update((ref, new[ref]) for ref in ordered)
        for edge in found:
            if edge.source in seen and edge.target in seen:
                edges.setdefault((edge.type, edge.source, edge.target), edge)
        if truncated:
            break
        frontier = ordered
    vertices = sorted(seen.values(), key=lambda v: (v.distance, v.label, natural(v.key)))
    edge_list = sorted(
        edges.values(), key=lambda e: (e.type, e.source[0], natural(e.source[1]), e.target[0], natural(e.target[1]))
    )
    return Neighborhood(center, depth, tuple(vertices), tuple(edge_list), truncated)
