"""Paths between nodes and neighborhoods of vertices, on both stores."""

from __future__ import annotations

import pytest

from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.inventory.model import (
    Gpu,
    Inventory,
    Link,
    Nic,
    Node,
    Port,
    PortRef,
    Rack,
    Site,
    Switch,
)
from metalgraph.server.inventory.service import import_inventory
from metalgraph.server.store.base import GraphStore, count_round_trips
from metalgraph.server.topology.neighborhood import neighborhood
from metalgraph.server.topology.paths import (
    MAX_SWITCH_LINKS,
    InvalidTopologyRequest,
    PathNotFound,
    UnknownVertex,
    shortest_path,
)

UPLINK = 49  # first uplink port of a leaf
_mac_seq = iter(range(1, 1 << 40))


def mac() -> str:
    return "02:" + next(_mac_seq).to_bytes(5, "big").hex(":")


def ports(count: int, first: int = 1, speed: float = 400) -> tuple[Port, ...]:
    return tuple(Port(name=f"swp{i}", index=i, speed_gbps=speed) for i in range(first, first + count))


def fabric(
    nodes_per_leaf: int = 2,
    leaves: int = 2,
    spines: int = 2,
    speeds: dict[tuple[str, str], float] | None = None,
    extra_switches: tuple[Switch, ...] = (),
    extra_nodes: tuple[Node, ...] = (),
    extra_links: tuple[Link, ...] = (),
    spare_ports: int = 0,
) -> Inventory:
    """A leaf/spine fabric: node `n-L-I` has backend NIC `rail0` on port swpI of `leaf-L`, and
    frontend NIC `fe0` on the shared switch `fe-1`; `spare_ports` free ports follow on each leaf.
    Leaf L port swp(48+S) is cabled to port swpL of `spine-S` at 400G, unless
    `speeds[(leaf, spine)]` says otherwise."""
    speeds = speeds or {}
    switches = [
        Switch(
            name=f"leaf-{lf}",
            rack="r1",
            role="leaf",
            pod="p1",
            ports=ports(nodes_per_leaf + spare_ports) + ports(spines, UPLINK),
        )
        for lf in range(1, leaves + 1)
    ]
    switches += [
        Switch(name=f"spine-{s}", rack="r1", role="spine", pod="p1", ports=ports(leaves)) for s in range(1, spines + 1)
    ]
    switches.append(Switch(name="fe-1", rack="r1", role="leaf", ports=ports(leaves * nodes_per_leaf, speed=100)))
    nodes = []
    for lf in range(1, leaves + 1):
        for i in range(1, nodes_per_leaf + 1):
            name = f"n-{lf}-{i}"
            nodes.append(
                Node(
                    name=name,
                    rack="r1",
                    gpus=tuple(Gpu(index=g, uuid=f"GPU-{name}-{g}", model="H100", memory_gb=80) for g in range(2)),
                    nics=(
                        Nic(
                            name="rail0",
                            mac=mac(),
                            speed_gbps=400,
                            rail=0,
                            port=PortRef(switch=f"leaf-{lf}", port=f"swp{i}"),
                        ),
                        Nic(
                            name="fe0",
                            mac=mac(),
                            speed_gbps=100,
                            role="frontend",
                            port=PortRef(switch="fe-1", port=f"swp{(lf - 1) * nodes_per_leaf + i}"),
                        ),
                    ),
                )
            )
    links = [
        Link(
            a=PortRef(switch=f"leaf-{lf}", port=f"swp{UPLINK + s - 1}"),
            b=PortRef(switch=f"spine-{s}", port=f"swp{lf}"),
            speed_gbps=speeds.get((f"leaf-{lf}", f"spine-{s}"), 400),
        )
        for lf in range(1, leaves + 1)
        for s in range(1, spines + 1)
    ]
    return Inventory(
        sites=(Site(name="s1"),),
        racks=(Rack(name="r1", site="s1"),),
        switches=(*switches, *extra_switches),
        nodes=(*nodes, *extra_nodes),
        links=(*links, *extra_links),
    )


def lone_node(name: str, *nics: Nic) -> Node:
    return Node(name=name, rack="r1", nics=nics)


def backend_nic(name: str, switch: str | None, port: str = "swp1", rail: int | None = 0) -> Nic:
    ref = PortRef(switch=switch, port=port) if switch else None
    return Nic(name=name, mac=mac(), speed_gbps=400, rail=rail, port=ref)


