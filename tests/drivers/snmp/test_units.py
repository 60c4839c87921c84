"""Pure parts of the SNMP driver: settings, vendor profiles, OID names, the VLAN state derivation
and the SET plan (no agent needed)."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from pysnmp.hlapi.v3arch.asyncio.auth import CommunityData, UsmUserData

from metalgraph.drivers.errors import AuthenticationFailed, ChangeRejected, Unsupported
from metalgraph.drivers.snmp import SnmpSwitch, oids, profiles
from metalgraph.drivers.snmp.qbridge import Membership, VlanRow
from metalgraph.drivers.snmp.settings import parse_settings
from metalgraph.drivers.snmp.vendors import profile_for
from metalgraph.drivers.snmp.vlanwrite import Wanted, plan
from metalgraph.drivers.types import Credentials, DeviceConfig, SwitchportMode, VlanState

V2C = Credentials(community="s3cret-community")


def test_registered_as_the_snmp_switch_driver() -> None:
    (entry,) = [ep for ep in entry_points(group="metalgraph.drivers.switch") if ep.name == "snmp"]
    assert entry.load() is SnmpSwitch
    assert SnmpSwitch.name == "snmp"


@pytest.mark.parametrize(
    ("address", "host", "port", "ipv6"),
    [
        ("udp:10.0.1.2:1161", "10.0.1.2", 1161, False),
        ("127.0.0.1:161", "127.0.0.1", 161, False),
        ("leaf01.example.net", "leaf01.example.net", 161, False),
        ("udp6:[fd00::2]:1161", "fd00::2", 1161, True),
        ("[fd00::2]", "fd00::2", 161, True),
    ],
)
def test_addresses(address: str, host: str, port: int, ipv6: bool) -> None:
    settings = parse_settings(DeviceConfig(address, V2C))
    assert (settings.host, settings.port, settings.ipv6) == (host, port, ipv6)


def test_bad_address_and_version() -> None:
    with pytest.raises(Unsupported):
        parse_settings(DeviceConfig("https://leaf01", V2C))
    with pytest.raises(Unsupported, match="version"):
        parse_settings(DeviceConfig("leaf01", V2C, {"version": "1"}))


def test_v2c_and_v3_auth() -> None:
    v2c = parse_settings(DeviceConfig("leaf01", V2C))
    assert isinstance(v2c.auth, CommunityData) and v2c.version == "2c"
    creds = Credentials(username="ops", auth_key="authkey-123", priv_key="privkey-123")
    v3 = parse_settings(DeviceConfig("leaf01", creds, {"auth_protocol": "sha256", "priv_protocol": "aes256"}))
    assert isinstance(v3.auth, UsmUserData) and v3.version == "3"  # version 3 implied by the username
    assert v3.auth.security_level == "authPriv"
    assert "authkey-123" not in repr(v3) and "s3cret" not in repr(v2c)
    other_keys = Credentials(username="ops", auth_key="authkey-456", priv_key="privkey-123")
    assert parse_settings(DeviceConfig("leaf01", other_keys)).engine_identity != v3.engine_identity
    auth_only = parse_settings(DeviceConfig("leaf01", Credentials(username="ops", auth_key="authkey-123")))
    assert isinstance(auth_only.auth, UsmUserData) and auth_only.auth.security_level == "authNoPriv"


def test_missing_credentials_and_unknown_protocols() -> None:
    with pytest.raises(AuthenticationFailed, match="community"):
        parse_settings(DeviceConfig("leaf01", Credentials(), {"version": "2c"}))
    creds = Credentials(username="ops", auth_key="authkey-123")
    with pytest.raises(Unsupported, match="auth_protocol"):
        parse_settings(DeviceConfig("leaf01", creds, {"auth_protocol": "sha3"}))


def test_timeouts_split_the_budget() -> None:
    settings = parse_settings(DeviceConfig("leaf01", V2C, {"retries": 3}, timeout_s=4.0))
    assert (settings.retries, settings.request_timeout_s) == (3, 1.0)


def test_profiles() -> None:
    assert {"generic", "cumulus", "arista-eos", "cisco-nxos"} <= set(profiles())
    assert profile_for({}).name == "generic"
    nxos = profile_for({"vendor": "cisco-nxos"})
    assert (nxos.port_name, nxos.lldp_local_port, nxos.vlan_writable) == ("ifDescr", "port_desc", False)
    assert nxos.is_port("Ethernet1/1", 6) and not nxos.is_port("mgmt0", 6)
    assert profile_for({"vendor": "cumulus", "vlan_writable": True}).vlan_writable is True
    generic = profile_for({})
    assert generic.is_port("eth0", 6) and not generic.is_port("lo", 24)


def test_bad_profiles() -> None:
    with pytest.raises(Unsupported, match="known: arista-eos, cisco-nxos, cumulus, generic"):
        profile_for({"vendor": "junos"})
    with pytest.raises(Unsupported, match="lldp_local_port"):
        profile_for({"lldp_local_port": "magic"})


def test_oid_labels() -> None:
    assert oids.IF_HIGH_SPEED.label((7,)) == "IF-MIB::ifHighSpeed.7"
    assert (
        oids.label_of((1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 3, 1, 4, 20)) == "Q-BRIDGE-MIB::dot1qVlanStaticUntaggedPorts.20"
    )
    assert oids.label_of((1, 3, 6, 1, 4, 1, 99)) == "1.3.6.1.4.1.99"


def _membership() -> Membership:
    """Bridge ports 1-4: 1 access 10, 2 trunk native 1 tagged 10 20, 3 tagged 20 (PVID 1), 4 no VLAN."""
    rows = {
        1: VlanRow(1, egress=b"\x40", untagged=b"\x40"),
        10: VlanRow(10, egress=b"\xc0", untagged=b"\x80"),
        20: VlanRow(20, egress=b"\x60", untagged=b"\x00"),
        30: VlanRow(30, egress=b"\x00", untagged=b"\x00"),
    }
    return Membership("static", rows, pvids={1: 10, 2: 1, 3: 1, 4: 1}, bridge_ports={101: 1, 102: 2, 103: 3, 104: 4})


def test_state_derivation() -> None:
    membership = _membership()
    assert membership.state(1) == VlanState(SwitchportMode.ACCESS, access_vlan=10)
    assert membership.state(2) == VlanState(SwitchportMode.TRUNK, native_vlan=1, allowed_vlans=(10, 20))
    assert membership.state(3) == VlanState(SwitchportMode.TRUNK, native_vlan=None, allowed_vlans=(20,))
    assert membership.state(4) == VlanState(SwitchportMode.ACCESS, access_vlan=None)


def test_a_port_untagged_in_two_vlans_shows_the_other() -> None:
    """Untagged in tenant VLAN 100 and in 4000 (its PVID): VLAN 100's frames reach the host."""
    rows = {100: VlanRow(100, egress=b"\x80", untagged=b"\x80"), 4000: VlanRow(4000, egress=b"\x80", untagged=b"\x80")}
    membership = Membership("static", rows, pvids={1: 4000}, bridge_ports={101: 1})
    assert membership.state(1) == VlanState(SwitchportMode.ACCESS, access_vlan=4000, untagged_vlans=(100,))
    assert membership.state(1) != VlanState(SwitchportMode.ACCESS, access_vlan=4000), "not a sound access port"
    rows[200] = VlanRow(200, egress=b"\x80", untagged=b"\x00")  # tagged in 200 too: a trunk, native 4000
    trunk = Membership("static", rows, pvids={1: 4000}, bridge_ports={101: 1}).state(1)
    assert trunk == VlanState(SwitchportMode.TRUNK, native_vlan=4000, allowed_vlans=(200,), untagged_vlans=(100,))


