"""What a caller may see: the one definition of tenant visibility.

A provider sees everything. A tenant sees its tenant, its clusters, the nodes in them (with their
GPUs, NICs and racks, and the racks' sites), the switch ports those NICs are cabled to, the
switches holding those ports, and the uplinks above them: cables from a switch to a switch of a
higher tier (leaf -> spine -> core), which is where the traffic between its nodes flows.
Nothing else: another tenant's nodes, the ports they use, their clusters and VLANs stay unseen,
even on a shared leaf switch. What a tenant reads of the vertices it sees (which properties, which
VLANs of a shared trunk: its own of that port's site) is the rule of `disclosure`.

Every read of the API goes through a `Scope` (see `topology.reader.TopologyReader`), so a new
field inherits these rules instead of having to remember them.
"""

from __future__ import annotations

import asyncio
import time

from ..audit.change_mark import ChangeMark, read_change_mark
from ..store.base import GraphStore
from ..topology.scope import Scope
from .disclosure import TENANT_FIELDS

TIERS = {"leaf": 0, "oob": 0, "spine": 1, "core": 2}
"""Switch roles by height in the fabric; uplinks go from a lower tier to a higher one (`_TIER` in Cypher)."""


_OWNED = """
MATCH (t:Tenant {key: $tenant})
OPTIONAL MATCH (t)-[:OWNS]->(c:Cluster)
OPTIONAL MATCH (c)-[:MEMBER]->(n:Node)
RETURN t.key AS tenant, collect(DISTINCT c.key) AS clusters, collect(DISTINCT n.key) AS nodes
"""

_VLANS = """
MATCH (:Tenant {key: $tenant})-[:OWNS]->(c:Cluster)
OPTIONAL MATCH (c)-[:ON]->(net:Network)
RETURN c.site AS site, c.vlan AS vlan, net.site AS net_site, net.vlan_id AS net_vlan
"""
"""A cluster's VLAN is owned in its site: its `Network` (`site/vlan`), or the cluster's own `site` and `vlan`."""

_SWITCH_SITES = """
UNWIND $switches AS k MATCH (site:Site)-[:HAS_RACK]->(:Rack)-[:HOLDS]->(s:Switch {key: k})
RETURN s.key AS switch, site.key AS site
"""

_HARDWARE = """
UNWIND $nodes AS k MATCH (n:Node {key: k})
RETURN [(n)-[:HAS_GPU]->(g:GPU) | g.key] AS gpus,
       [(n)-[:HAS_NIC]->(x:NIC) | x.key] AS nics,
       [(n)-[:HAS_NIC]->(:NIC)-[:CABLED]->(p:Port) | p.key] AS ports,
       [(n)<-[:HOLDS]-(r:Rack) | r.key] AS racks
"""

_SWITCHES_AND_SITES = """
UNWIND $ports AS k MATCH (s:Switch)-[:HAS_PORT]->(:Port {key: k})
WITH collect(DISTINCT s.key) AS switches
UNWIND (CASE WHEN size($racks) = 0 THEN [null] ELSE $racks END) AS r
OPTIONAL MATCH (site:Site)-[:HAS_RACK]->(:Rack {key: r})
RETURN switches, collect(DISTINCT site.key) AS sites
"""

_TIER = "CASE {0}.role WHEN 'core' THEN 2 WHEN 'spine' THEN 1 ELSE 0 END"

_UPLINKS = f"""
UNWIND $switches AS k MATCH (s:Switch {{key: k}})-[:HAS_PORT]->(p:Port)-[:CABLED]-(q:Port)<-[:HAS_PORT]-(u:Switch)
WHERE {_TIER.format("u")} > {_TIER.format("s")}
RETURN p.key AS port, q.key AS peer_port, u.key AS peer
"""


async def tenant_scope(store: GraphStore, tenant: str) -> Scope:
    """What `tenant` may see; a handful of round trips however large its clusters are."""
    owned = await store.read(_OWNED, {"tenant": tenant})
    if not owned:
        return Scope({}, tenant, rule=TENANT_FIELDS)
    clusters, nodes = owned[0]["clusters"], owned[0]["nodes"]
    seen: dict[str, set[str]] = {
        "Tenant": {tenant},
        "Cluster": set(clusters),
        "Node": set(nodes),
        "GPU": set(),
        "NIC": set(),
        "Port": set(),
        "Rack": set(),
        "Switch": set(),
        "Site": set(),
    }
    if nodes:
        for row in await store.read(_HARDWARE, {"nodes": nodes}):
            seen["GPU"].update(row["gpus"])
            seen["NIC"].update(row["nics"])
            seen["Port"].update(row["ports"])
            seen["Rack"].update(row["racks"])
        rows = await store.read(_SWITCHES_AND_SITES, {"ports": sorted(seen["Port"]), "racks": sorted(seen["Rack"])})
        seen["Switch"].update(rows[0]["switches"] if rows else [])
        seen["Site"].update(rows[0]["sites"] if rows else [])
        await _add_uplinks(store, seen)
    switch_sites = {
        r["switch"]: r["site"] for r in await store.read(_SWITCH_SITES, {"switches": sorted(seen["Switch"])})
    }
    return Scope(
        {label: frozenset(keys) for label, keys in seen.items()},
        tenant,
        await _vlans_by_site(store, tenant),
        switch_sites,
        TENANT_FIELDS,
    )


async def _vlans_by_site(store: GraphStore, tenant: str) -> dict[str, frozenset[int]]:
    owned: dict[str, set[int]] = {}
    for row in await store.read(_VLANS, {"tenant": tenant}):
        for site, vlan in ((row["site"], row["vlan"]), (row["net_site"], row["net_vlan"])):
            if site is not None and vlan is not None:
                owned.setdefault(site, set()).add(int(vlan))
    return {site: frozenset(vlans) for site, vlans in owned.items()}


async def _add_uplinks(store: GraphStore, seen: dict[str, set[str]]) -> None:
    frontier = set(seen["Switch"])
    for _ in range(max(TIERS.values())):
        if not frontier:
            return
        rows = await store.read(_UPLINKS, {"switches": sorted(frontier)})
        frontier = set()
        for row in rows:
            seen["Port"].update((row["port"], row["peer_port"]))
            if row["peer"] not in seen["Switch"]:
                seen["Switch"].add(row["peer"])
                frontier.add(row["peer"])


class ScopeCache:
    """Tenant scopes, reused while nothing has changed.

    A scope is reused while the store's change mark (`audit.change_mark`: the changes made through the
    API and the inventory's generation, in this process or any other sharing the store) is the one it
    was computed at: one small read instead of a few large ones. Changes written around metalgraph
    are picked up after `max_age_s`.
    """

    def __init__(self, store: GraphStore, max_age_s: float = 30.0, max_tenants: int = 1024) -> None:
        self.store = store
        self.max_age_s = max_age_s
        self.max_tenants = max_tenants
        self._cached: dict[str, tuple[ChangeMark, float, Scope]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def scope(self, tenant: str) -> Scope:
        mark = await read_change_mark(self.store)
        async with self._locks.setdefault(tenant, asyncio.Lock()):
            cached = self._cached.get(tenant)
            now = time.monotonic()
            if cached is not None and cached[0] == mark and now - cached[1] < self.max_age_s:
                return cached[2]
            scope = await tenant_scope(self.store, tenant)
            if len(self._cached) >= self.max_tenants:
                self._cached.clear()
                self._locks = {tenant: self._locks[tenant]}
            self._cached[tenant] = (mark, now, scope)
            return scope
