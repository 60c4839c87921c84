"""The intended tenant isolation as the graph states it, read in a few bulk queries.

Conventions (maintained by the cluster lifecycle): `(Tenant)-[:OWNS]->(Cluster {vlan, site,
state})-[:MEMBER]->(Node)`, `(Cluster)-[:ON]->(Network {vlan_id, site, cluster})`, node NICs
`CABLED` to switch ports holding the intent (`Port.mode`, `access_vlan`, `allowed_vlans`), switch
ports `CABLED` to each other (one direction stored, read both ways). BMC NICs are never tenant
ports. A site's `vlan_pool` and `quarantine_vlan` (defaults `1000-3999` and 4000).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..devices.access import DeviceRef, switch_device
from ..inventory.records import port_key
from ..inventory.vlans import DEFAULT_QUARANTINE_VLAN, DEFAULT_VLAN_POOL, Ranges, in_ranges, vlan_ranges
from ..store.base import GraphStore

BMC_ROLE = "bmc"
Where = tuple[str, str]
"""(switch, port name)."""


@dataclass(frozen=True)
class PortIntent:
    switch: str
    name: str
    mode: str
    access_vlan: int | None
    allowed_vlans: tuple[int, ...]

    @property
    def stated(self) -> bool:
        """The graph states an intent for this port: an access VLAN, or a trunk's VLANs."""
        if self.mode == "access":
            return self.access_vlan is not None
        return self.mode == "trunk" and bool(self.allowed_vlans)

    def carried(self) -> frozenset[int]:
        if self.mode == "access":
            return frozenset() if self.access_vlan is None else frozenset((self.access_vlan,))
        return frozenset(self.allowed_vlans) if self.mode == "trunk" else frozenset()


@dataclass(frozen=True)
class ClusterIntent:
    key: str
    tenant: str
    name: str
    state: str
    vlan: int | None
    site: str | None


@dataclass(frozen=True)
class NetworkIntent:
    key: str
    vlan: int | None
    site: str | None
    cluster: str | None
    """The `cluster` property."""
    linked: tuple[str, ...]
    """Clusters with an `ON` edge to it."""


@dataclass(frozen=True)
class SwitchIntent:
    name: str
    role: str
    pod: str
    site: str | None
    ref: DeviceRef | None
    """How to reach it; None when it names no driver."""


@dataclass
class Intent:
    """A snapshot of everything the report compares against. Names are graph keys."""

    pools: dict[str, Ranges] = field(default_factory=dict)
    quarantine: dict[str, int] = field(default_factory=dict)
    switches: dict[str, SwitchIntent] = field(default_factory=dict)
    ports: dict[Where, PortIntent] = field(default_factory=dict)
    """By (switch, port name); only the ports whose intent is stated (`PortIntent.stated`)."""
    node_ports: dict[Where, str] = field(default_factory=dict)
    """(switch, port) -> node, for non-BMC NICs."""
    bmc_ports: set[Where] = field(default_factory=set)
    peers: dict[Where, list[Where]] = field(default_factory=dict)
    """(switch, port) -> the switch ports cabled to it; read by `read_peers` for the ports asked."""
    node_site: dict[str, str | None] = field(default_factory=dict)
    node_state: dict[str, str] = field(default_factory=dict)
    clusters: dict[str, ClusterIntent] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    """cluster -> member nodes."""
    memberships: dict[str, set[str]] = field(default_factory=dict)
    """node -> clusters."""
    networks: dict[str, NetworkIntent] = field(default_factory=dict)
    owners: dict[tuple[str | None, int], set[str]] = field(default_factory=dict)
    """(site, VLAN) -> the clusters holding it (by `Cluster.vlan` or an `ON` network)."""

    def site_of_port(self, switch: str) -> str | None:
        found = self.switches.get(switch)
        return found.site if found is not None else None

    def is_tenant_vlan(self, site: str | None, vlan: int) -> bool:
        """A VLAN clusters get (the site's pool) or hold; the quarantine VLAN is not one."""
        if vlan == self.quarantine_vlan(site):
            return False
        return (site, vlan) in self.owners or in_ranges(self.pools.get(site or "", _DEFAULT_RANGES), vlan)

    def quarantine_vlan(self, site: str | None) -> int:
        return self.quarantine.get(site or "", DEFAULT_QUARANTINE_VLAN)

    def vlan_owners(self, site: str | None, vlan: int) -> set[str]:
        return self.owners.get((site, vlan), set())

    def tenants_of(self, clusters: Sequence[str]) -> tuple[str, ...]:
        return tuple(sorted({self.clusters[c].tenant for c in clusters if c in self.clusters}))


_DEFAULT_RANGES = vlan_ranges(DEFAULT_VLAN_POOL)


def _site_settings(row: dict[str, Any]) -> tuple[Ranges, int]:
    try:
        pool = vlan_ranges(row.get("vlan_pool") or DEFAULT_VLAN_POOL)
    except ValueError:  # an unparseable pool stored by hand: judge by the clusters' VLANs only
        pool = []
    quarantine = row.get("quarantine_vlan")
    return pool, DEFAULT_QUARANTINE_VLAN if quarantine is None else int(quarantine)