def _names(step: list) -> list[str]:
    return [oids.label_of(oid) for oid, _ in step]


def test_plan_orders_joins_pvid_then_leaves() -> None:
    steps = plan(_membership(), 1, Wanted.access(30), "leaf")
    assert [_names(step) for step in steps] == [
        ["Q-BRIDGE-MIB::dot1qVlanStaticEgressPorts.30", "Q-BRIDGE-MIB::dot1qVlanStaticUntaggedPorts.30"],
        ["Q-BRIDGE-MIB::dot1qPvid.1"],
        ["Q-BRIDGE-MIB::dot1qVlanStaticUntaggedPorts.10", "Q-BRIDGE-MIB::dot1qVlanStaticEgressPorts.10"],
    ]
    joined, pvid, left = steps
    assert [bytes(value) for _, value in joined] == [b"\x80", b"\x80"]
    assert int(pvid[0][1]) == 30
    assert [bytes(value) for _, value in left] == [b"\x00", b"\x40"]  # port 2 keeps its bit in VLAN 10


def test_plan_is_empty_when_nothing_changes() -> None:
    assert plan(_membership(), 1, Wanted.access(10), "leaf") == []
    assert plan(_membership(), 2, Wanted.trunk([20, 10], native=1), "leaf") == []
    assert plan(_membership(), 3, Wanted.trunk([20], native=None), "leaf") == []


def test_plan_refuses_unknown_vlans() -> None:
    with pytest.raises(ChangeRejected, match="VLAN 40 is not configured"):
        plan(_membership(), 1, Wanted.access(40), "leaf")
    with pytest.raises(ChangeRejected, match="outside"):
        plan(_membership(), 1, Wanted.trunk([4095], native=None), "leaf")
