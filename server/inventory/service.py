"""Whole-inventory operations: plan an import as a diff, apply it, export what the store holds.

An import declares hardware and cabling. It keeps what the cluster lifecycle owns (a node's
allocation state and power state, a port's VLANs: `records.keep_owned`), and is refused with
InUse when it would remove something a cluster holds (`diff.held_removals`).
"""

from __future__ import annotations

from collections.abc import Collection

from ..errors import InUse
from ..store.base import GraphStore
from .diff import ChangeSet, ClusterHolds, diff, held_removals, removal_scope
from .model import Inventory
from .records import Records, from_records, keep_owned, to_records
from .references import validate_references
from .repository import Progress, apply_changes, load_records

ENDED_CLUSTER_STATES = ("released", "failed")
"""A cluster in one of these states holds no VLAN any more (its Network vertex is gone)."""


async def cluster_vlans(store: GraphStore) -> list[tuple[str | None, int, str]]:
    """The VLANs clusters hold, as (site or None, vlan, cluster key): the lifecycle's `Network`
    vertices, and the `vlan` of every cluster not yet released."""
    rows = await store.read_collected("MATCH (n:Network)", "{site: n.site, vlan: n.vlan_id, cluster: n.cluster}")
    rows += await store.read_collected(
        "MATCH (c:Cluster) WHERE c.vlan IS NOT NULL AND NOT coalesce(c.state, '') IN $ended",
        "{site: c.site, vlan: c.vlan, cluster: c.key}",
        {"ended": list(ENDED_CLUSTER_STATES)},
    )
    return sorted(
        {(row["site"], int(row["vlan"]), str(row["cluster"])) for row in rows if row["vlan"] is not None},
        key=lambda held: (held[1], held[2], held[0] or ""),
    )


async def cluster_holds(store: GraphStore, nodes: Collection[str], ports: Collection[str]) -> ClusterHolds:
    """Which of `nodes` are cluster members, and which of `ports` carry a cluster's VLAN."""
    members: dict[str, str] = {}
    if nodes:
        rows = await store.read_collected(
            "UNWIND $keys AS k MATCH (c:Cluster)-[:MEMBER]->(n:Node {key: k})",
            "{node: n.key, cluster: c.key}",
            {"keys": sorted(nodes)},
        )
        members = {row["node"]: row["cluster"] for row in rows}
    vlan_ports: dict[str, str] = {}
    held = await cluster_vlans(store) if ports else []
    if held:
        rows = await store.read_collected(
            "UNWIND $keys AS k MATCH (p:Port {key: k}) "
            "OPTIONAL MATCH (s:Site)-[:HAS_RACK]->(:Rack)-[:HOLDS]->(:Switch)-[:HAS_PORT]->(p)",
            "{port: p.key, access: p.access_vlan, allowed: p.allowed_vlans, site: s.key}",
            {"keys": sorted(ports)},
        )
        for row in rows:
            carried = {row["access"], *(row["allowed"] or [])} - {None}
            found = [
                f"VLAN {vlan} of cluster {cluster}"
                for site, vlan, cluster in held
                if vlan in carried and (site is None or row["site"] is None or site == row["site"])
            ]
            if found:
                vlan_ports[row["port"]] = ", ".join(found)
    return ClusterHolds(members=members, vlan_ports=vlan_ports)


async def check_cluster_holds(store: GraphStore, changes: ChangeSet, current: Records, what: str) -> None:
    """Refuse (InUse) `changes` if they remove a cluster's member node, a NIC or cable of one, or a
    switch port (or a cable at it) that carries a cluster's VLAN."""
    nodes, ports = removal_scope(changes, current)
    if not nodes and not ports:
        return
    problems = held_removals(changes, current, await cluster_holds(store, nodes, ports))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise InUse(f"{what} would remove what clusters hold: {shown}; release or resize those clusters first")


async def plan_import(store: GraphStore, inventory: Inventory, *, prune: bool = True) -> ChangeSet:
    """The changes that make the store hold `inventory`; with `prune=False` nothing is removed.

    Lifecycle-owned values keep their stored values; InUse when the import would remove what a
    cluster holds (nothing is written: the dry run says so too).
    """
    desired = to_records(validate_references(inventory))
    current = await load_records(store)
    changes = diff(current, keep_owned(current, desired), remove_missing=prune)
    await check_cluster_holds(store, changes, current, "the import")
    return changes


async def import_inventory(
    store: GraphStore, inventory: Inventory, *, prune: bool = True, progress: Progress | None = None
) -> ChangeSet:
    changes = await plan_import(store, inventory, prune=prune)
    if not changes.empty:
        await apply_changes(store, changes, progress)
    return changes


async def export_inventory(store: GraphStore) -> Inventory:
    return from_records(await load_records(store))
