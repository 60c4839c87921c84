"""The planner on demo fabrics held in an in-memory index: modes, best fit, anchors, filters, explanations."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from metalgraph.server.errors import InvalidReference
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.inventory.model import Inventory, Node
from metalgraph.server.placement import ClusterSpec, Level, PlacementIndex, index_from_inventory, plan

Tweak = Callable[[Node], Node]


def clean(inventory: Inventory, tweak: Tweak | None = None) -> Inventory:
    """Every node available and healthy (the demo puts 1% in maintenance and 1% on warning), then `tweak`."""
    nodes = []
    for node in inventory.nodes:
        node = node.model_copy(update={"state": "available", "health": "ok"})
        nodes.append(tweak(node) if tweak else node)
    return inventory.model_copy(update={"nodes": tuple(nodes)})


def su_nodes(inventory: Inventory, su: str) -> list[str]:
    """Names of the nodes cabled to the leaves of one SU (`leaf-p01-su02`)."""
    return [n.name for n in inventory.nodes if n.nics and n.nics[0].port and n.nics[0].port.switch.startswith(su + "-")]


def taking(inventory: Inventory, taken: Iterable[str]) -> PlacementIndex:
    return index_from_inventory(inventory, members=taken)


@pytest.fixture(scope="module")
def fabric() -> Inventory:
    """128 nodes: 4 in eu-fra1, 124 in moc-mghpcc in one spine pod of 4 SUs (32, 32, 32, 28 nodes)."""
    return clean(generate_fabric(1024))


@pytest.fixture(scope="module")
def pods() -> Inventory:
    """1,024 nodes in 8 spine pods of 4 SUs behind cores, plus 4 nodes in eu-fra1."""
    return clean(generate_fabric(8192))


SU = ["leaf-p01-su01", "leaf-p01-su02", "leaf-p01-su03", "leaf-p01-su04"]


def leaves_of(p, index) -> set[str]:  # type: ignore[no-untyped-def]
    return {index.domain_of(n, Level.LEAF) for n in p.nodes}


def test_required_leaf_puts_every_node_on_one_leaf_domain(fabric: Inventory) -> None:
    index = index_from_inventory(fabric)
    p = plan(index, ClusterSpec(nodes=16, level="leaf", mode="required"))
    assert p.feasible and len(p.nodes) == 16 and len(set(p.nodes)) == 16
    assert len(leaves_of(p, index)) == 1
    assert p.domains[Level.SITE] == ("moc-mghpcc",) and p.site == "moc-mghpcc"
    assert p.hop_diameter == 2 and p.bottleneck_gbps == 400


def test_required_leaf_that_no_leaf_can_hold_is_explained(fabric: Inventory) -> None:
    taken = su_nodes(fabric, SU[0])[:21]  # su01 keeps 11 free; su02, su03 have 32, su04 28
    index = taking(fabric, taken)
    p = plan(index, ClusterSpec(nodes=40, gpu_model="H100", level="leaf", mode="required"))
    assert not p.feasible and p.nodes == ()
    text = "\n".join(p.explanations)
    assert "no leaf domain has 40 eligible H100 nodes: best is leaf-p01-su02 with 32" in text
    assert "spine pod pod-01 could hold it across 2 leaf domains" in text
    assert "124 nodes" not in text and "128 nodes: 107 free" in text


def test_preferred_leaf_uses_the_fewest_leaf_domains_and_the_best_fit(fabric: Inventory) -> None:
    su1, su3 = su_nodes(fabric, SU[0]), su_nodes(fabric, SU[2])
    # free: su01 10, su02 32 (whole), su03 20, su04 28 (whole)
    index = taking(fabric, su1[:22] + su3[:12])
    exact = plan(index, ClusterSpec(nodes=10))
    assert leaves_of(exact, index) == {"leaf-p01-su01"}  # an exact fit, whole domains kept intact
    smallest = plan(index, ClusterSpec(nodes=15))
    assert leaves_of(smallest, index) == {"leaf-p01-su03"}  # the smallest domain that fits
    two = plan(index, ClusterSpec(nodes=40))
    assert len(leaves_of(two, index)) == 2 and two.hop_diameter == 4
    # 40 fits in su01+su02 (42), su03+su04 (48), su02+su04 (60), ...: su01+su02 leaves the least behind
    assert leaves_of(two, index) == {"leaf-p01-su01", "leaf-p01-su02"}
    # left free: su02 2 and su03 20 (partly used), su04 28 and the 4 EU nodes (whole domains)
    assert two.fragmentation[Level.LEAF] == pytest.approx(22 / 54, abs=1e-4)


def test_best_fit_leaves_whole_domains_whole(fabric: Inventory) -> None:
    su1 = su_nodes(fabric, SU[0])
    index = taking(fabric, su1[:24])  # su01 has 8 free, the others are whole
    p = plan(index, ClusterSpec(nodes=8))
    assert leaves_of(p, index) == {"leaf-p01-su01"}
    assert p.fragmentation[Level.LEAF] == 0.0  # every free node left is in a wholly free leaf domain


def test_unconstrained_takes_the_most_fragmented_capacity_first(fabric: Inventory) -> None:
    su1, su2 = su_nodes(fabric, SU[0]), su_nodes(fabric, SU[1])
    index = taking(fabric, su1[:29] + su2[:30])  # 3 free in su01, 2 in su02
    p = plan(index, ClusterSpec(nodes=5, mode="unconstrained"))
    assert set(p.nodes) == set(su1[29:] + su2[30:])
    preferred = plan(index, ClusterSpec(nodes=5, level="leaf", mode="preferred"))
    assert len(leaves_of(preferred, index)) == 1


def test_a_cluster_stays_in_one_site(fabric: Inventory) -> None:
    index = index_from_inventory(fabric)
    p = plan(index, ClusterSpec(nodes=126, mode="unconstrained"))
    assert not p.feasible
    assert "no site has 126 eligible nodes: best is moc-mghpcc with 124" in p.explanations


def test_anchors_pull_new_nodes_into_their_domains_and_are_never_chosen(fabric: Inventory) -> None:
    su3 = su_nodes(fabric, SU[2])
    index = taking(fabric, su3[:4])
    p = plan(index, ClusterSpec(nodes=4), anchors=su3[:4])
    assert set(p.nodes) == set(su3[4:8])
    assert p.domains[Level.LEAF] == ("leaf-p01-su03",) and p.hop_diameter == 2
    grown = plan(index, ClusterSpec(nodes=30), anchors=su3[:4])  # 28 fit next to them: 2 go elsewhere
    assert not set(grown.nodes) & set(su3[:4])
    assert len(grown.domains[Level.LEAF]) == 2 and "leaf-p01-su03" in grown.domains[Level.LEAF]
    assert sum(n in su3 for n in grown.nodes) == 28


def test_anchors_spanning_two_leaf_domains_cannot_be_required_on_one(fabric: Inventory) -> None:
    anchors = [su_nodes(fabric, SU[0])[0], su_nodes(fabric, SU[1])[0]]
    index = taking(fabric, anchors)
    p = plan(index, ClusterSpec(nodes=2, level="leaf", mode="required"), anchors=anchors)
    assert not p.feasible
    assert any("not all in one domain of level leaf" in line for line in p.explanations)
    with pytest.raises(InvalidReference):
        plan(index, ClusterSpec(nodes=1), anchors=["no-such-node"])


def test_excluded_nodes_are_never_chosen(fabric: Inventory) -> None:
    index = index_from_inventory(fabric)
    su4 = su_nodes(fabric, SU[3])
    first = plan(index, ClusterSpec(nodes=28, level="leaf", mode="required"))
    assert set(first.nodes) == set(su4)  # the exact fit
    again = plan(index, ClusterSpec(nodes=28, level="leaf", mode="required"), exclude=su4[:1])
    assert su4[0] not in again.nodes and again.feasible


def _with(node: Node, **update: object) -> Node:
    return node.model_copy(update=update)


@pytest.mark.parametrize(
    ("spec", "tweak", "reason"),
    [
        (dict(gpu_model="A100"), None, "0 with GPU model A100"),
        (dict(exclude_unhealthy=True), lambda n: _with(n, health="warning"), "0 healthy"),
        (dict(exclude_unhealthy=True), lambda n: _with(n, health="unknown"), "0 healthy"),
        (dict(), lambda n: _with(n, state="maintenance"), "0 free"),
        (dict(cpu_cores=200), None, "0 with at least 200 CPU cores"),
        (dict(memory_gb=4096), None, "0 with at least 4096 GB memory"),
        (dict(storage_gb=100_000), None, "0 with at least 100000 GB storage"),
        (dict(backend_gbps=800), None, "0 with backend NICs of at least 800 Gb/s"),
        (dict(gpus_per_node=16), None, "0 with at least 16 GPUs"),
        (dict(jurisdictions=["CN"]), None, "0 in an allowed site (jurisdiction CN)"),
    ],
)
def test_each_requirement_filters_nodes_and_says_so(fabric: Inventory, spec: dict, tweak, reason: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    index = index_from_inventory(clean(fabric, tweak))
    p = plan(index, ClusterSpec(nodes=1, **spec))
    assert not p.feasible
    assert reason in p.explanations[0]


def test_relaxed_flags_let_unhealthy_and_maintenance_nodes_in(fabric: Inventory) -> None:
    index = index_from_inventory(clean(fabric, lambda n: _with(n, state="maintenance", health="warning")))
    spec = ClusterSpec(nodes=4, exclude_unhealthy=False, exclude_maintenance=False)
    assert plan(index, spec).feasible


def test_site_constraints_choose_the_site(fabric: Inventory) -> None:
    index = index_from_inventory(fabric)
    for spec in (
        ClusterSpec(nodes=4, sites=["eu-fra1"]),
        ClusterSpec(nodes=4, regions=["eu-central"]),
        ClusterSpec(nodes=4, jurisdictions=["EU"]),
        ClusterSpec(nodes=4, certifications=["GDPR"]),
    ):
        p = plan(index, spec)
        assert p.site == "eu-fra1" and all(n.startswith("fra-") for n in p.nodes)
    assert plan(index, ClusterSpec(nodes=4, certifications=["HIPAA"])).site == "moc-mghpcc"
    assert not plan(index, ClusterSpec(nodes=5, sites=["eu-fra1"])).feasible
    assert not plan(index, ClusterSpec(nodes=1, certifications=["GDPR", "HIPAA"])).feasible


def test_hardware_requirements_select_matching_nodes(fabric: Inventory) -> None:
    su2 = set(su_nodes(fabric, SU[1]))

    def a100(node: Node) -> Node:
        if node.name not in su2:
            return node
        gpus = tuple(g.model_copy(update={"model": "A100-SXM4-80GB"}) for g in node.gpus)
        return node.model_copy(update={"gpus": gpus, "memory_gb": 1024})

    index = index_from_inventory(clean(fabric, a100))
    p = plan(index, ClusterSpec(nodes=20, gpu_model="a100-sxm4"))
    assert set(p.nodes) <= su2
    assert not set(plan(index, ClusterSpec(nodes=20, memory_gb=2048)).nodes) & su2


def test_link_errors_exclude_the_node_on_that_port(fabric: Inventory) -> None:
    victim = su_nodes(fabric, SU[3])[0]  # cabled to swp1 of the su04 leaves
    switches = []
    for sw in fabric.switches:
        if sw.name == "leaf-p01-su04-r5":
            ports = tuple(p.model_copy(update={"oper_status": "down"}) if p.name == "swp1" else p for p in sw.ports)
            sw = sw.model_copy(update={"ports": ports})
        switches.append(sw)
    index = index_from_inventory(fabric.model_copy(update={"switches": tuple(switches)}))
    p = plan(index, ClusterSpec(nodes=28, level="leaf", mode="required"))
    assert victim not in p.nodes and p.feasible
    relaxed = plan(index, ClusterSpec(nodes=28, level="leaf", mode="required", exclude_link_errors=False))
    assert victim in relaxed.nodes


def test_gpus_are_counted_in_whole_nodes(fabric: Inventory) -> None:
    p = plan(index_from_inventory(fabric), ClusterSpec(gpus=60))
    assert len(p.nodes) == 8


def test_max_hops_confines_the_plan_to_close_nodes(pods: Inventory) -> None:
    index = index_from_inventory(pods)
    one_leaf = plan(index, ClusterSpec(nodes=20, mode="unconstrained", max_hops=2))
    assert len(one_leaf.domains[Level.LEAF]) == 1 and one_leaf.hop_diameter == 2
    assert not plan(index, ClusterSpec(nodes=33, max_hops=2)).feasible
    one_pod = plan(index, ClusterSpec(nodes=100, mode="unconstrained", max_hops=5))
    assert len(one_pod.domains[Level.SPINE_POD]) == 1 and one_pod.hop_diameter == 4
    too_big = plan(index, ClusterSpec(nodes=129, max_hops=4))
    assert not too_big.feasible
    assert any(
        "within 4 hops has 129 eligible nodes: best is spine pod pod-01 with 128" in x for x in too_big.explanations
    )
    across = plan(index, ClusterSpec(nodes=129, max_hops=6))
    assert across.feasible and across.hop_diameter == 6 and len(across.domains[Level.SPINE_POD]) == 2


def test_preferred_spine_pod_minimises_pods_first(pods: Inventory) -> None:
    index = index_from_inventory(pods)
    p = plan(index, ClusterSpec(nodes=256, level="spine_pod"))
    assert len(p.domains[Level.SPINE_POD]) == 2 and p.hop_diameter == 6
    leaf = plan(index, ClusterSpec(nodes=256, level="leaf"))
    assert len(leaf.domains[Level.SPINE_POD]) == 2 and len(leaf.domains[Level.LEAF]) == 8


def test_nvlink_domains_on_nvl72() -> None:
    inventory = clean(generate_fabric(576, nvl72=True))  # 144 trays, 8 NVL72 racks of 18
    index = index_from_inventory(inventory)
    p = plan(index, ClusterSpec(nodes=18, level="nvlink_domain", mode="required"))
    assert len(p.domains[Level.NVLINK_DOMAIN]) == 1
    two = plan(index, ClusterSpec(nodes=20, level="nvlink_domain"))
    assert len(two.domains[Level.NVLINK_DOMAIN]) == 2 and len(two.domains[Level.LEAF]) == 1


def test_lifecycle_facts(fabric: Inventory) -> None:
    index = index_from_inventory(fabric)
    node = su_nodes(fabric, SU[0])[0]
    ports = index.node_ports(node)
    assert ("leaf-p01-su01-r0", "swp1", "backend") in ports and len(ports) == 9  # 8 rails + frontend, no BMC
    assert all(role != "bmc" for _s, _p, role in ports)
    leaf = index.switch("leaf-p01-su01-r0")
    assert leaf is not None and (leaf.role, leaf.pod, leaf.site) == ("leaf", "pod-01", "moc-mghpcc")
    ups = index.uplinks("leaf-p01-su01-r0")
    assert ups and all(index.switch(peer).role == "spine" for _p, peer, _pp in ups)  # type: ignore[union-attr]
    assert index.uplinks("no-such-switch") == []
