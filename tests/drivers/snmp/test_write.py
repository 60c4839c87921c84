"""VLAN changes against the real agent: SETs of Q-BRIDGE port lists and PVIDs, read back.

All writes go to `leaf-rw` (shared by this module: each test changes ports no other test touches,
so the order of the tests does not matter). Refusals use `leaf-ro` (every SET answered
notWritable) and `leaf-ignore` (SETs acknowledged and not applied).
"""

from __future__ import annotations

import pytest
from snmp_agent import Agent

from metalgraph.drivers.errors import ChangeRejected, MalformedResponse, Unsupported
from metalgraph.drivers.snmp import SnmpSwitch
from metalgraph.drivers.types import SwitchportMode, VlanState

ACCESS, TRUNK, ROUTED = SwitchportMode.ACCESS, SwitchportMode.TRUNK, SwitchportMode.ROUTED
UNTOUCHED = {  # no test changes these ports of leaf-rw
    "swp2": VlanState(ACCESS, access_vlan=10),
    "swp6": VlanState(ACCESS, access_vlan=10),
    "swp7": VlanState(ACCESS, access_vlan=20),
    "swp8": VlanState(ACCESS, access_vlan=100),
}


async def test_set_access_vlan_and_read_back_through_a_fresh_driver(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf-rw")) as switch:
        assert await switch.get_vlan_state("swp1") == VlanState(ACCESS, access_vlan=10)
        await switch.set_access_vlan("swp1", 20)
        assert await switch.get_vlan_state("swp1") == VlanState(ACCESS, access_vlan=20)
    async with SnmpSwitch(snmp_agent.v3("leaf-rw")) as fresh:
        states = await fresh.get_vlan_states()
    assert states["swp1"] == VlanState(ACCESS, access_vlan=20)
    assert {name: states[name] for name in UNTOUCHED} == UNTOUCHED


async def test_access_port_becomes_a_trunk_with_a_native_vlan(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v3("leaf-rw")) as switch:
        await switch.set_trunk_vlans("swp5", [20, 10], native=30)
    async with SnmpSwitch(snmp_agent.v2c("leaf-rw")) as fresh:
        assert await fresh.get_vlan_state("swp5") == VlanState(TRUNK, native_vlan=30, allowed_vlans=(10, 20))


async def test_access_port_becomes_a_trunk_without_native_vlan(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf-rw")) as switch:
        await switch.set_trunk_vlans("swp4", [200, 100])
        assert await switch.get_vlan_state("swp4") == VlanState(TRUNK, native_vlan=None, allowed_vlans=(100, 200))


async def test_trunk_becomes_an_access_port(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf-rw")) as switch:
        await switch.set_access_vlan("swp9", 300)
        assert await switch.get_vlan_state("swp9") == VlanState(ACCESS, access_vlan=300)


async def test_trunk_allowed_list_is_replaced_exactly(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf-rw")) as switch:
        assert await switch.get_vlan_state("swp10") == VlanState(TRUNK, allowed_vlans=(100, 200))
        await switch.set_trunk_vlans("swp10", [200, 300], native=1)
        assert await switch.get_vlan_state("swp10") == VlanState(TRUNK, native_vlan=1, allowed_vlans=(200, 300))
        await switch.set_trunk_vlans("swp10", [200, 300], native=1)  # again: nothing to do
        assert await switch.get_vlan_state("swp10") == VlanState(TRUNK, native_vlan=1, allowed_vlans=(200, 300))


async def test_a_trunk_carrying_nothing_leaves_the_port_in_no_vlan(snmp_agent: Agent) -> None:
    """What the cluster lifecycle asks of an uplink when its last tenant VLAN goes."""
    async with SnmpSwitch(snmp_agent.v2c("leaf-rw")) as switch:
        await switch.set_trunk_vlans("swp3", [100, 200])
        await switch.set_trunk_vlans("swp3", [])
    async with SnmpSwitch(snmp_agent.v2c("leaf-rw")) as fresh:
        assert await fresh.get_vlan_state("swp3") == VlanState(ACCESS, access_vlan=None)


async def test_setting_what_is_set_sends_no_set(snmp_agent: Agent) -> None:
    """`leaf-ro` answers every SET notWritable: these succeed only if no SET goes out."""
    async with SnmpSwitch(snmp_agent.v2c("leaf-ro")) as switch:
        await switch.set_access_vlan("swp3", 20)
        await switch.set_trunk_vlans("swp9", [10, 20, 100, 200], native=1)
        await switch.set_trunk_vlans("swp10", [100, 200])


async def test_refused_set_is_change_rejected_naming_the_object(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf-ro")) as switch:
        with pytest.raises(ChangeRejected) as caught:
            await switch.set_access_vlan("swp3", 30)
        assert "Q-BRIDGE-MIB::dot1qVlanStaticEgressPorts.30" in str(caught.value)
        assert "notWritable" in str(caught.value)
        assert await switch.get_vlan_state("swp3") == VlanState(ACCESS, access_vlan=20)


async def test_set_acknowledged_but_not_applied_fails_read_back(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf-ignore")) as switch:
        with pytest.raises(ChangeRejected, match="read-back of swp1 shows access vlan 10, expected access vlan 30"):
            await switch.set_access_vlan("swp1", 30)


async def test_requests_the_switch_cannot_take(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf-rw")) as switch:
        with pytest.raises(ChangeRejected, match="VLAN 999 is not configured"):
            await switch.set_access_vlan("swp8", 999)
        with pytest.raises(ChangeRejected, match="outside"):
            await switch.set_trunk_vlans("swp8", [5000])
        with pytest.raises(Unsupported, match="not a bridge port"):
            await switch.set_access_vlan("swp12", 10)
        with pytest.raises(Unsupported, match="tagged VLAN"):
            await switch.set_trunk_vlans("swp12", [10], native=10)
        with pytest.raises(MalformedResponse) as caught:
            await switch.set_access_vlan("swp99", 10)
        assert caught.value.field == "port"
        assert await switch.get_vlan_state("swp12") == VlanState(ROUTED)
        assert await switch.get_vlan_state("swp8") == UNTOUCHED["swp8"]


async def test_read_only_profiles_and_tables_offer_no_changes(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf-rw", vendor="cumulus")) as switch:
        with pytest.raises(Unsupported, match="takes no VLAN changes"):
            await switch.set_access_vlan("swp1", 10)
    async with SnmpSwitch(snmp_agent.v2c("leaf-current")) as switch:
        with pytest.raises(Unsupported, match="dot1qVlanStaticTable"):
            await switch.set_access_vlan("swp1", 20)
