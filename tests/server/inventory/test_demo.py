"""generate_fabric: demo fabrics that are deterministic, consistent and rail-optimized."""

from __future__ import annotations

import math
from collections import Counter, defaultdict, deque
from itertools import combinations

import pytest

from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.inventory.model import Inventory


def reference_problems(inv: Inventory) -> list[str]:
    """Every reference of the inventory resolves and no switch port is cabled twice."""
    problems: list[str] = []
    for kind, names in (
        ("site", [s.name for s in inv.sites]),
        ("rack", [r.name for r in inv.racks]),
        ("switch", [s.name for s in inv.switches]),
        ("node", [n.name for n in inv.nodes]),
        ("gpu uuid", [g.uuid for n in inv.nodes for g in n.gpus]),
        ("mac", [nic.mac for n in inv.nodes for nic in n.nics]),
    ):
        problems += [f"duplicate {kind} {name}" for name, k in Counter(names).items() if k > 1]
    sites = {s.name for s in inv.sites}
    racks = {r.name for r in inv.racks}
    ports: set[tuple[str, str]] = set()
    for sw in inv.switches:
        names = [p.name for p in sw.ports]
        if len(set(names)) != len(names):
            problems.append(f"{sw.name}: duplicate port names")
        ports.update((sw.name, p) for p in names)
    problems += [f"rack {r.name}: no site {r.site}" for r in inv.racks if r.site not in sites]
    problems += [f"switch {s.name}: no rack {s.rack}" for s in inv.switches if s.rack not in racks]
    problems += [f"node {n.name}: no rack {n.rack}" for n in inv.nodes if n.rack not in racks]

    cabled: Counter[tuple[str, str]] = Counter()
    for node in inv.nodes:
        indexes = {g.index for g in node.gpus}
        nics = {nic.name for nic in node.nics}
        for nic in node.nics:
            if nic.port is None:
                problems.append(f"{node.name}/{nic.name}: not cabled")
            else:
                cabled[(nic.port.switch, nic.port.port)] += 1
        problems += [f"{node.name}: nvlink {nv}" for nv in node.nvlinks if {nv.a, nv.b} - indexes or nv.a >= nv.b]
        problems += [f"{node.name}: pcie {a}" for a in node.pcie if a.gpu not in indexes or a.nic not in nics]
    for link in inv.links:
        cabled[(link.a.switch, link.a.port)] += 1
        cabled[(link.b.switch, link.b.port)] += 1
    problems += [f"no switch port {ref}" for ref in cabled if ref not in ports]
    problems += [f"port {ref} cabled {k} times" for ref, k in cabled.items() if k > 1]
    return problems


def gpu_count(inv: Inventory) -> int:
    return sum(len(n.gpus) for n in inv.nodes)


def switch_graph(inv: Inventory) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for link in inv.links:
        graph[link.a.switch].add(link.b.switch)
        graph[link.b.switch].add(link.a.switch)
    return graph


def switch_path(inv: Inventory, start: str, goal: str) -> list[str]:
    """The shortest path of switches from start to goal over the inter-switch links."""
    graph, before = switch_graph(inv), {start: start}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            path = [goal]
            while path[-1] != start:
                path.append(before[path[-1]])
            return path[::-1]
        for there in graph[here] - before.keys():
            before[there] = here
            queue.append(there)
    return []


def backend_leaf(inv: Inventory, node: str, rail: int) -> str:
    nic = next(nic for n in inv.nodes if n.name == node for nic in n.nics if nic.rail == rail)
    assert nic.port is not None
    return nic.port.switch


@pytest.fixture(scope="module")
def tiny() -> Inventory:
    return generate_fabric(16, seed=7)


@pytest.fixture(scope="module")
def one_pod() -> Inventory:
    return generate_fabric(1024, seed=7)


@pytest.fixture(scope="module")
def multi_pod() -> Inventory:
    """512 nodes: 16 SUs in 4 spine pods, joined by a core layer."""
    return generate_fabric(4096, seed=7)


@pytest.fixture(scope="module")
def nvl72() -> Inventory:
    """16 NVL72 racks in the main site plus 32 GPUs in the EU site."""
    return generate_fabric(16 * 72 + 32, seed=7, nvl72=True)