async def read_intent(store: GraphStore, switches: Sequence[str] | None = None) -> Intent:
    """Read the intent; with `switches`, the ports of those switches only (cluster, node and
    network facts are always read whole)."""
    intent = Intent()
    for row in await store.read_collected(
        "MATCH (s:Site)", "{name: s.key, vlan_pool: s.vlan_pool, quarantine_vlan: s.quarantine_vlan}"
    ):
        intent.pools[row["name"]], intent.quarantine[row["name"]] = _site_settings(row)
    rack_site = {
        row["rack"]: row["site"] for row in await store.read_collected("MATCH (r:Rack)", "{rack: r.key, site: r.site}")
    }
    for row in await store.read_collected(
        "MATCH (s:Switch)",
        "{name: s.key, role: s.role, pod: s.pod, rack: s.rack, driver: s.driver, mgmt_address: s.mgmt_address,"
        " credentials: s.credentials}",
    ):
        intent.switches[row["name"]] = SwitchIntent(
            row["name"], row["role"] or "", row["pod"] or "", rack_site.get(row["rack"]), switch_device(row)
        )
    await _read_ports(store, intent, switches)
    for row in await store.read_collected("MATCH (n:Node)", "{name: n.key, state: n.state, rack: n.rack}"):
        intent.node_site[row["name"]] = rack_site.get(row["rack"])
        intent.node_state[row["name"]] = row["state"] or ""
    for row in await store.read_collected(
        "MATCH (n:Node)-[:HAS_NIC]->(c:NIC)-[:CABLED]->(p:Port)",
        "{node: n.key, role: c.role, switch: p.switch, port: p.name}",
    ):
        where = (row["switch"], row["port"])
        if row["role"] == BMC_ROLE:
            intent.bmc_ports.add(where)
        else:
            intent.node_ports[where] = row["node"]
    await _read_tenancy(store, intent)
    return intent


async def read_peers(store: GraphStore, intent: Intent, ports: Collection[Where]) -> None:
    """Fill `intent.peers` for `ports`: the switch ports cabled to each (either direction)."""
    peers: defaultdict[Where, list[Where]] = defaultdict(list)
    if ports:
        for row in await store.read_collected(
            "UNWIND $keys AS k MATCH (a:Port {key: k})-[:CABLED]-(b:Port)",
            "{a: a.switch, ap: a.name, b: b.switch, bp: b.name}",
            {"keys": sorted(port_key(switch, port) for switch, port in ports)},
        ):
            peers[(row["a"], row["ap"])].append((row["b"], row["bp"]))
    intent.peers = dict(peers)


async def _read_ports(store: GraphStore, intent: Intent, switches: Sequence[str] | None) -> None:
    """The ports whose intent is stated; most ports (uplinks no cluster uses, empty ones) state none."""
    columns = "{switch: p.switch, name: p.name, mode: p.mode, access_vlan: p.access_vlan, allowed: p.allowed_vlans}"
    if switches is None:
        rows = await store.read_collected(f"MATCH (p:Port) WHERE {_STATED}", columns)
    else:
        rows = await store.read_collected(
            f"UNWIND $switches AS k MATCH (:Switch {{key: k}})-[:HAS_PORT]->(p:Port) WHERE {_STATED}",
            columns,
            {"switches": list(switches)},
        )
    for row in rows:
        access = row["access_vlan"]
        want = PortIntent(
            row["switch"],
            row["name"],
            row["mode"] or "access",
            None if access is None else int(access),
            tuple(sorted(int(v) for v in row["allowed"] or ())),
        )
        if want.stated:
            intent.ports[(want.switch, want.name)] = want


_STATED = "(p.access_vlan IS NOT NULL OR size(p.allowed_vlans) > 0)"


async def _read_tenancy(store: GraphStore, intent: Intent) -> None:
    for row in await store.read_collected(
        "MATCH (c:Cluster)",
        "{key: c.key, tenant: c.tenant, name: c.name, state: c.state, vlan: c.vlan, site: c.site}",
    ):
        vlan = None if row["vlan"] is None else int(row["vlan"])
        cluster = ClusterIntent(
            row["key"], row["tenant"] or "", row["name"] or "", row["state"] or "", vlan, row["site"]
        )
        intent.clusters[cluster.key] = cluster
        intent.members[cluster.key] = set()
    for row in await store.read_collected("MATCH (c:Cluster)-[:MEMBER]->(n:Node)", "{cluster: c.key, node: n.key}"):
        intent.members.setdefault(row["cluster"], set()).add(row["node"])
        intent.memberships.setdefault(row["node"], set()).add(row["cluster"])
    linked: defaultdict[str, list[str]] = defaultdict(list)
    rows = await store.read_collected(
        "MATCH (w:Network) OPTIONAL MATCH (c:Cluster)-[:ON]->(w)",
        "{key: w.key, vlan: w.vlan_id, site: w.site, cluster: w.cluster, by: c.key}",
    )
    for row in rows:
        if row["by"] is not None:
            linked[row["key"]].append(row["by"])
    for row in rows:
        vlan = None if row["vlan"] is None else int(row["vlan"])
        intent.networks[row["key"]] = NetworkIntent(
            row["key"], vlan, row["site"], row["cluster"], tuple(sorted(set(linked[row["key"]])))
        )
    owners: defaultdict[tuple[str | None, int], set[str]] = defaultdict(set)
    for cluster in intent.clusters.values():
        if cluster.vlan is not None:
            owners[(cluster.site or _members_site(intent, cluster.key), cluster.vlan)].add(cluster.key)
    for network in intent.networks.values():
        if network.vlan is not None:
            for key in network.linked:
                owners[(network.site, network.vlan)].add(key)
    intent.owners = dict(owners)


def _members_site(intent: Intent, cluster: str) -> str | None:
    """The site of a cluster stored without one: its members' (clusters stay within one site)."""
    sites = {intent.node_site.get(node) for node in intent.members.get(cluster, ())}
    return next(iter(sites)) if len(sites) == 1 else None
