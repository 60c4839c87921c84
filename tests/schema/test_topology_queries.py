"""The topology queries for debugging (`path`, `neighborhood`) through HTTP, on both stores."""

from __future__ import annotations

from typing import Any

import httpx

from metalgraph.server.inventory.model import Gpu, Inventory, Link, Nic, Node, Port, PortRef, Rack, Site, Switch
from metalgraph.server.inventory.service import import_inventory
from metalgraph.server.store.base import GraphStore

PATH = """
query Path($from: String!, $to: String!, $role: NicRole! = BACKEND) {
  path(fromNode: $from, toNode: $to, role: $role) {
    hopCount switchCount bottleneckGbps
    hops { kind name ingress egress linkSpeedGbps node { name } switch { name role } egressPort { name speedGbps } }
    fromNic { name rail } toNic { name rail }
  }
}
"""

NEIGHBORHOOD = """
query Hood($name: String!, $depth: Int! = 1, $limit: Int! = 500, $label: String) {
  neighborhood(name: $name, depth: $depth, limit: $limit, label: $label) {
    center { label key }
    truncated
    vertices { label key name distance }
    edges { type source sourceLabel target targetLabel speedGbps }
  }
}
"""


def _ports(n: int, first: int = 1, speed: float = 400) -> tuple[Port, ...]:
    return tuple(Port(name=f"swp{i}", index=i, speed_gbps=speed) for i in range(first, first + n))


def _node(name: str, switch: str, port: str, mac: int, rail: int = 0) -> Node:
    return Node(
        name=name,
        rack="r1",
        gpus=(Gpu(index=0, uuid=f"GPU-{name}", model="H100", memory_gb=80),),
        nics=(
            Nic(
                name="rail0",
                mac=f"02:00:00:00:00:{mac:02x}",
                speed_gbps=400,
                rail=rail,
                port=PortRef(switch=switch, port=port),
            ),
        ),
    )


def tiny_fabric() -> Inventory:
    """`a` and `b` on leaf-1, `c` on leaf-2, leaves joined by spine-1 (leaf-2's uplink at 200G);
    `island` alone on leaf-x."""
    leaf = (*_ports(2), *_ports(1, 49))
    return Inventory(
        sites=(Site(name="s1"),),
        racks=(Rack(name="r1", site="s1"),),
        switches=(
            Switch(name="leaf-1", rack="r1", role="leaf", pod="p1", ports=leaf),
            Switch(name="leaf-2", rack="r1", role="leaf", pod="p1", ports=leaf),
            Switch(name="spine-1", rack="r1", role="spine", pod="p1", ports=_ports(2)),
            Switch(name="leaf-x", rack="r1", role="leaf", ports=_ports(1)),
        ),
        nodes=(
            _node("a", "leaf-1", "swp1", 1),
            _node("b", "leaf-1", "swp2", 2),
            _node("c", "leaf-2", "swp1", 3),
            _node("island", "leaf-x", "swp1", 4),
        ),
        links=(
            Link(a=PortRef(switch="leaf-1", port="swp49"), b=PortRef(switch="spine-1", port="swp1"), speed_gbps=400),
            Link(a=PortRef(switch="leaf-2", port="swp49"), b=PortRef(switch="spine-1", port="swp2"), speed_gbps=200),
        ),
    )