def test_same_seed_gives_the_same_inventory() -> None:
    assert generate_fabric(512, seed=3) == generate_fabric(512, seed=3)
    assert generate_fabric(64, seed=3, nvl72=True) == generate_fabric(64, seed=3, nvl72=True)


def test_another_seed_changes_identities_and_models_but_not_the_topology() -> None:
    a, b = generate_fabric(1024, seed=1), generate_fabric(1024, seed=2)
    assert (a.sites, a.racks, a.switches, a.links) == (b.sites, b.racks, b.switches, b.links)
    for na, nb in zip(a.nodes, b.nodes, strict=True):
        assert (na.name, na.rack, na.u) == (nb.name, nb.rack, nb.u)
        assert [(n.name, n.rail, n.port) for n in na.nics] == [(n.name, n.rail, n.port) for n in nb.nics]
        assert (na.nvlinks, na.pcie) == (nb.nvlinks, nb.pcie)
    assert {n.serial for n in a.nodes}.isdisjoint({n.serial for n in b.nodes})
    assert {g.uuid for n in a.nodes for g in n.gpus}.isdisjoint({g.uuid for n in b.nodes for g in n.gpus})
    assert {c.mac for n in a.nodes for c in n.nics}.isdisjoint({c.mac for n in b.nodes for c in n.nics})


@pytest.mark.parametrize("gpus", [16, 17, 63, 64, 100, 1000, 1024, 1025])
def test_gpu_count_is_rounded_up_to_whole_8_gpu_nodes(gpus: int) -> None:
    inv = generate_fabric(gpus)
    assert gpu_count(inv) == math.ceil(gpus / 8) * 8
    assert all(len(n.gpus) == 8 for n in inv.nodes)


@pytest.mark.parametrize("gpus", [16, 70, 72, 1000])
def test_gpu_count_is_rounded_up_to_whole_4_gpu_trays_in_nvl72_mode(gpus: int) -> None:
    inv = generate_fabric(gpus, nvl72=True)
    assert gpu_count(inv) == math.ceil(gpus / 4) * 4
    assert all(len(n.gpus) == 4 for n in inv.nodes)


@pytest.mark.parametrize("gpus", [0, -8])
def test_a_fabric_needs_gpus(gpus: int) -> None:
    with pytest.raises(ValueError):
        generate_fabric(gpus)


@pytest.mark.parametrize("fabric", ["tiny", "one_pod", "multi_pod", "nvl72"])
def test_every_reference_resolves_and_no_port_is_cabled_twice(fabric: str, request: pytest.FixtureRequest) -> None:
    inv: Inventory = request.getfixturevalue(fabric)
    assert reference_problems(inv) == []


def test_the_inventory_survives_a_round_trip_through_json(one_pod: Inventory) -> None:
    assert Inventory.model_validate_json(one_pod.model_dump_json()) == one_pod


@pytest.mark.parametrize("fabric", ["tiny", "one_pod", "multi_pod", "nvl72"])
def test_backend_nics_are_rail_optimized(fabric: str, request: pytest.FixtureRequest) -> None:
    inv: Inventory = request.getfixturevalue(fabric)
    switches = {s.name: s for s in inv.switches}
    rails_of_leaf: dict[str, set[int]] = defaultdict(set)
    nodes_of_leaf: dict[str, set[str]] = defaultdict(set)
    for node in inv.nodes:
        backend = [nic for nic in node.nics if nic.role == "backend"]
        assert sorted(nic.rail for nic in backend) == list(range(len(node.gpus)))
        for nic in backend:
            assert nic.port is not None and nic.rail is not None
            leaf = switches[nic.port.switch]
            assert leaf.role == "leaf" and leaf.pod, f"{node.name}/{nic.name} is not on a backend leaf"
            rails_of_leaf[leaf.name].add(nic.rail)
            nodes_of_leaf[leaf.name].add(node.name)
    assert all(len(rails) == 1 for rails in rails_of_leaf.values()), "a leaf serves one rail"
    # An SU is a set of nodes that share all of their rail leaves.
    leaves_of_node: dict[str, frozenset[str]] = defaultdict(frozenset)
    for leaf, nodes in nodes_of_leaf.items():
        for node in nodes:
            leaves_of_node[node] |= {leaf}
    for leaf, nodes in nodes_of_leaf.items():
        assert len({leaves_of_node[n] for n in nodes}) == 1, f"nodes of {leaf} do not share their leaves"
        assert len(nodes) <= 36


