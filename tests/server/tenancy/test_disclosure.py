"""The one rule for what a tenant reads of the infrastructure: fields by allow-list, text by the same words."""

from __future__ import annotations

import json

from metalgraph.server.audit import AuditEntry
from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.placement import index_from_inventory, load_index
from metalgraph.server.store.base import GraphStore
from metalgraph.server.tenancy.disclosure import TENANT_FIELDS, TenantText, tenant_entry, tenant_text

SWITCH = {
    "key": "leaf-1",
    "name": "leaf-1",
    "role": "leaf",
    "rack": "r1",
    "model": "SN5600",
    "mgmt_address": "10.0.0.1",
    "driver": "snmp",
    "credentials": "leaf-secret",
    "pod": "pod-01",
    "lldp_chassis": "added later",
}


def test_a_tenant_reads_the_listed_properties_only_and_a_new_one_never() -> None:
    assert TENANT_FIELDS.view("Switch", SWITCH, frozenset()) == {
        "key": "leaf-1",
        "name": "leaf-1",
        "role": "leaf",
        "rack": "r1",
    }
    node = {"key": "n1", "name": "n1", "serial": "S1", "bmc_address": "https://10.1.1.1", "bmc_driver": "redfish"}
    assert TENANT_FIELDS.view("Node", node, frozenset()) == {"key": "n1", "name": "n1", "serial": "S1"}
    assert TENANT_FIELDS.view("Network", {"key": "s/5", "vlan_id": 5}, frozenset()) == {"key": "s/5"}


def test_a_port_shows_the_tenant_s_own_vlans_of_its_site_only() -> None:
    trunk = {"key": "leaf-1/up1", "name": "up1", "switch": "leaf-1", "mode": "trunk", "allowed_vlans": [5, 6, 7]}
    assert TENANT_FIELDS.view("Port", trunk, frozenset({6}))["allowed_vlans"] == [6]
    access = {"key": "leaf-1/swp1", "name": "swp1", "switch": "leaf-1", "access_vlan": 5}
    assert "access_vlan" not in TENANT_FIELDS.view("Port", access, frozenset({6}))
    assert TENANT_FIELDS.view("Port", access, frozenset({5}))["access_vlan"] == 5


def _names() -> tuple[TenantText, list[str], list[str], str]:
    inventory = generate_fabric(64)
    index = index_from_inventory(inventory)
    nodes = sorted(n.name for n in inventory.nodes)
    switches = sorted(s.name for s in inventory.switches)
    pods = sorted({s.pod for s in inventory.switches if s.pod})
    return TenantText(index), nodes, switches, pods[0]


def test_text_names_only_what_the_tenant_may_read() -> None:
    rule, nodes, switches, pod = _names()
    mine, theirs = nodes[0], nodes[1]
    text = (
        f"reserved 2 node(s) in 1 spine pod(s) ({pod}); node {theirs} failed: BMC https://10.1.2.3:443: "
        f"timeout; switch {switches[0]} at 10.0.0.7 refused; node {mine} ok; trunk allowed [2001, 3917]; VLAN 3917"
    )
    read = rule.read(text, frozenset({mine}), frozenset({2001}))
    assert pod not in read and theirs not in read and switches[0] not in read
    assert "10." not in read and "https" not in read
    assert f"node {mine} ok" in read and "a spine pod" in read and "a node failed" in read
    assert "allowed [2001, (hidden)]" in read and read.endswith("VLAN (hidden)")
    assert rule.read(text) != text and rule.read("", frozenset()) == ""


def test_digits_inside_a_name_are_not_taken_for_a_vlan_id() -> None:
    rule, *_ = _names()
    text = "1 in an allowed site (site n1ff-east); trunk allowed rack7-leaf; allowed site-2; allowed VLANs [12, 13]"
    read = rule.read(text, frozenset(), frozenset({12}))
    assert read == "1 in an allowed site (site n1ff-east); trunk allowed rack7-leaf; allowed site-2; " + (
        "allowed VLANs [12, (hidden)]"
    )


def _entry(role: str, variables: dict[str, object], detail: str) -> AuditEntry:
    return AuditEntry(1, "2026-01-01T00:00:00+00:00", "x", role, "t", "op", json.dumps(variables), "OK", detail, "", "")