def odd_cases() -> Inventory:
    """The default fabric plus an island (`lonely` on `leaf-x`), a node without a backend NIC
    and one whose backend NIC has no cable."""
    return fabric(
        extra_switches=(Switch(name="leaf-x", rack="r1", role="leaf", ports=ports(1)),),
        extra_nodes=(
            lone_node("lonely", backend_nic("rail0", "leaf-x")),
            lone_node("no-backend", Nic(name="fe0", mac=mac(), speed_gbps=100, role="frontend")),
            lone_node("uncabled", backend_nic("rail0", None)),
        ),
    )


def summary(path) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(h.kind, h.name, h.ingress, h.egress, h.link_speed_gbps) for h in path.hops]


# --- paths --------------------------------------------------------------------------------


async def test_two_nodes_on_one_leaf_are_two_cables_apart(store: GraphStore) -> None:
    await import_inventory(store, fabric())
    path = await shortest_path(store, "n-1-1", "n-1-2")
    assert (path.hop_count, path.switch_count, path.bottleneck_gbps) == (2, 1, 400)
    assert summary(path) == [
        ("node", "n-1-1", None, "rail0", 400),
        ("switch", "leaf-1", "swp1", "swp2", 400),
        ("node", "n-1-2", "rail0", None, None),
    ]
    assert path.from_nic["key"] == "n-1-1/rail0"
    assert path.to_nic["key"] == "n-1-2/rail0"
    assert path.hops[1].ingress_key == "leaf-1/swp1"


async def test_nodes_on_different_leaves_go_through_a_spine(store: GraphStore) -> None:
    await import_inventory(store, fabric())
    path = await shortest_path(store, "n-1-1", "n-2-2")
    assert (path.hop_count, path.switch_count, path.bottleneck_gbps) == (4, 3, 400)
    assert summary(path) == [
        ("node", "n-1-1", None, "rail0", 400),
        ("switch", "leaf-1", "swp1", "swp49", 400),
        ("switch", "spine-1", "swp1", "swp2", 400),  # equal paths: the lowest names win
        ("switch", "leaf-2", "swp49", "swp2", 400),
        ("node", "n-2-2", "rail0", None, None),
    ]


async def test_the_path_is_the_same_in_both_directions_up_to_order(store: GraphStore) -> None:
    await import_inventory(store, fabric(leaves=3, spines=3))
    there = await shortest_path(store, "n-1-1", "n-3-2")
    back = await shortest_path(store, "n-3-2", "n-1-1")
    assert [h.name for h in there.hops] == [h.name for h in reversed(back.hops)]


async def test_the_bottleneck_is_the_slowest_cable(store: GraphStore) -> None:
    await import_inventory(store, fabric(spines=1, speeds={("leaf-2", "spine-1"): 100}))
    path = await shortest_path(store, "n-1-1", "n-2-1")
    assert path.bottleneck_gbps == 100
    assert [h.link_speed_gbps for h in path.hops] == [400, 400, 100, 400, None]


async def test_equally_short_paths_prefer_the_higher_bottleneck(store: GraphStore) -> None:
    # spine-1 would win on names, but one of its links runs at 100G; spine-2's slowest is 200G.
    await import_inventory(store, fabric(speeds={("leaf-2", "spine-1"): 100, ("leaf-1", "spine-2"): 200}))
    path = await shortest_path(store, "n-1-1", "n-2-1")
    assert path.hops[2].name == "spine-2"
    assert path.bottleneck_gbps == 200


async def test_fewest_cables_first_then_same_rail(store: GraphStore) -> None:
    # a.eth0 (rail 1) and both NICs of b share leaf-1: both pairs are 2 cables, only one on one rail.
    a = lone_node("a", backend_nic("eth0", "leaf-1", "swp3", rail=1), backend_nic("eth1", "leaf-2", "swp3", rail=0))
    b = lone_node("b", backend_nic("eth0", "leaf-1", "swp4", rail=0), backend_nic("eth1", "leaf-1", "swp5", rail=1))
    await import_inventory(store, fabric(spare_ports=3, extra_nodes=(a, b)))
    path = await shortest_path(store, "a", "b")
    assert path.hop_count == 2
    assert (path.from_nic["name"], path.to_nic["name"]) == ("eth0", "eth1")
    # a.eth1 (rail 0) and b.eth0 (rail 0) share a rail too, but only through a spine: fewer cables win.


async def test_the_role_picks_the_nics(store: GraphStore) -> None:
    await import_inventory(store, fabric())
    path = await shortest_path(store, "n-1-1", "n-2-2", role="frontend")
    assert summary(path) == [
        ("node", "n-1-1", None, "fe0", 100),
        ("switch", "fe-1", "swp1", "swp4", 100),
        ("node", "n-2-2", "fe0", None, None),
    ]


