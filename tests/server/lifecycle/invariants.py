"""What must hold after every lifecycle scenario, once the jobs have settled:

- the isolation report (graph intent against the simulated switches) finds no violation;
- every node is in at most one cluster; no `allocated` node is outside a cluster, and every member
  of a cluster is `allocated`;
- every `Network` belongs to a cluster, and every (site, VLAN) to at most one cluster;
- a released cluster holds neither nodes nor a VLAN; a failed one holds no nodes (it may hold its
  VLAN when some ports could not be confirmed, see `lifecycle.detach`);
- a node outside every cluster has its tenant ports on the quarantine VLAN in the graph.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from metalgraph.server.devices.access import DeviceAccess
from metalgraph.server.inventory.vlans import DEFAULT_QUARANTINE_VLAN
from metalgraph.server.isolation import IsolationReport, ViolationKind, isolation_report
from metalgraph.server.lifecycle.states import WORKING
from metalgraph.server.store.base import GraphStore

_DOUBLE_MEMBERS = """
MATCH (c:Cluster)-[:MEMBER]->(n:Node) WITH n.key AS node, collect(c.key) AS clusters
WHERE size(clusters) > 1 RETURN node, clusters
"""
_ALLOCATED_ALONE = """
MATCH (n:Node {state: 'allocated'}) WHERE NOT (n)<-[:MEMBER]-(:Cluster) RETURN n.key AS node
"""
_MEMBERS_NOT_ALLOCATED = """
MATCH (c:Cluster)-[:MEMBER]->(n:Node) WHERE n.state <> 'allocated'
RETURN c.key AS cluster, n.key AS node, n.state AS state
"""
_LONELY_NETWORKS = "MATCH (w:Network) WHERE NOT (w)<-[:ON]-(:Cluster) RETURN w.key AS network"
_SHARED_NETWORKS = """
MATCH (c:Cluster)-[:ON]->(w:Network) WITH w.key AS network, collect(c.key) AS clusters
WHERE size(clusters) > 1 RETURN network, clusters
"""
_CLUSTER_VLANS = """
MATCH (c:Cluster) WHERE c.vlan IS NOT NULL
OPTIONAL MATCH (c)-[:ON]->(w:Network)
RETURN c.key AS cluster, c.site AS site, c.vlan AS vlan, c.state AS state, w.vlan_id AS network_vlan
"""
_RESTING = """
MATCH (c:Cluster) OPTIONAL MATCH (c)-[:MEMBER]->(n:Node)
RETURN c.key AS cluster, c.state AS state, c.job AS job, count(n) AS members
"""
_FREE_NODE_PORTS = """
MATCH (n:Node)-[:HAS_NIC]->(nic:NIC)-[:CABLED]->(p:Port)<-[:HAS_PORT]-(s:Switch)
WHERE nic.role <> 'bmc' AND s.role <> 'oob' AND NOT (n)<-[:MEMBER]-(:Cluster)
  AND p.access_vlan IS NOT NULL
RETURN n.key AS node, n.rack AS rack, p.key AS port, p.access_vlan AS vlan
"""
_QUARANTINE_BY_RACK = """
MATCH (r:Rack) OPTIONAL MATCH (t:Site {key: r.site}) RETURN r.key AS rack, t.quarantine_vlan AS vlan
"""


async def graph_violations(store: GraphStore) -> list[str]:
    """The graph invariants of the module doc that do not hold, in words (empty: all hold)."""
    found: list[str] = []
    for row in await store.read(_DOUBLE_MEMBERS):
        found.append(f"node {row['node']} is in clusters {sorted(row['clusters'])}")
    for row in await store.read(_ALLOCATED_ALONE):
        found.append(f"node {row['node']} is allocated but in no cluster")
    for row in await store.read(_MEMBERS_NOT_ALLOCATED):
        found.append(f"node {row['node']} of {row['cluster']} is {row['state']}, not allocated")
    for row in await store.read(_LONELY_NETWORKS):
        found.append(f"network {row['network']} belongs to no cluster")
    for row in await store.read(_SHARED_NETWORKS):
        found.append(f"network {row['network']} is held by {sorted(row['clusters'])}")
    holders: dict[tuple[Any, int], list[str]] = {}
    for row in await store.read(_CLUSTER_VLANS):
        holders.setdefault((row["site"], int(row["vlan"])), []).append(row["cluster"])
        if row["network_vlan"] is None or int(row["network_vlan"]) != int(row["vlan"]):
            found.append(f"cluster {row['cluster']} has VLAN {row['vlan']} without its Network")
        if row["state"] == "released":
            found.append(f"released cluster {row['cluster']} still holds VLAN {row['vlan']}")
    for (site, vlan), clusters in holders.items():
        if len(clusters) > 1:
            found.append(f"VLAN {vlan} at {site} is used by {sorted(clusters)}")
    for row in await store.read(_RESTING):
        if row["state"] in ("released", "failed") and row["members"]:
            found.append(f"{row['state']} cluster {row['cluster']} still has {row['members']} member(s)")
    quarantine = {
        row["rack"]: DEFAULT_QUARANTINE_VLAN if row["vlan"] is None else int(row["vlan"])
        for row in await store.read(_QUARANTINE_BY_RACK)
    }
    for row in await store.read(_FREE_NODE_PORTS):
        if int(row["vlan"]) != quarantine.get(row["rack"], DEFAULT_QUARANTINE_VLAN):
            found.append(f"port {row['port']} of free node {row['node']} is intended on VLAN {row['vlan']}")
    return found


async def settle_all(store: GraphStore, timeout_s: float = 90.0) -> None:
    """Wait until no cluster has a job and no node is being sanitized."""
    working = [s.value for s in WORKING]
    async with asyncio.timeout(timeout_s):
        while True:
            busy = await store.read(
                "MATCH (c:Cluster) WHERE c.state IN $working OR coalesce(c.job, '') <> '' RETURN count(c) AS n",
                {"working": working},
            )
            cleaning = await store.read("MATCH (n:Node {state: 'sanitizing'}) RETURN count(n) AS n")
            if not busy[0]["n"] and not cleaning[0]["n"]:
                return
            await asyncio.sleep(0.05)


async def assert_isolated(
    store: GraphStore, access: DeviceAccess, *, unreachable: Iterable[str] = (), settle: bool = True
) -> IsolationReport:
    """Settle, then assert the graph invariants and a clean isolation report; switches named in
    `unreachable` may be reported unreachable (they are known to be down)."""
    if settle:
        await settle_all(store)
    problems = await graph_violations(store)
    assert not problems, "graph invariants broken:\n" + "\n".join(problems)
    report = await isolation_report(store, access)
    allowed = set(unreachable)
    violations = [v for v in report.violations if not (v.kind is ViolationKind.UNREACHABLE and v.switch in allowed)]
    assert not violations, "isolation violations:\n" + "\n".join(f"{v.kind}: {v.message}" for v in violations)
    return report


async def node_states(store: GraphStore, nodes: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """Node -> (state, failure_reason)."""
    rows = await store.read(
        "UNWIND $nodes AS k MATCH (n:Node {key: k}) RETURN n.key AS node, n.state AS state, n.failure_reason AS why",
        {"nodes": sorted(nodes)},
    )
    return {row["node"]: (row["state"], row["why"]) for row in rows}


async def used_vlans(store: GraphStore) -> set[int]:
    return {int(row["vlan"]) for row in await store.read("MATCH (w:Network) RETURN w.vlan_id AS vlan")}