async def gql(api: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await api.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_a_path_on_one_leaf(api: httpx.AsyncClient, store: GraphStore) -> None:
    await import_inventory(store, tiny_fabric())
    body = await gql(api, PATH, **{"from": "a", "to": "b"})
    assert "errors" not in body
    path = body["data"]["path"]
    assert (path["hopCount"], path["switchCount"], path["bottleneckGbps"]) == (2, 1, 400.0)
    assert path["hops"] == [
        {
            "kind": "NODE",
            "name": "a",
            "ingress": None,
            "egress": "rail0",
            "linkSpeedGbps": 400.0,
            "node": {"name": "a"},
            "switch": None,
            "egressPort": None,
        },
        {
            "kind": "SWITCH",
            "name": "leaf-1",
            "ingress": "swp1",
            "egress": "swp2",
            "linkSpeedGbps": 400.0,
            "node": None,
            "switch": {"name": "leaf-1", "role": "LEAF"},
            "egressPort": {"name": "swp2", "speedGbps": 400.0},
        },
        {
            "kind": "NODE",
            "name": "b",
            "ingress": "rail0",
            "egress": None,
            "linkSpeedGbps": None,
            "node": {"name": "b"},
            "switch": None,
            "egressPort": None,
        },
    ]
    assert path["fromNic"] == {"name": "rail0", "rail": 0}
    assert path["toNic"] == {"name": "rail0", "rail": 0}


async def test_a_path_through_a_spine_and_its_bottleneck(api: httpx.AsyncClient, store: GraphStore) -> None:
    await import_inventory(store, tiny_fabric())
    path = (await gql(api, PATH, **{"from": "a", "to": "c"}))["data"]["path"]
    assert (path["hopCount"], path["switchCount"], path["bottleneckGbps"]) == (4, 3, 200.0)
    assert [(h["name"], h["switch"] and h["switch"]["role"]) for h in path["hops"]] == [
        ("a", None),
        ("leaf-1", "LEAF"),
        ("spine-1", "SPINE"),
        ("leaf-2", "LEAF"),
        ("c", None),
    ]
    assert [h["linkSpeedGbps"] for h in path["hops"]] == [400.0, 400.0, 200.0, 400.0, None]


async def test_path_errors_are_typed(api: httpx.AsyncClient, store: GraphStore) -> None:
    await import_inventory(store, tiny_fabric())
    unknown = await gql(api, PATH, **{"from": "a", "to": "nope"})
    assert unknown["data"] == {"path": None}
    assert codes(unknown) == ["NOT_FOUND"]
    assert unknown["errors"][0]["extensions"]["kind"] == "Node"

    apart = await gql(api, PATH, **{"from": "a", "to": "island"})
    assert codes(apart) == ["NOT_FOUND"]
    assert apart["errors"][0]["extensions"]["reason"] == "disconnected"
    assert "island" in apart["errors"][0]["message"]

    no_nic = await gql(api, PATH, **{"from": "a", "to": "b", "role": "STORAGE"})
    assert codes(no_nic) == ["NOT_FOUND"]
    assert no_nic["errors"][0]["extensions"]["reason"] == "no_nic"

    same = await gql(api, PATH, **{"from": "a", "to": "a"})
    assert codes(same) == ["INVALID_INPUT"]
    assert all("Traceback" not in e["message"] for e in unknown["errors"] + apart["errors"] + same["errors"])


async def test_the_neighborhood_of_a_node(api: httpx.AsyncClient, store: GraphStore) -> None:
    await import_inventory(store, tiny_fabric())
    hood = (await gql(api, NEIGHBORHOOD, name="a"))["data"]["neighborhood"]
    assert hood["center"] == {"label": "Node", "key": "a"}
    assert hood["truncated"] is False
    assert [(v["label"], v["key"], v["distance"]) for v in hood["vertices"]] == [
        ("Node", "a", 0),
        ("GPU", "GPU-a", 1),
        ("NIC", "a/rail0", 1),
        ("Rack", "r1", 1),
    ]
    assert {(e["type"], e["sourceLabel"], e["source"], e["targetLabel"], e["target"]) for e in hood["edges"]} == {
        ("HAS_GPU", "Node", "a", "GPU", "GPU-a"),
        ("HAS_NIC", "Node", "a", "NIC", "a/rail0"),
        ("HOLDS", "Rack", "r1", "Node", "a"),
    }


async def test_a_neighborhood_carries_cable_speeds_and_truncates(api: httpx.AsyncClient, store: GraphStore) -> None:
    await import_inventory(store, tiny_fabric())
    hood = (await gql(api, NEIGHBORHOOD, name="spine-1/swp2"))["data"]["neighborhood"]
    cabled = [e for e in hood["edges"] if e["type"] == "CABLED"]
    assert cabled == [
        {
            "type": "CABLED",
            "source": "leaf-2/swp49",
            "sourceLabel": "Port",
            "target": "spine-1/swp2",
            "targetLabel": "Port",
            "speedGbps": 200.0,
        }
    ]
    big = (await gql(api, NEIGHBORHOOD, name="r1", depth=2, limit=5))["data"]["neighborhood"]
    assert big["truncated"] is True
    assert len(big["vertices"]) == 5
    listed = {(v["label"], v["key"]) for v in big["vertices"]}
    assert all(
        (e["sourceLabel"], e["source"]) in listed and (e["targetLabel"], e["target"]) in listed for e in big["edges"]
    )


async def test_neighborhood_errors_are_typed(api: httpx.AsyncClient, store: GraphStore) -> None:
    await import_inventory(store, tiny_fabric())
    assert codes(await gql(api, NEIGHBORHOOD, name="nope")) == ["NOT_FOUND"]
    assert codes(await gql(api, NEIGHBORHOOD, name="a", depth=5)) == ["INVALID_INPUT"]
    assert codes(await gql(api, NEIGHBORHOOD, name="a", depth=0)) == ["INVALID_INPUT"]
    assert codes(await gql(api, NEIGHBORHOOD, name="a", label="Tenant")) == ["INVALID_INPUT"]
    rack = (await gql(api, NEIGHBORHOOD, name="r1", label="Rack"))["data"]["neighborhood"]
    assert rack["center"] == {"label": "Rack", "key": "r1"}
