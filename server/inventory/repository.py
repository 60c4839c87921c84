"""Reading inventory records out of a store and writing change sets into it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..store.base import GraphStore, Statement
from .diff import ChangeSet
from .generation import MOVE_GENERATION
from .records import EDGE_KINDS, OWNER_EDGES, VERTEX_LABELS, EdgeId, Props, Records

BATCH = 5000
Progress = Callable[[int, int], None]


async def load_records(store: GraphStore, scope: dict[str, Sequence[str]] | None = None) -> Records:
    """All records, or with `scope` ({label: keys}) only those vertices and the edges that touch them."""
    rec = Records()
    for label in VERTEX_LABELS:
        if scope is None:
            rows = await store.read_collected(f"MATCH (n:{label})", "n{.*}")
        elif scope.get(label):
            rows = await store.read_collected(
                f"UNWIND $keys AS k MATCH (n:{label} {{key: k}})", "n{.*}", {"keys": list(scope[label])}
            )
        else:
            continue
        for row in rows:
            rec.vertices[(label, row["key"])] = row
    edge_row = "{s: a.key, d: b.key, p: r{.*}}"
    for type_, src, dst in EDGE_KINDS:
        matches: list[tuple[str, dict[str, Any]]] = []
        if scope is None:
            matches.append((f"MATCH (a:{src})-[r:{type_}]->(b:{dst})", {}))
        if scope is not None and scope.get(src):
            matches.append(
                (f"UNWIND $keys AS k MATCH (a:{src} {{key: k}})-[r:{type_}]->(b:{dst})", {"keys": list(scope[src])})
            )
        if scope is not None and scope.get(dst):
            matches.append(
                (f"UNWIND $keys AS k MATCH (a:{src})-[r:{type_}]->(b:{dst} {{key: k}})", {"keys": list(scope[dst])})
            )
        for match, params in matches:
            for row in await store.read_collected(match, edge_row, params):
                rec.edges[(type_, (src, row["s"]), (dst, row["d"]))] = dict(row["p"])
    return rec


def _batches(rows: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _by_label(vertices: Iterable[tuple[tuple[str, str], Props]]) -> dict[str, list[Props]]:
    grouped: dict[str, list[Props]] = defaultdict(list)
    for (label, _key), props in vertices:
        grouped[label].append(props)
    return grouped


def _by_kind(
    edges: Iterable[tuple[tuple[str, tuple[str, str], tuple[str, str]], Props]],
) -> dict[tuple[str, str, str], list[Props]]:
    grouped: dict[tuple[str, str, str], list[Props]] = defaultdict(list)
    for (type_, (src_label, src), (dst_label, dst)), props in edges:
        grouped[(type_, src_label, dst_label)].append({"s": src, "d": dst, "p": props})
    return grouped


def change_statements(changes: ChangeSet) -> list[Statement]:
    """Statements that apply `changes`: removals first, then vertices, then the edges between them,
    and last the move of the inventory's generation (none when nothing changes)."""
    out: list[Statement] = []
    for (type_, src, dst), rows in _by_kind((e, {}) for e in changes.remove_edges).items():
        for batch in _batches(rows):
            out.append(
                (
                    f"UNWIND $rows AS r MATCH (a:{src} {{key: r.s}})-[e:{type_}]->(b:{dst} {{key: r.d}}) DELETE e",
                    {"rows": list(batch)},
                )
            )
    removed: dict[str, list[str]] = defaultdict(list)
    for label, key in changes.remove_vertices:
        removed[label].append(key)
    for label, keys in removed.items():
        for batch in _batches(keys):
            out.append((f"UNWIND $keys AS k MATCH (n:{label} {{key: k}}) DETACH DELETE n", {"keys": list(batch)}))
    new_edges = dict(changes.add_edges)
    new_vertices = _by_label(changes.add_vertices.items())
    for label in sorted(new_vertices, key=VERTEX_LABELS.index):
        out.extend(_create_vertices(label, new_vertices[label], new_edges))
    for label, rows in _by_label((v, after) for v, (_before, after) in changes.change_vertices.items()).items():
        for batch in _batches(rows):
            out.append((f"UNWIND $rows AS r MATCH (n:{label} {{key: r.key}}) SET n = r", {"rows": list(batch)}))
    for (type_, src, dst), rows in _by_kind(new_edges.items()).items():
        for batch in _batches(rows):
            out.append(
                (
                    f"UNWIND $rows AS r MATCH (a:{src} {{key: r.s}}), (b:{dst} {{key: r.d}}) "
                    f"CREATE (a)-[e:{type_}]->(b) SET e = r.p",
                    {"rows": list(batch)},
                )
            )
    changed_edges = ((e, after) for e, (_before, after) in changes.change_edges.items())
    for (type_, src, dst), rows in _by_kind(changed_edges).items():
        for batch in _batches(rows):
            out.append(
                (
                    f"UNWIND $rows AS r MATCH (a:{src} {{key: r.s}})-[e:{type_}]->(b:{dst} {{key: r.d}}) SET e = r.p",
                    {"rows": list(batch)},
                )
            )
    if out:
        out.append(MOVE_GENERATION)
    return out


def _create_vertices(label: str, rows: list[Props], new_edges: dict[EdgeId, Props]) -> list[Statement]:
    """CREATE statements for new vertices; a vertex whose owner edge is new too is created with it
    in one step (and that edge taken out of `new_edges`), which halves the work of a bulk import."""
    owned: list[Props] = []
    alone: list[Props] = []
    owner = OWNER_EDGES.get(label)
    for props in rows:
        if owner is not None:
            type_, owner_label, owner_prop = owner
            edge_id = (type_, (owner_label, props.get(owner_prop, "")), (label, props["key"]))
            if edge_id in new_edges:
                owned.append({"o": edge_id[1][1], "p": props, "e": new_edges.pop(edge_id)})
                continue
        alone.append(props)
    out: list[Statement] = []
    for batch in _batches(alone):
        out.append((f"UNWIND $rows AS r CREATE (n:{label}) SET n = r", {"rows": list(batch)}))
    if owner is not None:
        type_, owner_label, _ = owner
        for batch in _batches(owned):
            out.append(
                (
                    f"UNWIND $rows AS r MATCH (o:{owner_label} {{key: r.o}}) "
                    f"CREATE (o)-[e:{type_}]->(n:{label}) SET n = r.p, e = r.e",
                    {"rows": list(batch)},
                )
            )
    return out


async def apply_changes(store: GraphStore, changes: ChangeSet, progress: Progress | None = None) -> None:
    """Write `changes` as one atomic unit (one transaction on Neo4j, one MULTI/EXEC block on FalkorDB)."""
    statements = change_statements(changes)
    if progress is None:
        await store.write_atomically(statements)
        return
    rows = [max(1, sum(len(v) for v in params.values() if isinstance(v, list))) for _query, params in statements]
    total = sum(rows)
    done = 0

    def step_done(index: int) -> None:
        nonlocal done
        done += rows[index]
        progress(min(done, total), total)  # a retried transaction reports its statements again

    progress(0, total)
    await store.write_atomically(statements, step_done)
