"""Reads against the real agent (snmpsim), over SNMPv2c and SNMPv3 (SHA + AES): ports, counters,
LLDP neighbours and VLAN state of the test leaf (see `snmp_switches.py`), and what the vendor
profiles change."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from snmp_agent import Agent

from metalgraph.drivers.errors import MalformedResponse, Unsupported
from metalgraph.drivers.snmp import SnmpSwitch
from metalgraph.drivers.types import LldpNeighbour, PortCounters, PortInfo, SwitchportMode, VlanState

ACCESS, TRUNK, ROUTED = SwitchportMode.ACCESS, SwitchportMode.TRUNK, SwitchportMode.ROUTED
LEAF_VLANS = {
    "eth0": VlanState(ROUTED),
    "swp1": VlanState(ACCESS, access_vlan=10),
    "swp2": VlanState(ACCESS, access_vlan=10),
    "swp3": VlanState(ACCESS, access_vlan=20),
    "swp4": VlanState(ACCESS, access_vlan=20),
    "swp5": VlanState(ACCESS, access_vlan=30),
    "swp6": VlanState(ACCESS, access_vlan=10),
    "swp7": VlanState(ACCESS, access_vlan=20),
    "swp8": VlanState(ACCESS, access_vlan=100),
    "swp9": VlanState(TRUNK, native_vlan=1, allowed_vlans=(10, 20, 100, 200)),
    "swp10": VlanState(TRUNK, native_vlan=None, allowed_vlans=(100, 200)),
    "swp11": VlanState(ROUTED),
    "swp12": VlanState(ROUTED),
}
LEAF_NEIGHBOURS = [
    LldpNeighbour("eth0", "44:38:39:ff:00:01", "oob-mgmt-switch", "swp14", "swp14"),
    LldpNeighbour("swp1", "0c:42:a1:00:01:01", "gpu01", "0c:42:a1:5e:01:00", "enp65s0f0np0"),
    LldpNeighbour("swp2", "0c:42:a1:00:01:02", "gpu02", "0c:42:a1:5e:02:00", "enp65s0f0np0"),
    LldpNeighbour("swp3", "b8:ce:f6:00:03:01", "stor01", "ens1f0", "ens1f0"),
    LldpNeighbour("swp9", "3c:ec:ef:00:09:01", "hv01", "3c:ec:ef:00:09:10", "eno1"),
    LldpNeighbour("swp11", "44:38:39:00:00:51", "spine01", "swp1", "to leaf01"),
    LldpNeighbour("swp12", "44:38:39:00:00:52", "spine02", "swp1", "to leaf01"),
]


@dataclass(frozen=True)
class Reads:
    ports: list[PortInfo]
    counters: dict[str, PortCounters]
    neighbours: list[LldpNeighbour]
    states: dict[str, VlanState]
    one_by_one: dict[str, VlanState]


@pytest.fixture(scope="module", params=["v2c", "v3"])
async def leaf(request: pytest.FixtureRequest, snmp_agent: Agent) -> Reads:
    """Everything the driver reads from the leaf through the generic profile, once per SNMP version."""
    config = snmp_agent.v2c("leaf") if request.param == "v2c" else snmp_agent.v3("leaf")
    async with SnmpSwitch(config) as switch:
        return Reads(
            ports=await switch.get_ports(),
            counters=await switch.get_counters(),
            neighbours=await switch.get_lldp_neighbours(),
            states=await switch.get_vlan_states(),
            one_by_one={name: await switch.get_vlan_state(name) for name in ("swp4", "swp9", "swp11")},
        )


def test_ports(leaf: Reads) -> None:
    ports = leaf.ports
    assert [port.name for port in ports] == ["eth0", *(f"swp{n}" for n in range(1, 13))]  # not lo, bridge, vlan10
    by_name = {port.name: port for port in ports}
    swp1, swp6, swp7, swp11, eth0 = (by_name[name] for name in ("swp1", "swp6", "swp7", "swp11", "eth0"))
    assert (swp1.index, swp1.description, swp1.speed_gbps, swp1.mtu) == (3, "gpu01 nic0", 100.0, 9216)
    assert (swp1.admin_up, swp1.oper_up, swp1.mode) == (True, True, ACCESS)
    assert (swp6.admin_up, swp6.oper_up) == (False, False)
    assert (swp7.admin_up, swp7.oper_up) == (True, False)
    assert (swp11.speed_gbps, swp11.mode) == (400.0, ROUTED)
    assert (eth0.speed_gbps, eth0.mtu, eth0.mode) == (1.0, 1500, ROUTED)
    assert by_name["swp9"].mode == by_name["swp10"].mode == TRUNK
    assert by_name["swp3"].counters == PortCounters(in_errors=17, out_errors=0, in_discards=3, out_discards=0)


def test_counters(leaf: Reads) -> None:
    assert leaf.counters["swp7"] == PortCounters(out_errors=2)
    assert leaf.counters["swp11"] == PortCounters(out_discards=120)
    assert leaf.counters["swp1"] == PortCounters()
    assert set(leaf.counters) == {port.name for port in leaf.ports}


def test_lldp_neighbours_on_local_port_names(leaf: Reads) -> None:
    assert leaf.neighbours == LEAF_NEIGHBOURS


def test_vlan_states(leaf: Reads) -> None:
    assert leaf.states == LEAF_VLANS
    assert leaf.one_by_one == {name: LEAF_VLANS[name] for name in ("swp4", "swp9", "swp11")}


async def test_current_table_when_the_static_one_is_absent(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf-current")) as switch:
        assert await switch.get_vlan_states() == LEAF_VLANS


async def test_cumulus_profile_keeps_only_front_panel_ports(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf", vendor="cumulus")) as switch:
        ports = await switch.get_ports()
        states = await switch.get_vlan_states()
        neighbours = await switch.get_lldp_neighbours()
    assert [port.name for port in ports] == [f"swp{n}" for n in range(1, 13)]
    assert states == {name: state for name, state in LEAF_VLANS.items() if name != "eth0"}
    assert neighbours == LEAF_NEIGHBOURS  # eth0's neighbour is still reported: it is an interface


async def test_arista_profile_maps_lldp_by_port_id(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("arista", vendor="arista-eos")) as switch:
        ports = await switch.get_ports()
        neighbours = await switch.get_lldp_neighbours()
        states = await switch.get_vlan_states()
    assert [(port.name, port.index) for port in ports] == [
        ("Ethernet1", 1),
        ("Ethernet2", 2),
        ("Ethernet3", 3),
        ("Ethernet4", 4),
        ("Ethernet49/1", 49001),
        ("Ethernet50/1", 50001),
        ("Port-Channel10", 1000010),
    ]
    assert [(n.local_port, n.system_name, n.port_id) for n in neighbours] == [
        ("Ethernet1", "gpu11", "0c:42:a1:5e:11:00"),
        ("Ethernet49/1", "spine01", "swp3"),
        ("Ethernet50/1", "spine02", "swp3"),
        ("Management1", "oob-mgmt-switch", "swp15"),
    ]
    assert states["Ethernet4"] == VlanState(TRUNK, native_vlan=1, allowed_vlans=(10,))
    assert states["Port-Channel10"] == VlanState(TRUNK, native_vlan=None, allowed_vlans=(10, 20))
    assert states["Ethernet49/1"] == VlanState(ROUTED)


async def test_generic_profile_cannot_map_eos_lldp_port_numbers(snmp_agent: Agent) -> None:
    """EOS numbers LLDP ports itself: read as ifIndex, port 5 (Ethernet49/1) is no interface."""
    async with SnmpSwitch(snmp_agent.v2c("arista")) as switch:
        with pytest.raises(MalformedResponse) as caught:
            await switch.get_lldp_neighbours()
    assert caught.value.field == "LLDP-MIB::lldpRemChassisId.4210.5.1"
    assert "local port 5 is no ifIndex" in str(caught.value)


async def test_profile_fields_can_be_overridden_per_device(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("arista", lldp_local_port="port_desc")) as switch:
        neighbours = await switch.get_lldp_neighbours()
    assert [n.local_port for n in neighbours] == ["Ethernet1", "Ethernet49/1", "Ethernet50/1", "Management1"]


async def test_an_agent_without_bridge_mibs(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("bare")) as switch:
        ports = await switch.get_ports()
        assert {port.mode for port in ports} == {ROUTED}
        with pytest.raises(Unsupported, match="no VLAN table"):
            await switch.get_vlan_state("swp1")
        with pytest.raises(Unsupported, match="LLDP-MIB"):
            await switch.get_lldp_neighbours()
        with pytest.raises(Unsupported):
            await switch.set_access_vlan("swp1", 10)


async def test_unknown_port_name(snmp_agent: Agent) -> None:
    async with SnmpSwitch(snmp_agent.v2c("leaf")) as switch:
        with pytest.raises(MalformedResponse) as caught:
            await switch.get_vlan_state("swp99")
    assert caught.value.field == "port"
