"""Provider inventory mutations over HTTP, on both stores: create, update, delete, and their refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import ADMIN_TOKEN
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.inventory.service import export_inventory, import_inventory, plan_import
from metalgraph.server.store.base import GraphStore

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def gql(
    api: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *, token: bool = True
) -> dict[str, Any]:
    response = await api.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=AUTH if token else {}
    )
    assert response.status_code != 500, response.text
    body = response.json()
    assert "Traceback" not in response.text
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert not body.get("errors"), body["errors"]
    return body["data"]


@pytest.fixture
async def loaded(store: GraphStore, small_inventory: Inventory) -> GraphStore:
    """The small inventory: site bu, rack r1, leaf1 (swp1..3), spine1 (swp1), node n1 (GPU-a, GPU-b; ib0 on
    leaf1/swp1), and a link leaf1/swp3 -- spine1/swp1."""
    await import_inventory(store, small_inventory)
    return store


NODE = """mutation($node: NodeInput!) { createNode(node: $node) { name state gpus { uuid }
  nics { name port { name switch { name } } linkSpeedGbps } rack { name site { name } } } }"""
UPDATE_NODE = """mutation($node: NodeInput!) { updateNode(node: $node) { name state memoryGb gpus { uuid index } } }"""
NODE_Q = """query($name: String!) { node(name: $name) { name state health gpus { uuid }
  nics { name port { name } } } }"""


def n2(**overrides: Any) -> dict[str, Any]:
    node = {
        "name": "n2",
        "rack": "r1",
        "u": 12,
        "memoryGb": 1024,
        "cpuCores": 64,
        "gpus": [
            {"index": 0, "uuid": "GPU-c", "model": "H100", "memoryGb": 80},
            {"index": 1, "uuid": "GPU-d", "model": "H100", "memoryGb": 80},
        ],
        "nics": [
            {
                "name": "ib0",
                "mac": "02:00:00:00:00:02",
                "speedGbps": 200,
                "rail": 0,
                "port": {"switch": "leaf1", "port": "swp2"},
            }
        ],
        "nvlinks": [{"a": 0, "b": 1, "links": 18}],
        "pcie": [{"gpu": 0, "nic": "ib0", "path": "PIX"}],
    }
    return {**node, **overrides}


async def test_build_an_inventory_from_scratch_then_query_it_back(api: httpx.AsyncClient, store: GraphStore) -> None:
    ok(
        await gql(
            api,
            'mutation { createSite(site: {name: "mghpcc", country: "US", certifications: ["HIPAA"]}) '
            "{ name certifications } }",
        )
    )
    ok(await gql(api, 'mutation { createRack(rack: {name: "r9", site: "mghpcc", row: "B"}) { name site { name } } }'))
    switch = ok(
        await gql(
            api,
            """mutation { createSwitch(switch: {name: "leaf1", rack: "r9", role: LEAF,
        ports: [{name: "swp1", index: 1, speedGbps: 400}, {name: "swp2", index: 2, speedGbps: 400}]})
        { name role ports { name } rack { name } } }""",
        )
    )
    assert [p["name"] for p in switch["createSwitch"]["ports"]] == ["swp1", "swp2"]
    created = ok(await gql(api, NODE, {"node": n2(rack="r9")}))["createNode"]
    assert created["state"] == "AVAILABLE"
    assert created["rack"] == {"name": "r9", "site": {"name": "mghpcc"}}
    assert created["nics"] == [
        {"name": "ib0", "port": {"name": "swp2", "switch": {"name": "leaf1"}}, "linkSpeedGbps": 200.0}
    ]
    ok(
        await gql(
            api,
            """mutation { createSwitch(switch: {name: "spine1", rack: "r9", role: SPINE,
        ports: [{name: "swp1", index: 1, speedGbps: 800}]}) { name } }""",
        )
    )
    link = ok(
        await gql(
            api,
            """mutation { createLink(link: {a: {switch: "leaf1", port: "swp1"},
        b: {switch: "spine1", port: "swp1"}, speedGbps: 400}) { a { name switch { name } } b { peer { name } } } }""",
        )
    )
    assert link["createLink"]["b"]["peer"]["name"] == "swp1"

    queried = ok(await gql(api, NODE_Q, {"name": "n2"}))["node"]
    assert sorted(g["uuid"] for g in queried["gpus"]) == ["GPU-c", "GPU-d"]
    # What the mutations wrote is a valid inventory: exporting and re-importing it changes nothing.
    assert (await plan_import(store, await export_inventory(store))).empty


async def test_mutations_need_a_provider_admin_and_write_nothing_without_one(api: httpx.AsyncClient) -> None:
    # Without credentials a loopback caller reads as provider-viewer: it may look, not change.
    body = await gql(api, 'mutation { createSite(site: {name: "x1"}) { name } }', token=False)
    assert codes(body) == ["FORBIDDEN"]
    response = await api.post(
        "/graphql",
        json={"query": 'mutation { createSite(site: {name: "x1"}) { name } }'},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert ok(await gql(api, '{ site(name: "x1") { name } }'))["site"] is None


async def test_create_with_a_taken_name_is_already_exists(api: httpx.AsyncClient, loaded: GraphStore) -> None:
    body = await gql(api, 'mutation { createSite(site: {name: "bu"}) { name } }')
    assert codes(body) == ["ALREADY_EXISTS"]
    assert "bu" in body["errors"][0]["message"]
    body = await gql(api, NODE, {"node": n2(name="n1")})
    assert codes(body) == ["ALREADY_EXISTS"]
    body = await gql(
        api,
        NODE,
        {"node": n2(gpus=[{"index": 0, "uuid": "GPU-a", "model": "H100", "memoryGb": 80}], nvlinks=[], pcie=[])},
    )
    assert codes(body) == ["ALREADY_EXISTS"]
    assert body["errors"][0]["extensions"]["problems"][0]["path"] == "node.gpus[0].uuid"
    assert ok(await gql(api, NODE_Q, {"name": "n2"}))["node"] is None


async def test_update_of_a_missing_entity_is_not_found(api: httpx.AsyncClient, loaded: GraphStore) -> None:
    assert codes(await gql(api, 'mutation { updateSite(site: {name: "nowhere"}) { name } }')) == ["NOT_FOUND"]
    assert codes(await gql(api, UPDATE_NODE, {"node": n2(name="ghost")})) == ["NOT_FOUND"]
    assert codes(await gql(api, 'mutation { setNodeStatus(name: "ghost", state: FAILED) { name } }')) == ["NOT_FOUND"]
    deleted = ok(await gql(api, 'mutation { deleteNode(name: "ghost") { deleted name } }'))
    assert deleted["deleteNode"] == {"deleted": False, "name": "ghost"}


async def test_node_cabled_to_an_unknown_port_is_invalid_and_writes_nothing(
    api: httpx.AsyncClient, loaded: GraphStore
) -> None:
    nics = [{"name": "ib0", "mac": "02:00:00:00:00:02", "speedGbps": 400, "port": {"switch": "leaf1", "port": "swp9"}}]
    body = await gql(api, NODE, {"node": n2(nics=nics)})
    assert codes(body) == ["INVALID_INPUT"]
    assert "leaf1/swp9" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["problems"][0]["path"] == "node.nics[0].port"
    assert ok(await gql(api, NODE_Q, {"name": "n2"}))["node"] is None
    assert ok(await gql(api, '{ gpu(uuid: "GPU-c") { uuid } }'))["gpu"] is None


async def test_node_cabled_to_a_used_port_is_in_use_and_writes_nothing(
    api: httpx.AsyncClient, loaded: GraphStore
) -> None:
    for port in ("swp1", "swp3"):  # swp1: n1's NIC; swp3: the fabric link to spine1
        nic = {"name": "ib0", "mac": "02:00:00:00:00:02", "speedGbps": 400}
        nics = [{**nic, "port": {"switch": "leaf1", "port": port}}]
        body = await gql(api, NODE, {"node": n2(nics=nics)})
        assert codes(body) == ["IN_USE"], body
        assert "already cabled" in body["errors"][0]["message"]
    assert (
        "n1"
        in (await gql(api, NODE, {"node": n2(nics=[{**nics[0], "port": {"switch": "leaf1", "port": "swp1"}}])}))[
            "errors"
        ][0]["message"]
    )
    assert ok(await gql(api, NODE_Q, {"name": "n2"}))["node"] is None
    port = ok(await gql(api, '{ switch(name: "leaf1") { ports { name nic { name node { name } } } } }'))
    assert port["switch"]["ports"][0] == {"name": "swp1", "nic": {"name": "ib0", "node": {"name": "n1"}}}


async def test_deleting_what_is_in_use_is_refused(api: httpx.AsyncClient, loaded: GraphStore) -> None:
    body = await gql(api, 'mutation { deleteRack(name: "r1") { deleted } }')
    assert codes(body) == ["IN_USE"]
    assert "node n1" in body["errors"][0]["message"]
    body = await gql(api, 'mutation { deleteSite(name: "bu") { deleted } }')
    assert codes(body) == ["IN_USE"]
    body = await gql(api, 'mutation { deleteSwitch(name: "leaf1") { deleted } }')
    assert codes(body) == ["IN_USE"]
    assert "NIC ib0 of node n1" in body["errors"][0]["message"]
    assert ok(await gql(api, '{ rack(name: "r1") { name } }'))["rack"] == {"name": "r1"}


async def test_delete_node_takes_its_gpus_nics_and_cables(api: httpx.AsyncClient, loaded: GraphStore) -> None:
    ok(await gql(api, 'mutation { setNodeStatus(name: "n1", state: ALLOCATED) { state } }'))
    assert codes(await gql(api, 'mutation { deleteNode(name: "n1") { deleted } }')) == ["IN_USE"]
    ok(await gql(api, 'mutation { setNodeStatus(name: "n1", state: AVAILABLE) { state } }'))
    assert ok(await gql(api, 'mutation { deleteNode(name: "n1") { deleted name } }'))["deleteNode"] == {
        "deleted": True,
        "name": "n1",
    }
    data = ok(await gql(api, '{ gpu(uuid: "GPU-a") { uuid } switch(name: "leaf1") { ports { name nic { name } } } }'))
    assert data["gpu"] is None
    assert [p["nic"] for p in data["switch"]["ports"]] == [None, None, None]
    # Now the switch is free of NICs but still linked to spine1; after the link goes, it can be deleted.
    assert codes(await gql(api, 'mutation { deleteSwitch(name: "leaf1") { deleted } }')) == ["IN_USE"]
    dropped = ok(
        await gql(
            api,
            """mutation { deleteLink(a: {switch: "spine1", port: "swp1"},
                                   b: {switch: "leaf1", port: "swp3"}) { deleted } }""",
        )
    )
    assert dropped["deleteLink"]["deleted"] is True
    assert ok(await gql(api, 'mutation { deleteSwitch(name: "leaf1") { deleted } }'))["deleteSwitch"]["deleted"]


async def test_replacing_a_node_with_fewer_gpus_removes_the_old_ones(
    api: httpx.AsyncClient, loaded: GraphStore
) -> None:
    ok(await gql(api, 'mutation { setNodeStatus(name: "n1", state: MAINTENANCE, health: WARNING) { name } }'))
    node = {
        "name": "n1",
        "rack": "r1",
        "u": 10,
        "memoryGb": 4096,
        "gpus": [{"index": 0, "uuid": "GPU-a", "model": "H100", "memoryGb": 80}],
        "nics": [
            {"name": "ib0", "mac": "02:00:00:00:00:01", "speedGbps": 400, "port": {"switch": "leaf1", "port": "swp2"}}
        ],
    }
    updated = ok(await gql(api, UPDATE_NODE, {"node": node}))["updateNode"]
    assert updated["gpus"] == [{"uuid": "GPU-a", "index": 0}]
    assert updated["memoryGb"] == 4096
    assert updated["state"] == "MAINTENANCE"  # left out: kept, not reset to AVAILABLE
    data = ok(await gql(api, '{ gpu(uuid: "GPU-b") { uuid } node(name: "n1") { health nics { port { name } } } }'))
    assert data["gpu"] is None
    assert data["node"]["health"] == "WARNING"
    assert data["node"]["nics"] == [{"port": {"name": "swp2"}}]  # re-cabled: swp1 is free again
    ports = ok(await gql(api, '{ switch(name: "leaf1") { ports { name nic { name } } } }'))["switch"]["ports"]
    assert [p["nic"] for p in ports] == [None, {"name": "ib0"}, None]
    explicit = ok(await gql(api, UPDATE_NODE, {"node": {**node, "state": "AVAILABLE"}}))["updateNode"]
    assert explicit["state"] == "AVAILABLE"


async def test_replacing_a_switch_keeps_the_cables_of_the_ports_it_keeps(
    api: httpx.AsyncClient, loaded: GraphStore
) -> None:
    ok(await gql(api, NODE, {"node": n2()}))  # ib0 on leaf1/swp2 at 200 Gb/s
    query = """mutation($s: SwitchInput!) { updateSwitch(switch: $s) { name model
        ports { name speedGbps nic { name node { name } } peer { name } } } }"""
    ports = [
        {"name": "swp1", "index": 1, "speedGbps": 100},
        {"name": "swp2", "index": 2, "speedGbps": 400},
        {"name": "swp3", "index": 3, "speedGbps": 400},
        {"name": "swp4", "index": 4, "speedGbps": 400},
    ]
    switch = {"name": "leaf1", "rack": "r1", "role": "LEAF", "model": "SN5600", "ports": ports}
    updated = ok(await gql(api, query, {"s": switch}))["updateSwitch"]
    assert updated["model"] == "SN5600"
    by_name = {p["name"]: p for p in updated["ports"]}
    assert by_name["swp1"]["nic"] == {"name": "ib0", "node": {"name": "n1"}}
    assert by_name["swp2"]["nic"] == {"name": "ib0", "node": {"name": "n2"}}
    assert by_name["swp3"]["peer"] == {"name": "swp1"}
    assert by_name["swp4"]["nic"] is None
    # n1's cable follows its port's new speed (100 Gb/s), so the stored graph still matches the file format.
    speed = ok(await gql(api, '{ node(name: "n1") { nics { linkSpeedGbps } } }'))["node"]["nics"][0]["linkSpeedGbps"]
    assert speed == 100
    assert (await plan_import(loaded, await export_inventory(loaded))).empty

    # Dropping a cabled port is refused, and nothing changes.
    body = await gql(api, query, {"s": {**switch, "model": "other", "ports": ports[1:]}})
    assert codes(body) == ["IN_USE"]
    assert "swp1" in body["errors"][0]["message"]
    assert ok(await gql(api, '{ switch(name: "leaf1") { model } }'))["switch"]["model"] == "SN5600"


async def test_bad_input_names_its_field_and_has_a_code(api: httpx.AsyncClient, loaded: GraphStore) -> None:
    body = await gql(api, NODE, {"node": n2(state="SLEEPING")})  # a variable that does not coerce
    assert codes(body) == ["INVALID_INPUT"]
    assert "$node" in body["errors"][0]["message"] and ".state" in body["errors"][0]["message"]
    body = await gql(api, 'mutation { setNodeStatus(name: "n1", state: SLEEPING) { name } }')  # an inline literal
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "SLEEPING" in body["errors"][0]["message"]

    gpus = [{"index": 0, "uuid": "GPU-c", "model": "H100", "memoryGb": -80}]
    body = await gql(api, NODE, {"node": n2(memoryGb=-1, gpus=gpus, nvlinks=[], pcie=[])})
    assert codes(body) == ["INVALID_INPUT"]
    message = body["errors"][0]["message"]
    assert "node.memoryGb" in message and "node.gpus[0].memoryGb" in message
    paths = {p["path"] for p in body["errors"][0]["extensions"]["problems"]}
    assert paths == {"node.memoryGb", "node.gpus[0].memoryGb"}

    body = await gql(api, NODE, {"node": n2(nvlinks=[{"a": 0, "b": 7}])})
    assert codes(body) == ["INVALID_INPUT"]
    problems = body["errors"][0]["extensions"]["problems"]
    assert problems == [{"path": "node.nvlinks[0].b", "message": "no GPU with index 7"}]

    body = await gql(api, 'mutation { createRack(rack: {name: "r2", site: "atlantis"}) { name } }')
    assert codes(body) == ["INVALID_INPUT"]
    assert "rack.site" in str(body["errors"][0]["extensions"]["problems"])
    body = await gql(api, 'mutation { createSite(site: {name: "bad name!"}) { name } }')
    assert codes(body) == ["INVALID_INPUT"]
    assert "site.name" in body["errors"][0]["message"]
    assert ok(await gql(api, NODE_Q, {"name": "n2"}))["node"] is None


async def test_site_vlan_settings_are_validated_and_stored(api: httpx.AsyncClient, loaded: GraphStore) -> None:
    site_q = "mutation($s: SiteInput!) { createSite(site: $s) { name vlanPool quarantineVlan } }"
    for site, path, words in (
        ({"vlanPool": "100-199,150-250"}, "site.vlanPool", "overlaps"),
        ({"vlanPool": "1-99"}, "site.vlanPool", "outside 2-4094"),
        ({"quarantineVlan": 2000}, "site.quarantineVlan", "inside vlan_pool"),
    ):
        body = await gql(api, site_q, {"s": {"name": "nerc", **site}})
        assert codes(body) == ["INVALID_INPUT"], body
        problems = body["errors"][0]["extensions"]["problems"]
        assert [p["path"] for p in problems] == [path]
        assert words in problems[0]["message"] and path in body["errors"][0]["message"]
    assert ok(await gql(api, '{ site(name: "nerc") { name } }'))["site"] is None

    created = ok(await gql(api, site_q, {"s": {"name": "nerc", "vlanPool": "100-199,300-399", "quarantineVlan": 250}}))
    assert created["createSite"] == {"name": "nerc", "vlanPool": "100-199,300-399", "quarantineVlan": 250}
    defaults = ok(await gql(api, '{ site(name: "bu") { vlanPool quarantineVlan } }'))["site"]
    assert defaults == {"vlanPool": "1000-3999", "quarantineVlan": 4000}


async def test_racks_move_between_sites_and_links_refuse_busy_ports(api: httpx.AsyncClient, loaded: GraphStore) -> None:
    ok(await gql(api, 'mutation { createSite(site: {name: "nerc", country: "US"}) { name } }'))
    moved = ok(await gql(api, 'mutation { updateRack(rack: {name: "r1", site: "nerc"}) { site { name } } }'))
    assert moved["updateRack"]["site"] == {"name": "nerc"}
    sites = ok(
        await gql(api, '{ bu: site(name: "bu") { racks { name } } nerc: site(name: "nerc") { racks { name } } }')
    )
    assert sites == {"bu": {"racks": []}, "nerc": {"racks": [{"name": "r1"}]}}
    assert ok(await gql(api, 'mutation { deleteSite(name: "bu") { deleted } }'))["deleteSite"]["deleted"] is True

    body = await gql(
        api,
        """mutation { createLink(link: {a: {switch: "leaf1", port: "swp1"},
        b: {switch: "leaf1", port: "swp2"}, speedGbps: 400}) { speedGbps } }""",
    )
    assert codes(body) == ["IN_USE"]  # swp1 carries n1's NIC
    assert body["errors"][0]["extensions"]["problems"][0]["path"] == "link.a"
    missing = await gql(
        api,
        """mutation { deleteLink(a: {switch: "leaf1", port: "swp1"},
        b: {switch: "leaf1", port: "swp2"}) { deleted } }""",
    )
    assert ok(missing)["deleteLink"]["deleted"] is False
