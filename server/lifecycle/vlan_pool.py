"""Each site's pool of tenant VLANs: one `Network` vertex (key `site/vlan`) per VLAN in use.

The key is unique in the store, so two servers that pick the same free VLAN at once cannot both
create it: the second write fails as a whole and its job picks again. Deleting the `Network`
returns the VLAN to the pool. A site names its pool (`Site.vlan_pool`, e.g. "1000-3999") and the
quarantine VLAN that free nodes' ports sit on (`Site.quarantine_vlan`).
"""

from __future__ import annotations

import random
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from ..audit.storable import storable_text
from ..errors import InUse, NotFound
from ..inventory.vlans import DEFAULT_QUARANTINE_VLAN, DEFAULT_VLAN_POOL, vlan_ranges
from ..store.base import GraphStore, Statement

_SITE = "MATCH (s:Site {key: $site}) RETURN s.vlan_pool AS pool, s.quarantine_vlan AS quarantine"
_USED = "MATCH (n:Network {site: $site}) RETURN n.vlan_id AS vlan"


@dataclass(frozen=True)
class SiteVlans:
    site: str
    ranges: tuple[tuple[int, int], ...]
    quarantine: int

    def first_free(self, used: AbstractSet[int], skip: AbstractSet[int] = frozenset()) -> int:
        for low, high in self.ranges:
            for vlan in range(low, high + 1):
                if vlan not in used and vlan not in skip:
                    return vlan
        raise InUse(f"site {self.site} has no free VLAN left in its pool")

    def pick_free(self, used: AbstractSet[int], spread: int = 1) -> int:
        """The lowest free VLAN, or with `spread` > 1 one of the `spread` lowest at random (requests
        that collided on the lowest then pick apart)."""
        if spread <= 1:
            return self.first_free(used)
        found: list[int] = []
        for low, high in self.ranges:
            found += [vlan for vlan in range(low, high + 1) if vlan not in used][: spread - len(found)]
            if len(found) >= spread:
                break
        if not found:
            raise InUse(f"site {self.site} has no free VLAN left in its pool")
        return random.choice(found)


async def site_vlans(store: GraphStore, site: str) -> SiteVlans:
    rows = await store.read(_SITE, {"site": site})
    if not rows:
        raise NotFound(f"site {site!r} not found")
    pool = rows[0]["pool"] or DEFAULT_VLAN_POOL
    quarantine = rows[0]["quarantine"] or DEFAULT_QUARANTINE_VLAN
    return SiteVlans(site, tuple(vlan_ranges(pool)), int(quarantine))


async def used_vlans(store: GraphStore, site: str) -> set[int]:
    return {int(row["vlan"]) for row in await store.read(_USED, {"site": site})}


def network_key(site: str, vlan: int) -> str:
    return f"{site}/{vlan}"


def allocate_statement(cluster: str, site: str, vlan: int) -> Statement:
    """Create the cluster's `Network`; fails the write (unique key) if the VLAN was taken meanwhile."""
    return (
        "MATCH (c:Cluster {key: $cluster}) "
        "CREATE (c)-[:ON]->(n:Network {key: $key, vlan_id: $vlan, site: $site, cluster: $cluster}) "
        "SET c.vlan = $vlan, c.site = $site",
        {"cluster": cluster, "key": network_key(site, vlan), "vlan": vlan, "site": site},
    )


def free_statement(cluster: str) -> Statement:
    """Return the cluster's VLAN to its pool."""
    return (
        "MATCH (c:Cluster {key: $cluster})-[:ON]->(n:Network) DETACH DELETE n SET c.vlan = null",
        {"cluster": cluster},
    )


def hold_statement(cluster: str, ports: list[str], reason: str) -> Statement:
    """Keep the VLAN out of the pool: some ports may still carry it on a switch that could not be
    reached. `ports` replaces the ports held so far (empty: none is in doubt any more)."""
    return (
        "MATCH (c:Cluster {key: $cluster})-[:ON]->(n:Network) SET n.held_ports = $ports, n.held_reason = $reason",
        {"cluster": cluster, "ports": ports, "reason": storable_text(reason)},
    )


async def held_ports(store: GraphStore, cluster: str) -> tuple[list[str], str]:
    """The ports that may still carry the cluster's VLAN on a switch (see `hold_statement`), and why."""
    rows = await store.read(
        "MATCH (:Cluster {key: $cluster})-[:ON]->(n:Network) RETURN n.held_ports AS ports, n.held_reason AS reason",
        {"cluster": cluster},
    )
    if not rows:
        return [], ""
    return sorted(rows[0]["ports"] or ()), rows[0]["reason"] or ""