def test_a_full_su_is_32_nodes_on_8_leaves_and_a_pod_has_16_spines(one_pod: Inventory) -> None:
    su1 = [n for n in one_pod.nodes if backend_leaf(one_pod, n.name, 0) == "leaf-p01-su01-r0"]
    assert len(su1) == 32
    assert {nic.port.switch for n in su1 for nic in n.nics if nic.port and nic.role == "backend"} == {
        f"leaf-p01-su01-r{r}" for r in range(8)
    }
    spines = {s.name for s in one_pod.switches if s.role == "spine" and s.pod == "pod-01"}
    assert len(spines) == 16
    uplinks = Counter(link.b.switch for link in one_pod.links if link.a.switch == "leaf-p01-su01-r3")
    assert uplinks == {spine: 2 for spine in spines}


@pytest.mark.parametrize("fabric", ["tiny", "one_pod"])
def test_different_rails_of_two_nodes_meet_at_a_spine(fabric: str, request: pytest.FixtureRequest) -> None:
    inv: Inventory = request.getfixturevalue(fabric)
    first, last = inv.nodes[0].name, [n for n in inv.nodes if not n.name.startswith("fra-")][-1].name
    path = switch_path(inv, backend_leaf(inv, first, 0), backend_leaf(inv, last, 1))
    roles = {s.name: s.role for s in inv.switches}
    assert [roles[s] for s in path] == ["leaf", "spine", "leaf"]


def test_pods_meet_at_the_core(multi_pod: Inventory) -> None:
    pods = {s.pod for s in multi_pod.switches if s.role == "spine"}
    assert pods == {"pod-01", "pod-02", "pod-03", "pod-04", "fra-pod-01"}
    path = switch_path(multi_pod, "leaf-p01-su01-r0", "leaf-p04-su16-r5")
    roles = {s.name: s.role for s in multi_pod.switches}
    assert [roles[s] for s in path] == ["leaf", "spine", "core", "spine", "leaf"]


def test_the_backend_fabric_of_a_site_is_one_connected_network(multi_pod: Inventory) -> None:
    graph = switch_graph(multi_pod)
    backend = {s.name for s in multi_pod.switches if s.pod.startswith("pod-") or s.name.startswith("core-")}
    seen, todo = {"leaf-p01-su01-r0"}, ["leaf-p01-su01-r0"]
    while todo:
        for there in graph[todo.pop()] - seen:
            seen.add(there)
            todo.append(there)
    assert seen == backend


def test_switch_roles_and_pods(multi_pod: Inventory) -> None:
    for s in multi_pod.switches:
        name = s.name.removeprefix("fra-")  # the EU site
        if name.startswith(("leaf-", "spine-")):
            assert s.pod.removeprefix("fra-").startswith("pod-"), s.name
        else:
            assert s.pod == "", s.name
        if name.startswith("fe-su"):
            assert s.role == "leaf"
    assert Counter(s.role for s in multi_pod.switches if not s.name.startswith("fra-")) == {
        "leaf": 16 * 8 + 16,  # rail leaves + frontend leaves
        "spine": 4 * 16,
        "core": 16 + 2,  # one backend core per spine plane + two frontend cores
        "oob": 16 + 2,
    }


def test_every_nic_is_cabled_to_a_port_of_its_speed_and_cabled_ports_are_up(one_pod: Inventory) -> None:
    ports = {(s.name, p.name): p for s in one_pod.switches for p in s.ports}
    for node in one_pod.nodes:
        for nic in node.nics:
            assert nic.port is not None
            port = ports[(nic.port.switch, nic.port.port)]
            assert (port.speed_gbps, port.mode, port.oper_status) == (nic.speed_gbps, "access", "up")
    cabled = {(end.switch, end.port) for link in one_pod.links for end in (link.a, link.b)}
    cabled |= {(nic.port.switch, nic.port.port) for n in one_pod.nodes for nic in n.nics if nic.port}
    assert all((p.oper_status == "up") == (key in cabled) for key, p in ports.items())


def test_nodes_have_a_frontend_and_a_bmc_nic(tiny: Inventory) -> None:
    for node in tiny.nodes:
        roles = Counter(nic.role for nic in node.nics)
        assert roles == {"backend": 8, "frontend": 1, "bmc": 1}
        assert node.bmc is not None and node.bmc.address == f"sim://{node.name}"
        assert node.power_state == "off"


