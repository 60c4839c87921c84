"""A cluster in the state the lifecycle leaves a ready one in, written in one audited write.

For fixtures that need clusters of exactly these nodes on exactly this VLAN (a walk that knows who
owns what), without running the jobs: the Cluster (`ready`, its spec, `vlan`, `site`), its `Network`
vertex (the VLAN taken from the site's pool), MEMBER edges with the nodes `allocated`, the members'
ports on the VLAN and the VLAN on the trunks that join them, all with the lifecycle's own statement
builders, so the graph is what `reserve` would have written. Routed (layer-3) uplinks carry no VLAN,
so only ports in trunk mode get it.
"""

from __future__ import annotations

from collections.abc import Sequence

from metalgraph.server.audit import AuditEvent, AuditLog
from metalgraph.server.audit.entry import now_iso
from metalgraph.server.lifecycle.fabric import cluster_trunks, node_ports
from metalgraph.server.lifecycle.network import set_access_statement, trunk_statements
from metalgraph.server.lifecycle.records import cluster_key
from metalgraph.server.lifecycle.states import ClusterState
from metalgraph.server.lifecycle.vlan_pool import allocate_statement
from metalgraph.server.placement.spec import ClusterSpec
from metalgraph.server.store.base import GraphStore, Statement

_CREATE = "MATCH (t:Tenant {key: $tenant}) CREATE (t)-[:OWNS]->(c:Cluster) SET c = $props"
_MEMBERS = """
UNWIND $nodes AS k
MATCH (c:Cluster {key: $key}), (n:Node {key: k})
CREATE (c)-[:MEMBER]->(n)
SET n.state = 'allocated'
"""
_SITE = "MATCH (s:Site)-[:HAS_RACK]->(:Rack)-[:HOLDS]->(n:Node {key: $node}) RETURN s.key AS site"
_TRUNKS = "UNWIND $ports AS k MATCH (p:Port {key: k}) WHERE p.mode = 'trunk' RETURN p.key AS port"


async def allocate_cluster(
    store: GraphStore,
    tenant: str,
    name: str,
    members: Sequence[str],
    *,
    vlan: int,
    site: str | None = None,
    description: str = "",
    actor: str = "admin",
) -> None:
    """`site`: by default the site of the first member."""
    key = cluster_key(tenant, name)
    if site is None:
        site = (await store.read(_SITE, {"node": sorted(members)[0]}))[0]["site"]
    at = now_iso()
    props = {
        "key": key,
        "name": name,
        "tenant": tenant,
        "description": description,
        "spec": ClusterSpec(nodes=len(members)).to_json(),
        "state": ClusterState.READY.value,
        "created_at": at,
        "updated_at": at,
    }
    ports = await node_ports(store, members)
    carried = await cluster_trunks(store, ports)
    trunks = [row["port"] for row in await store.read(_TRUNKS, {"ports": sorted(carried)})]
    changes: list[Statement] = [
        (_CREATE, {"tenant": tenant, "props": props}),
        allocate_statement(key, site, vlan),
        (_MEMBERS, {"key": key, "nodes": sorted(members)}),
        set_access_statement([p.port for p in ports], vlan),
        *trunk_statements(trunks, (), vlan),
    ]
    event = AuditEvent(
        actor=actor,
        role="provider-admin",
        tenant=tenant,
        operation="allocateCluster",
        variables={"tenant": tenant, "name": name, "nodes": sorted(members), "vlan": vlan},
        detail="test fixture: a ready cluster written as the lifecycle leaves one",
    )
    await AuditLog(store).record(event, changes)