async def test_an_unknown_node_is_not_found(store: GraphStore) -> None:
    await import_inventory(store, fabric())
    with pytest.raises(UnknownVertex) as caught:
        await shortest_path(store, "n-1-1", "nope")
    assert (caught.value.label, caught.value.key) == ("Node", "nope")
    with pytest.raises(UnknownVertex):
        await shortest_path(store, "nope", "n-1-1")


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [("n-1-1", "lonely", "disconnected"), ("no-backend", "n-1-1", "no_nic"), ("n-1-1", "uncabled", "uncabled")],
)
async def test_no_path_is_a_typed_error(store: GraphStore, a: str, b: str, reason: str) -> None:
    await import_inventory(store, odd_cases())
    with pytest.raises(PathNotFound) as caught:
        await shortest_path(store, a, b)
    assert caught.value.reason == reason


async def test_the_same_node_twice_is_refused(store: GraphStore) -> None:
    await import_inventory(store, fabric())
    with pytest.raises(InvalidTopologyRequest):
        await shortest_path(store, "n-1-1", "n-1-1")


def chain(links: int) -> Inventory:
    """Switches sw-0 .. sw-N in a line, node `a` on the first and `b` on the last."""
    switches = tuple(Switch(name=f"sw-{i}", rack="r1", role="leaf", ports=ports(3)) for i in range(links + 1))
    cables = tuple(
        Link(a=PortRef(switch=f"sw-{i}", port="swp2"), b=PortRef(switch=f"sw-{i + 1}", port="swp3"), speed_gbps=400)
        for i in range(links)
    )
    nodes = (lone_node("a", backend_nic("rail0", "sw-0")), lone_node("b", backend_nic("rail0", f"sw-{links}")))
    return Inventory(
        sites=(Site(name="s1"),), racks=(Rack(name="r1", site="s1"),), switches=switches, nodes=nodes, links=cables
    )


async def test_the_search_is_bounded(store: GraphStore) -> None:
    await import_inventory(store, chain(MAX_SWITCH_LINKS))
    with count_round_trips() as trips:
        path = await shortest_path(store, "a", "b")
    assert path.hop_count == MAX_SWITCH_LINKS + 2
    assert trips.count == 1 + MAX_SWITCH_LINKS
    await import_inventory(store, chain(MAX_SWITCH_LINKS + 1))
    with pytest.raises(PathNotFound) as caught:
        await shortest_path(store, "a", "b")
    assert caught.value.reason == "too_long"


async def test_round_trips_do_not_grow_with_the_fabric(store: GraphStore) -> None:
    counts = []
    for size in (dict(nodes_per_leaf=1, leaves=2, spines=1), dict(nodes_per_leaf=12, leaves=8, spines=4)):
        await store.clear()
        await import_inventory(store, fabric(**size))  # type: ignore[arg-type]
        with count_round_trips() as through_spine:
            assert (await shortest_path(store, "n-1-1", "n-2-1")).hop_count == 4
        with count_round_trips() as one_switch:
            assert (await shortest_path(store, "n-1-1", "n-2-1", role="frontend")).hop_count == 2
        counts.append((through_spine.count, one_switch.count))
    assert counts[0] == counts[1] == (3, 1)  # the ends, then one level from each side; or the ends only


async def test_a_demo_fabric(store: GraphStore) -> None:
    await import_inventory(store, generate_fabric(16, seed=0))
    path = await shortest_path(store, "gpu-0001", "gpu-0002")
    assert (path.hop_count, path.switch_count) == (2, 1)
    assert path.hops[1].name == "leaf-p01-su01-r0"
    assert (path.from_nic["rail"], path.to_nic["rail"]) == (0, 0)


async def test_both_stores_give_the_same_answers(
    empty_embedded_store: GraphStore, empty_neo4j_store: GraphStore
) -> None:
    inventory = fabric(nodes_per_leaf=3, leaves=3, spines=2, speeds={("leaf-3", "spine-1"): 100})
    answers = []
    for s in (empty_embedded_store, empty_neo4j_store):
        await s.clear()
        await import_inventory(s, inventory)
        found = [await shortest_path(s, a, b) for a, b in [("n-1-1", "n-3-3"), ("n-2-2", "n-2-3"), ("n-3-1", "n-1-2")]]
        found.append(await shortest_path(s, "n-1-1", "n-3-3", role="frontend"))
        hoods = [await neighborhood(s, name, depth) for name, depth in [("n-1-1", 2), ("spine-1", 1), ("leaf-2", 3)]]
        answers.append((found, hoods))
    assert answers[0] == answers[1]


