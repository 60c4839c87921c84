"""The difference between two sets of graph records, as the change set that turns one into the other."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .records import EdgeId, Props, Records, VertexId


@dataclass
class ChangeSet:
    add_vertices: dict[VertexId, Props] = field(default_factory=dict)
    change_vertices: dict[VertexId, tuple[Props, Props]] = field(default_factory=dict)  # (before, after)
    remove_vertices: list[VertexId] = field(default_factory=list)
    add_edges: dict[EdgeId, Props] = field(default_factory=dict)
    change_edges: dict[EdgeId, tuple[Props, Props]] = field(default_factory=dict)
    remove_edges: list[EdgeId] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.size

    @property
    def size(self) -> int:
        return (
            len(self.add_vertices)
            + len(self.change_vertices)
            + len(self.remove_vertices)
            + len(self.add_edges)
            + len(self.change_edges)
            + len(self.remove_edges)
        )

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts per label or edge type: {"Node": {"added": 3, "changed": 1, "removed": 0}, ...}."""
        counts: dict[str, Counter[str]] = {}

        def bump(kind: str, what: str, n: int = 1) -> None:
            counts.setdefault(kind, Counter())[what] += n

        for label, _ in self.add_vertices:
            bump(label, "added")
        for label, _ in self.change_vertices:
            bump(label, "changed")
        for label, _ in self.remove_vertices:
            bump(label, "removed")
        for type_, _, _ in self.add_edges:
            bump(type_, "added")
        for type_, _, _ in self.change_edges:
            bump(type_, "changed")
        for type_, _, _ in self.remove_edges:
            bump(type_, "removed")
        return {k: {w: c[w] for w in ("added", "changed", "removed")} for k, c in sorted(counts.items())}

    def lines(self, limit: int = 200) -> list[str]:
        """A readable diff: `+ Node gpu-0001`, `~ Port leaf-1/swp3: oper_status 'up' -> 'down'`, `- ...`."""
        out: list[str] = []
        for label, key in sorted(self.add_vertices):
            out.append(f"+ {label} {key}")
        for (label, key), (before, after) in sorted(self.change_vertices.items()):
            fields = sorted(set(before) | set(after))
            delta = ", ".join(
                f"{f} {before.get(f)!r} -> {after.get(f)!r}" for f in fields if before.get(f) != after.get(f)
            )
            out.append(f"~ {label} {key}: {delta}")
        for label, key in sorted(self.remove_vertices):
            out.append(f"- {label} {key}")
        for edge in sorted(self.add_edges):
            out.append(f"+ {_edge_text(edge)}")
        for edge, (before, after) in sorted(self.change_edges.items()):
            out.append(f"~ {_edge_text(edge)}: {before} -> {after}")
        for edge in sorted(self.remove_edges):
            out.append(f"- {_edge_text(edge)}")
        if len(out) > limit:
            return [*out[:limit], f"... and {len(out) - limit} more changes"]
        return out


def _edge_text(edge: EdgeId) -> str:
    type_, (src_label, src), (dst_label, dst) = edge
    return f"({src_label} {src})-[{type_}]->({dst_label} {dst})"


def diff(current: Records, desired: Records, *, remove_missing: bool = True) -> ChangeSet:
    """What to write so that the store holding `current` holds `desired`.

    With `remove_missing=False` the desired records are merged in and nothing is deleted.
    """
    changes = ChangeSet()
    for vid, props in desired.vertices.items():
        old = current.vertices.get(vid)
        if old is None:
            changes.add_vertices[vid] = props
        elif old != props:
            changes.change_vertices[vid] = (old, props)
    for eid, props in desired.edges.items():
        old = current.edges.get(eid)
        if old is None:
            changes.add_edges[eid] = props
        elif old != props:
            changes.change_edges[eid] = (old, props)
    if remove_missing:
        changes.remove_vertices = [vid for vid in current.vertices if vid not in desired.vertices]
        removed = set(changes.remove_vertices)
        # Edges of removed vertices go with them (DETACH DELETE); list only the others.
        changes.remove_edges = [
            eid for eid in current.edges if eid not in desired.edges and eid[1] not in removed and eid[2] not in removed
        ]
    return changes