def test_an_audit_entry_reads_like_the_events_and_keeps_the_tenant_s_own_words() -> None:
    rule, nodes, switches, pod = _names()
    system = _entry("system", {"nodes": [nodes[0]], "vlan": 3001}, f"reserved in {pod} on {switches[0]}; VLAN 3001")
    read = tenant_entry(system, rule, frozenset({nodes[0]}), frozenset())
    assert read.detail == "reserved in a spine pod on a switch; VLAN 3001"
    # A name the tenant sent itself comes back as it sent it, whether or not it exists: no oracle.
    own = _entry("tenant-admin", {"remove": [nodes[5]]}, f"NOT_FOUND: node(s) not in cluster 'c': {nodes[5]}")
    assert tenant_entry(own, rule, frozenset(), frozenset()).detail == own.detail
    provider = _entry("provider-admin", {"node": nodes[5]}, "no change")
    assert json.loads(tenant_entry(provider, rule, frozenset(), frozenset()).variables_json) == {"node": "a node"}


def test_every_id_of_a_vlan_list_or_range_is_judged_and_the_hidden_ones_are_not_counted() -> None:
    rule, *_ = _names()
    own = frozenset({100, 101})
    cases = {
        "VLANs 100, 200, 300": "VLANs 100, (hidden)",
        "allowed vlans 100,200": "allowed vlans 100, (hidden)",
        "VLAN ids 200 100 300": "VLAN ids 100, (hidden)",
        "vlan ids: 100 and 300": "vlan ids: 100, (hidden)",
        "allowed [200, 300, 100]": "allowed [100, (hidden)]",
        "allowed_vlans (100, 200) is not sorted": "allowed_vlans (100, (hidden)) is not sorted",
        "allowed 100-101": "allowed 100-101",
        "allowed 100-300": "allowed (hidden)",
        "VLANs 100, 150-160, 101": "VLANs 100, 101, (hidden)",
        "expected allowed [100]": "expected allowed [100]",
        "expected allowed [200]": "expected allowed [(hidden)]",
    }
    assert {text: rule.read(text, frozenset(), own) for text in cases} == cases


def test_a_count_after_a_vlan_id_is_not_taken_for_one() -> None:
    rule, *_ = _names()
    text = "network isolated: 3 port(s) on VLAN 100, 2 trunk port(s) carry it; VLAN 100 is held: 3 switch port(s)"
    assert rule.read(text, frozenset(), frozenset({100})) == text


def test_the_hosts_of_device_addresses_and_dotted_host_names_before_a_colon_are_addresses() -> None:
    inventory = generate_fabric(64)
    index = index_from_inventory(inventory)
    switch = sorted(s.name for s in inventory.switches)[0]
    addresses = ["snmp://leaf1.oob.example.net:161", "bmc-n7:623", "https://[fd00::7]/redfish", f"sim://{switch}"]
    rule = TenantText(index, addresses)
    read = rule.read(
        "leaf1.oob.example.net: read-back of swp49 failed; cannot resolve bmc-n7; "
        "spine9.mgmt.example.org:161: timeout; firmware v1.2.3: ok",
        frozenset({switch}),
        frozenset(),
    )
    assert read == "an address: read-back of swp49 failed; cannot resolve an address; an address: timeout; " + (
        "firmware v1.2.3: ok"
    )
    # A device addressed by its own name (a simulated one) is read as that name: the tenant's switch stays.
    assert rule.read(f"switch {switch} refused", frozenset({switch}), frozenset()) == f"switch {switch} refused"


def test_each_part_of_a_switch_port_key_is_judged_on_its_own() -> None:
    rule, _, switches, _ = _names()
    mine, theirs = switches[0], switches[1]
    read = rule.read(f"ports {theirs}/swp50 and {mine}/swp1 down", frozenset({mine}), frozenset())
    assert read == f"ports a switch/swp50 and {mine}/swp1 down"
    # The tenant's own words keep the parts it named.
    own = _entry("tenant-admin", {"port": f"{theirs}/swp50"}, f"NOT_FOUND: port {theirs}/swp50")
    assert tenant_entry(own, rule, frozenset(), frozenset()).detail == own.detail


async def test_the_rule_reads_the_management_addresses_of_the_store_s_devices(store: GraphStore) -> None:
    inventory = generate_fabric(64)
    first, *rest = inventory.switches
    managed = first.model_copy(update={"mgmt_address": "snmp://core7.oob.example.net:161"})
    await service.import_inventory(store, inventory.model_copy(update={"switches": (managed, *rest)}))
    index = await load_index(store)
    rule = await tenant_text(index, store)
    assert rule.read("cannot resolve core7.oob.example.net", frozenset(), frozenset()) == "cannot resolve an address"
    assert await tenant_text(index, store) is rule, "built once per topology"
