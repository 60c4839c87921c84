"""The isolation report on a tiny two-pod fabric: a consistent state is clean, and every kind of
violation is found when it is introduced, in the graph or on a (simulated) switch."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from metalgraph.drivers.parallel import NO_RETRY, DevicePool
from metalgraph.drivers.sim import SimLab
from metalgraph.drivers.types import SwitchportMode, VlanState
from metalgraph.server.devices.access import DeviceAccess
from metalgraph.server.devices.demo_lab import seed_lab, sim_options
from metalgraph.server.errors import NotFound
from metalgraph.server.inventory.demo import FabricParams, generate_fabric
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.inventory.service import import_inventory
from metalgraph.server.isolation import IsolationReport, Source, ViolationKind, isolation_report, rules
from metalgraph.server.isolation.intent import Intent, PortIntent
from metalgraph.server.isolation.rules import describe_state, device_carried
from metalgraph.server.store.base import GraphStore

SITE = "moc-mghpcc"
A, B = "acme/span", "beta/local"
VLAN_A, VLAN_B, QUARANTINE = 1001, 1002, 4000
NODES_A, NODES_B, FREE = ("gpu-0001", "gpu-0003"), ("gpu-0002",), "gpu-0004"
TINY = FabricParams(
    gpus_per_node=2,
    nodes_per_su=2,
    sus_per_pod=1,
    spines_per_pod=2,
    min_spines=1,
    leaf_uplinks=2,
    spine_uplinks=2,
    eu_gpus=0,
    minority_su_fraction=0,
    maintenance_fraction=0,
    warning_fraction=0,
)
"""4 nodes, 2 per pod: leaves, spines and cores, frontend leaves and their cores, OOB."""


@pytest.fixture(scope="module")
def fabric() -> Inventory:
    return generate_fabric(8, params=TINY)


def intended_ports(fabric: Inventory) -> tuple[dict[str, int], dict[str, list[int]]]:
    """The consistent intent, written out for this fabric: node ports in their cluster's VLAN (the
    free node in quarantine); cluster A (nodes in both pods) on every backend and frontend link,
    cluster B (one node, pod 1) only between the pod-1 leaves and spines."""
    access: dict[str, int] = {}
    for node in fabric.nodes:
        vlan = VLAN_A if node.name in NODES_A else VLAN_B if node.name in NODES_B else QUARANTINE
        for nic in node.nics:
            if nic.port is not None and nic.role != "bmc":
                access[f"{nic.port.switch}/{nic.port.port}"] = vlan
    trunks: dict[str, list[int]] = {}
    for link in fabric.links:
        ends = (link.a, link.b)
        if any(end.switch.startswith("oob") for end in ends):
            continue
        vlans = [VLAN_A]
        if {end.switch[: len("leaf-p01")] for end in ends} == {"leaf-p01", "spine-p0"} and all(
            "p01" in end.switch for end in ends
        ):
            vlans.append(VLAN_B)
        for end in ends:
            trunks[f"{end.switch}/{end.port}"] = vlans
    return access, trunks


@dataclass
class World:
    store: GraphStore
    lab: SimLab
    access: DeviceAccess
    fabric: Inventory

    async def report(self, **options: object) -> IsolationReport:
        pool = DevicePool(per_device=1, total=32, timeout_s=1.0, retry=NO_RETRY)
        return await isolation_report(self.store, self.access, pool=pool, **options)  # type: ignore[arg-type]

    async def write(self, cypher: str, **params: object) -> None:
        await self.store.write_atomically([(cypher, dict(params))])

    def device_port(self, key: str):  # type: ignore[no-untyped-def]
        switch, port = key.split("/")
        return self.lab.switch(f"sim://{switch}").port(port)

    def node_port(self, node: str, nic: str = "rail0") -> str:
        found = next(n for n in self.fabric.nodes if n.name == node)
        port = next(c.port for c in found.nics if c.name == nic)
        assert port is not None
        return f"{port.switch}/{port.port}"


@pytest.fixture
async def world(store: GraphStore, fabric: Inventory) -> World:
    await import_inventory(store, fabric)
    access_vlans, trunks = intended_ports(fabric)
    await store.write_atomically(
        [
            ("CREATE (:Tenant {key: 'acme', name: 'acme'}), (:Tenant {key: 'beta', name: 'beta'})", {}),
            (
                "UNWIND $clusters AS c MATCH (t:Tenant {key: c.tenant}) "
                "CREATE (t)-[:OWNS]->(k:Cluster {key: c.key, tenant: c.tenant, name: c.name, state: 'ready', "
                "vlan: c.vlan, site: $site})-[:ON]->(:Network {key: $site + '/' + toString(c.vlan), "
                "vlan_id: c.vlan, site: $site, cluster: c.key})",
                {
                    "site": SITE,
                    "clusters": [
                        {"key": A, "tenant": "acme", "name": "span", "vlan": VLAN_A},
                        {"key": B, "tenant": "beta", "name": "local", "vlan": VLAN_B},
                    ],
                },
            ),
            (
                "UNWIND $members AS m MATCH (c:Cluster {key: m.cluster}), (n:Node {key: m.node}) "
                "CREATE (c)-[:MEMBER]->(n) SET n.state = 'allocated'",
                {"members": [{"cluster": c, "node": n} for c, nodes in ((A, NODES_A), (B, NODES_B)) for n in nodes]},
            ),
            (
                "UNWIND $rows AS r MATCH (p:Port {key: r.key}) SET p.access_vlan = r.vlan",
                {"rows": [{"key": k, "vlan": v} for k, v in access_vlans.items()]},
            ),
            (
                "UNWIND $rows AS r MATCH (p:Port {key: r.key}) SET p.allowed_vlans = r.vlans",
                {"rows": [{"key": k, "vlans": v} for k, v in trunks.items()]},
            ),
        ]
    )
    lab = SimLab()
    seed_lab(fabric, lab)
    world = World(store, lab, DeviceAccess(["switch:sim"], timeout_s=0.5, driver_options=sim_options(lab)), fabric)
    for key, vlan in access_vlans.items():
        world.device_port(key).access_vlan = vlan
    for key, vlans in trunks.items():
        world.device_port(key).allowed_vlans = tuple(vlans)
    return world


def kinds(report: IsolationReport) -> set[ViolationKind]:
    return {v.kind for v in report.violations}


async def test_a_consistent_state_has_no_violation(world: World) -> None:
    report = await world.report()
    assert report.violations == (), [v.message for v in report.violations]
    assert report.ok and report.switches_read == len(world.fabric.switches) and report.clusters == 2
    assert report.ports_compared == sum(len(sw.ports) for sw in world.fabric.switches)
    assert report.duration_s >= report.graph_s + report.devices_s > 0


async def test_a_device_port_that_differs_from_the_graph_is_a_wrong_vlan(world: World) -> None:
    free_port = world.node_port(FREE)
    world.device_port(free_port).access_vlan = VLAN_A  # a free node let into cluster A's VLAN
    trunks = intended_ports(world.fabric)[1]
    spine_port = next(k for k, v in trunks.items() if k.startswith("spine-p01") and len(v) == 2)
    world.device_port(spine_port).allowed_vlans = (VLAN_B,)  # cluster A's VLAN dropped from a trunk
    report = await world.report()
    wrong = {(v.switch, v.port): v for v in report.of_kind(ViolationKind.WRONG_VLAN)}
    assert set(wrong) == {tuple(free_port.split("/")), tuple(spine_port.split("/"))}
    free = wrong[tuple(free_port.split("/"))]  # type: ignore[index]
    assert (free.expected, free.actual) == (f"access {QUARANTINE}", f"access {VLAN_A}")
    assert (free.vlan, free.node) == (VLAN_A, FREE)
    assert free.clusters == (A,) and free.tenants == ("acme",) and free.source is Source.DEVICE
    trunk = wrong[tuple(spine_port.split("/"))]  # type: ignore[index]
    assert (trunk.expected, trunk.actual, trunk.vlan) == (f"trunk {VLAN_A},{VLAN_B}", f"trunk {VLAN_B}", VLAN_A)
    orphan_ports = [v for v in report.of_kind(ViolationKind.ORPHAN) if v.subject == "port"]
    assert [(v.node, v.vlan, v.source) for v in orphan_ports] == [(FREE, VLAN_A, Source.DEVICE)]


async def test_a_port_without_intent_carrying_a_tenant_vlan_is_a_wrong_vlan(world: World) -> None:
    world.device_port("oob-su01/swp48").access_vlan = VLAN_B  # an unused OOB port
    report = await world.report()
    (wrong,) = report.of_kind(ViolationKind.WRONG_VLAN)
    assert (wrong.switch, wrong.port, wrong.expected, wrong.clusters) == ("oob-su01", "swp48", "no tenant VLAN", (B,))


async def test_one_vlan_on_nodes_of_two_clusters_is_shared(world: World) -> None:
    key = world.node_port(NODES_B[0], "fe0")
    await world.write("MATCH (p:Port {key: $key}) SET p.access_vlan = $vlan", key=key, vlan=VLAN_A)
    world.device_port(key).access_vlan = VLAN_A
    report = await world.report()
    (shared,) = report.of_kind(ViolationKind.SHARED_VLAN)
    assert (shared.vlan, shared.clusters, shared.tenants) == (VLAN_A, (A, B), ("acme", "beta"))
    assert shared.source is Source.BOTH
    assert "2 clusters" in shared.message
    assert ViolationKind.WRONG_VLAN not in kinds(report), "graph and device agree: only the sharing is wrong"


async def test_a_vlan_carried_where_its_cluster_does_not_need_it_leaks(world: World) -> None:
    core_link = next(k for k in world.fabric.links if k.a.switch == "spine-p01-01" and k.b.switch.startswith("core"))
    for end in (core_link.a, core_link.b):  # cluster B is in pod 1 only: no reason to reach a core
        world.device_port(f"{end.switch}/{end.port}").allowed_vlans = (VLAN_A, VLAN_B)
    fe_link = next(k for k in world.fabric.links if k.a.switch == "fe-su01")
    fe_key = f"{fe_link.a.switch}/{fe_link.a.port}"
    await world.write("MATCH (p:Port {key: $key}) SET p.allowed_vlans = $vlans", key=fe_key, vlans=[VLAN_A, VLAN_B])
    world.device_port(fe_key).allowed_vlans = (VLAN_A, VLAN_B)
    report = await world.report()
    leaks = {(v.switch, v.port, v.vlan, v.clusters, v.source) for v in report.of_kind(ViolationKind.TRUNK_LEAK)}
    assert leaks == {
        (core_link.a.switch, core_link.a.port, VLAN_B, (B,), Source.DEVICE),
        (core_link.b.switch, core_link.b.port, VLAN_B, (B,), Source.DEVICE),
        (fe_link.a.switch, fe_link.a.port, VLAN_B, (B,), Source.BOTH),
    }
    assert {(v.switch, v.port) for v in report.of_kind(ViolationKind.WRONG_VLAN)} == {
        (e.switch, e.port) for e in (core_link.a, core_link.b)
    }


async def test_a_stale_vlan_on_a_trunk_leaks_even_without_a_cluster(world: World) -> None:
    world.device_port("oob-su01/swp52").mode = SwitchportMode.TRUNK
    world.device_port("oob-su01/swp52").allowed_vlans = (1999,)  # a pool VLAN nobody holds
    report = await world.report()
    (leak,) = report.of_kind(ViolationKind.TRUNK_LEAK)
    assert (leak.switch, leak.vlan, leak.clusters) == ("oob-su01", 1999, ())
    assert "belongs to no cluster" in leak.message


async def test_a_node_in_two_clusters_is_a_double_membership(world: World) -> None:
    await world.write(
        "MATCH (c:Cluster {key: $b}), (n:Node {key: $node}) CREATE (c)-[:MEMBER]->(n)", b=B, node=NODES_A[0]
    )
    report = await world.report()
    (double,) = report.of_kind(ViolationKind.DOUBLE_MEMBERSHIP)
    assert (double.node, double.clusters, double.tenants) == (NODES_A[0], (A, B), ("acme", "beta"))


async def test_orphans_node_network_port_and_cluster(world: World) -> None:
    await world.store.write_atomically(
        [
            ("MATCH (n:Node {key: $node}) SET n.state = 'allocated'", {"node": FREE}),
            (
                "CREATE (:Network {key: $key, vlan_id: 1500, site: $site, cluster: 'gone/x'})",
                {"key": f"{SITE}/1500", "site": SITE},
            ),
            (
                "MATCH (t:Tenant {key: 'beta'}) CREATE (t)-[:OWNS]->(:Cluster {key: 'beta/bare', tenant: 'beta', "
                "name: 'bare', state: 'ready', vlan: 1003, site: $site})",
                {"site": SITE},
            ),
            ("MATCH (p:Port {key: $key}) SET p.access_vlan = $vlan", {"key": world.node_port(FREE), "vlan": VLAN_B}),
        ]
    )
    world.device_port(world.node_port(FREE)).access_vlan = VLAN_B
    report = await world.report()
    orphans = {(v.subject, v.node, v.vlan, v.clusters) for v in report.of_kind(ViolationKind.ORPHAN)}
    assert orphans == {
        ("node", FREE, None, ()),
        ("network", None, 1500, ("gone/x",)),
        ("port", FREE, VLAN_B, (B,)),
        ("cluster", None, 1003, ("beta/bare",)),
    }
    assert ViolationKind.WRONG_VLAN not in kinds(report)


async def test_a_switch_that_cannot_be_read_is_listed_not_skipped(world: World) -> None:
    world.lab.switch("sim://spine-p02-01").faults.unreachable = True
    await world.write("MATCH (s:Switch {key: 'core-02'}) REMOVE s.driver")
    report = await world.report()
    assert {(v.switch, v.kind) for v in report.unreachable} == {
        ("core-02", ViolationKind.UNREACHABLE),
        ("spine-p02-01", ViolationKind.UNREACHABLE),
    }
    assert report.switches_read == len(world.fabric.switches) - 2 and not report.ok
    assert "no driver" in next(v.message for v in report.unreachable if v.switch == "core-02")
    assert kinds(report) == {ViolationKind.UNREACHABLE}


async def test_a_report_on_some_switches_reads_only_them(world: World) -> None:
    world.device_port(world.node_port(FREE)).access_vlan = VLAN_A
    leaf = world.node_port(FREE).split("/")[0]
    report = await world.report(switches=[leaf])
    assert report.switches_read == 1 and {v.switch for v in report.of_kind(ViolationKind.WRONG_VLAN)} == {leaf}
    other = await world.report(switches=["spine-p01-01"])
    assert other.violations == ()
    with pytest.raises(NotFound):
        await world.report(switches=["no-such-switch"])


def test_a_port_also_untagged_in_a_tenant_vlan_is_not_sound() -> None:
    """What Q-BRIDGE shows of a port left untagged in a tenant VLAN next to its quarantine VLAN."""
    quarantined = VlanState(SwitchportMode.ACCESS, access_vlan=QUARANTINE)
    leaking = VlanState(SwitchportMode.ACCESS, access_vlan=QUARANTINE, untagged_vlans=(VLAN_A,))
    assert device_carried(leaking) == {QUARANTINE, VLAN_A}
    assert "also untagged in 1001" in describe_state(leaking)
    want = PortIntent("leaf", "swp1", "access", QUARANTINE, ())
    assert rules._matches(Intent(), SITE, want, quarantined)
    assert not rules._matches(Intent(), SITE, want, leaking)