# --- neighborhoods ------------------------------------------------------------------------


async def test_depth_one_of_a_node_lists_its_gpus_nics_and_rack(store: GraphStore) -> None:
    await import_inventory(store, fabric())
    hood = await neighborhood(store, "n-1-1", 1)
    assert (hood.center.label, hood.center.key, hood.truncated) == ("Node", "n-1-1", False)
    assert [(v.label, v.key, v.name, v.distance) for v in hood.vertices] == [
        ("Node", "n-1-1", "n-1-1", 0),
        ("GPU", "GPU-n-1-1-0", "GPU-n-1-1-0", 1),
        ("GPU", "GPU-n-1-1-1", "GPU-n-1-1-1", 1),
        ("NIC", "n-1-1/fe0", "fe0", 1),
        ("NIC", "n-1-1/rail0", "rail0", 1),
        ("Rack", "r1", "r1", 1),
    ]
    assert [(e.type, e.source, e.target) for e in hood.edges] == [
        ("HAS_GPU", ("Node", "n-1-1"), ("GPU", "GPU-n-1-1-0")),
        ("HAS_GPU", ("Node", "n-1-1"), ("GPU", "GPU-n-1-1-1")),
        ("HAS_NIC", ("Node", "n-1-1"), ("NIC", "n-1-1/fe0")),
        ("HAS_NIC", ("Node", "n-1-1"), ("NIC", "n-1-1/rail0")),
        ("HOLDS", ("Rack", "r1"), ("Node", "n-1-1")),
    ]


async def test_deeper_levels_follow_cables_with_their_speed(store: GraphStore) -> None:
    await import_inventory(store, fabric(speeds={("leaf-1", "spine-1"): 200}))
    hood = await neighborhood(store, "leaf-1/swp49", 1)
    assert hood.center.label == "Port"
    cabled = [e for e in hood.edges if e.type == "CABLED"]
    assert [(e.source, e.target, e.props) for e in cabled] == [
        (("Port", "leaf-1/swp49"), ("Port", "spine-1/swp1"), {"speed_gbps": 200}),
    ]
    with count_round_trips() as trips:
        hood = await neighborhood(store, "n-1-1", 3)
    assert trips.count == 4  # find the center, then one per level
    keys = {(v.label, v.key): v.distance for v in hood.vertices}
    assert keys[("Port", "leaf-1/swp1")] == 2
    assert keys[("Switch", "leaf-1")] == 2  # held by the same rack
    assert keys[("Port", "leaf-1/swp49")] == 3
    assert keys[("Port", "spine-1/swp1")] == 3  # rack r1 holds the spines too
    assert keys[("Site", "s1")] == 2
    assert all(e.source in keys and e.target in keys for e in hood.edges)


async def test_the_limit_truncates(store: GraphStore) -> None:
    await import_inventory(store, fabric())
    hood = await neighborhood(store, "n-1-1", 2, limit=4)
    assert hood.truncated
    assert [(v.label, v.key) for v in hood.vertices] == [
        ("Node", "n-1-1"),
        ("GPU", "GPU-n-1-1-0"),
        ("GPU", "GPU-n-1-1-1"),
        ("NIC", "n-1-1/fe0"),
    ]
    assert all(e.target[0] != "Rack" and e.source[0] != "Rack" for e in hood.edges)
    assert len(hood.edges) == 3
    exact = await neighborhood(store, "n-1-1", 1, limit=6)
    assert not exact.truncated and len(exact.vertices) == 6


async def test_a_label_picks_between_equal_keys(store: GraphStore) -> None:
    inventory = fabric(extra_nodes=(lone_node("r1"),))  # a node named like the rack
    await import_inventory(store, inventory)
    assert (await neighborhood(store, "r1")).center.label == "Node"
    assert (await neighborhood(store, "r1", label="Rack")).center.label == "Rack"


async def test_neighborhood_errors(store: GraphStore) -> None:
    await import_inventory(store, fabric())
    with pytest.raises(UnknownVertex):
        await neighborhood(store, "nope")
    for depth in (0, 5):
        with pytest.raises(InvalidTopologyRequest):
            await neighborhood(store, "n-1-1", depth)
    with pytest.raises(InvalidTopologyRequest):
        await neighborhood(store, "n-1-1", label="Bogus")
