"""The difference between two sets of graph records, as the change set that turns one into the other."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
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


# --------------------------------------------------------------------------- what clusters hold


@dataclass(frozen=True)
class ClusterHolds:
    """What the clusters hold among the records a change set would remove."""

    members: Mapping[str, str] = field(default_factory=dict)
    """Node name -> key of the cluster it is a member of."""
    vlan_ports: Mapping[str, str] = field(default_factory=dict)
    """Switch port key -> the cluster VLAN(s) it carries, in words (`VLAN 1234 of cluster acme/train`)."""


def removed(changes: ChangeSet, current: Records) -> tuple[set[VertexId], set[EdgeId]]:
    """The vertices `changes` removes, and every edge it removes (also those going with a removed vertex)."""
    vertices = set(changes.remove_vertices)
    edges = set(changes.remove_edges) | {eid for eid in current.edges if eid[1] in vertices or eid[2] in vertices}
    return vertices, edges


def _node_of(nic: str, current: Records) -> str:
    return str(current.vertices.get(("NIC", nic), {}).get("node") or nic.partition("/")[0])


def removal_scope(changes: ChangeSet, current: Records) -> tuple[set[str], set[str]]:
    """The nodes and switch ports whose cluster holds decide whether `changes` may be applied."""
    vertices, edges = removed(changes, current)
    nodes = {key for label, key in vertices if label == "Node"}
    nodes |= {_node_of(key, current) for label, key in vertices if label == "NIC"}
    ports = {key for label, key in vertices if label == "Port"}
    for type_, (src_label, src), (_dst_label, dst) in edges:
        if type_ == "CABLED" and src_label == "NIC":
            nodes.add(_node_of(src, current))
        elif type_ == "CABLED":
            ports |= {src, dst}
    return nodes, ports


def held_removals(changes: ChangeSet, current: Records, holds: ClusterHolds) -> list[str]:
    """What `changes` would take from a cluster, in words; empty when it takes nothing.

    A cluster holds its member nodes with their NICs and the cables from them, and every switch
    port that carries its VLAN, with the cables between such ports.
    """
    vertices, edges = removed(changes, current)
    out: list[str] = []
    for label, key in sorted(vertices):
        if label == "Node" and key in holds.members:
            out.append(f"node {key} is a member of cluster {holds.members[key]}")
        elif label == "NIC" and ("Node", _node_of(key, current)) not in vertices:
            node = _node_of(key, current)
            if node in holds.members:
                nic = key.partition("/")[2]
                out.append(f"NIC {nic} of node {node} (a member of cluster {holds.members[node]})")
        elif label == "Port" and key in holds.vlan_ports:
            out.append(f"switch port {key} carries {holds.vlan_ports[key]}")
    for type_, (src_label, src), (_dst_label, dst) in sorted(edges):
        if type_ != "CABLED" or (src_label, src) in vertices:
            continue
        if src_label == "NIC":
            node = _node_of(src, current)
            if node in holds.members and ("Node", node) not in vertices:
                nic = src.partition("/")[2]
                cluster = holds.members[node]
                out.append(f"the cable from NIC {nic} of node {node} (a member of cluster {cluster}) to port {dst}")
        elif ("Port", dst) not in vertices and (src in holds.vlan_ports or dst in holds.vlan_ports):
            at = src if src in holds.vlan_ports else dst
            out.append(f"the cable {src} -- {dst} (port {at} carries {holds.vlan_ports[at]})")
    return out
