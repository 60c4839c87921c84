"""Failures against the real agent, each mapped to the driver error family: wrong credentials,
no agent, a deadline, and recordings with holes or values of the wrong type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from snmp_agent import AUTH_KEY, PRIV_KEY, Agent

from metalgraph.drivers.errors import AuthenticationFailed, DeviceTimeout, DeviceUnreachable, MalformedResponse
from metalgraph.drivers.snmp import SnmpSwitch
from metalgraph.drivers.types import Credentials, DeviceConfig

FAST_FAIL = {"request_timeout_s": 0.3, "retries": 0}


async def test_wrong_community_is_a_timeout(snmp_agent: Agent) -> None:
    """SNMPv2c agents drop requests with an unknown community: indistinguishable from no agent."""
    async with SnmpSwitch(snmp_agent.v2c("not-the-community", **FAST_FAIL)) as switch:
        with pytest.raises(DeviceTimeout) as caught:
            await switch.get_ports()
    assert "not-the-community" not in str(caught.value)


async def test_no_agent_on_the_port_is_a_timeout() -> None:
    config = DeviceConfig("udp:127.0.0.1:9", Credentials(community="leaf"), {"version": "2c", **FAST_FAIL})
    async with SnmpSwitch(config) as switch:
        with pytest.raises(DeviceTimeout):
            await switch.get_lldp_neighbours()


async def test_unresolvable_host_is_unreachable() -> None:
    config = DeviceConfig("udp:leaf01.invalid:161", Credentials(community="leaf"), {"version": "2c"})
    async with SnmpSwitch(config) as switch:
        with pytest.raises(DeviceUnreachable, match=r"leaf01\.invalid"):
            await switch.get_ports()


@pytest.mark.parametrize(
    ("username", "auth_key", "priv_key"),
    [
        ("ops", "wrong-authkey-1", PRIV_KEY),  # usmStatsWrongDigests
        ("nobody", AUTH_KEY, PRIV_KEY),  # usmStatsUnknownUserNames
        ("ops", AUTH_KEY, "wrong-privkey-1"),  # usmStatsDecryptionErrors
    ],
    ids=["wrong-auth-key", "unknown-user", "wrong-priv-key"],
)
async def test_v3_refusals_are_authentication_failures(
    snmp_agent: Agent, username: str, auth_key: str, priv_key: str
) -> None:
    credentials = Credentials(username=username, auth_key=auth_key, priv_key=priv_key)
    config = DeviceConfig(snmp_agent.address, credentials, {"version": "3", "context": "leaf", **FAST_FAIL})
    async with SnmpSwitch(config) as switch:
        with pytest.raises(AuthenticationFailed) as caught:
            await switch.get_ports()
    assert auth_key not in str(caught.value) and priv_key not in str(caught.value)


def test_v3_without_its_keys_is_an_authentication_failure() -> None:
    config = DeviceConfig("udp:127.0.0.1:161", Credentials(username="ops"), {"version": "3", "auth_protocol": "sha"})
    with pytest.raises(AuthenticationFailed, match="auth_key"):
        SnmpSwitch(config)


async def test_a_call_past_its_deadline_is_a_timeout(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf", timeout_s=0.001)) as switch:
        with pytest.raises(DeviceTimeout, match="did not finish"):
            await switch.get_vlan_states()


def _call(name: str) -> Callable[[SnmpSwitch], Awaitable[Any]]:
    return lambda switch: getattr(switch, name)()


@pytest.mark.parametrize(
    ("recording", "options", "call", "field", "message"),
    [
        ("broken-if-type", {}, "get_ports", "IF-MIB::ifHighSpeed.7", "expected an integer, got OctetString"),
        ("broken-if-hole", {}, "get_counters", "IF-MIB::ifMtu.9", "missing"),
        ("broken-pvid", {}, "get_vlan_states", "Q-BRIDGE-MIB::dot1qPvid.3", "expected an integer"),
        ("broken-vlan", {}, "get_vlan_states", "Q-BRIDGE-MIB::dot1qVlanStaticUntaggedPorts.20", "[12]"),
        ("broken-lldp", {}, "get_lldp_neighbours", "LLDP-MIB::lldpRemChassisId.4210.4.1", "5 octets"),
        ("leaf", {"portlist_octets": 2}, "get_vlan_states", "Q-BRIDGE-MIB::dot1qVlanStaticEgressPorts.1", "4 octets"),
    ],
    ids=["wrong-type", "hole", "pvid-type", "untagged-not-egress", "short-mac", "portlist-length"],
)
async def test_malformed_tables_name_the_object(
    snmp_agent: Agent, recording: str, options: dict[str, Any], call: str, field: str, message: str
) -> None:
    async with SnmpSwitch(snmp_agent.v2c(recording, **options)) as switch:
        with pytest.raises(MalformedResponse) as caught:
            await _call(call)(switch)
    assert caught.value.field == field
    assert message in str(caught.value)
    assert caught.value.device == snmp_agent.address