def test_each_gpu_is_pix_to_the_nic_of_its_rail(one_pod: Inventory) -> None:
    for node in one_pod.nodes:
        rails = {nic.name: nic.rail for nic in node.nics}
        pix = [(a.gpu, a.nic) for a in node.pcie if a.path == "PIX"]
        assert sorted(g for g, _ in pix) == [g.index for g in node.gpus]
        assert all(rails[nic] == gpu for gpu, nic in pix)


@pytest.mark.parametrize("fabric", ["one_pod", "nvl72"])
def test_nvlink_is_all_to_all_within_each_node(fabric: str, request: pytest.FixtureRequest) -> None:
    inv: Inventory = request.getfixturevalue(fabric)
    for node in inv.nodes:
        pairs = {(nv.a, nv.b) for nv in node.nvlinks}
        assert pairs == set(combinations(sorted(g.index for g in node.gpus), 2))
        assert len(node.nvlinks) == len(pairs)


def test_an_8_gpu_node_is_its_own_nvlink_domain(one_pod: Inventory) -> None:
    assert all(g.nvlink_domain == n.name for n in one_pod.nodes for g in n.gpus)


def test_nvl72_racks_are_nvlink_domains_of_72_gpus(nvl72: Inventory) -> None:
    domains = Counter(g.nvlink_domain for n in nvl72.nodes for g in n.gpus)
    main = {d: k for d, k in domains.items() if not d.startswith("fra-")}
    assert len(main) == 16 and set(main.values()) == {72}
    assert [k for d, k in domains.items() if d.startswith("fra-")] == [32]
    assert all(g.nvlink_domain == n.rack for n in nvl72.nodes for g in n.gpus)


def test_a_scalable_unit_has_one_gpu_model(multi_pod: Inventory) -> None:
    models_of_su: dict[str, set[str]] = defaultdict(set)
    for node in multi_pod.nodes:
        leaf = backend_leaf(multi_pod, node.name, 0)
        models_of_su[leaf].update(g.model for g in node.gpus)
        models_of_su[leaf].add(node.model)
    assert all(len(models) == 2 for models in models_of_su.values())  # one GPU model, one server model
    assert models_of_su["leaf-p01-su01-r0"] >= {"H100-SXM5-80GB"}


def test_a_few_nodes_need_attention(multi_pod: Inventory) -> None:
    odd = [n for n in multi_pod.nodes if n.state != "available" or n.health != "ok"]
    assert 0 < len(odd) <= 0.05 * len(multi_pod.nodes)
    assert {n.state for n in odd} <= {"maintenance", "available"}


def test_an_eu_site_from_64_gpus(one_pod: Inventory) -> None:
    assert [s.name for s in generate_fabric(56).sites] == ["moc-mghpcc"]
    sites = {s.name: s for s in one_pod.sites}
    assert sites["moc-mghpcc"].jurisdiction == "US" and "HIPAA" in sites["moc-mghpcc"].certifications
    eu = [s for s in one_pod.sites if s.jurisdiction == "EU"]
    assert len(eu) == 1 and eu[0].country == "DE" and "GDPR" in eu[0].certifications
    site_of_rack = {r.name: r.site for r in one_pod.racks}
    site_of_switch = {s.name: site_of_rack[s.rack] for s in one_pod.switches}
    eu_nodes = [n for n in one_pod.nodes if site_of_rack[n.rack] == eu[0].name]
    assert 0 < len(eu_nodes) < len(one_pod.nodes) // 4
    for node in one_pod.nodes:
        assert {site_of_switch[nic.port.switch] for nic in node.nics if nic.port} == {site_of_rack[node.rack]}
    assert all(site_of_switch[link.a.switch] == site_of_switch[link.b.switch] for link in one_pod.links)
    assert any(s.role == "spine" for s in one_pod.switches if site_of_switch[s.name] == eu[0].name)


def test_progress_is_reported_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    generate_fabric(2048, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) > 2
    assert [done for done, _ in calls] == list(range(1, len(calls) + 1))
    assert calls[-1] == (len(calls), len(calls))


@pytest.mark.slow
def test_100k_gpus_is_12500_nodes() -> None:
    inv = generate_fabric(100_000)
    assert len(inv.nodes) == 12_500
    assert gpu_count(inv) == 100_000
    assert reference_problems(inv) == []
