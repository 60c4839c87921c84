"""The switches the SNMP tests talk to, as plain data (rendered into recordings by
`snmp_recordings.py`). The expectations in the tests are written out by hand from this page.

leaf01 (Cumulus-like, bridge port N = swpN, LLDP local port number = ifIndex):

    port   ifIndex  VLANs                                   neighbour
    eth0   2        (routed, management)                    oob-mgmt-switch swp14
    swp1   3        access 10                               gpu01 (NIC MAC port id)
    swp2   4        access 10                               gpu02 (NIC MAC port id)
    swp3   5        access 20, 17 in-errors, 3 in-discards  stor01 ens1f0
    swp4   6        access 20
    swp5   7        access 30
    swp6   8        access 10, admin down
    swp7   9        access 20, oper lowerLayerDown, 2 out-errors
    swp8   10       access 100
    swp9   11       trunk native 1, tagged 10 20 100 200    hv01 (MAC port id)
    swp10  12       trunk tagged 100 200 (PVID 1, no native)
    swp11  13       routed uplink, 400G, 120 out-discards   spine01 swp1
    swp12  14       routed uplink, 400G                     spine02 swp1
    VLAN 300 exists with no members. lo (1), bridge (15), vlan10 (16) are interfaces, not ports.

leaf02 (Arista-EOS-like): Ethernet1-4, Ethernet49/1 (ifIndex 49001), Ethernet50/1 (50001),
Management1 (999001), Port-Channel10 (1000010); LLDP local port numbers 1-7 are EOS's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ETHERNET, LOOPBACK, LAG, SVI, BRIDGE = 6, 24, 161, 136, 209


@dataclass(frozen=True)
class Iface:
    index: int
    name: str
    type: int = ETHERNET
    alias: str = ""
    descr: str = ""
    admin: int = 1
    oper: int = 1
    mbps: int = 100_000
    mtu: int = 9216
    in_errors: int = 0
    out_errors: int = 0
    in_discards: int = 0
    out_discards: int = 0


@dataclass(frozen=True)
class Neighbour:
    local_port: int
    """lldpRemLocalPortNum"""
    chassis_mac: str
    port_id: str
    """A MAC (sent with subtype macAddress) or an interface name."""
    system_name: str
    port_desc: str
    time_mark: int = 4210
    rem_index: int = 1


@dataclass(frozen=True)
class Vlan:
    vid: int
    name: str
    untagged: set[int] = field(default_factory=set)
    tagged: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Switch:
    name: str
    description: str
    interfaces: list[Iface]
    lldp_ports: dict[int, str]
    """lldpLocPortNum -> lldpLocPortId (the interface name)"""
    neighbours: list[Neighbour]
    bridge_ports: dict[int, int]
    """dot1dBasePort -> ifIndex"""
    vlans: list[Vlan]
    pvid: dict[int, int]
    portlist_octets: int


_SWP_ALIASES = ["gpu01 nic0", "gpu02 nic0", "stor01", "stor02", "bmc uplink", "spare", "gpu03 nic0", "fw01",
                "hv01", "hv02", "spine01", "spine02"]  # fmt: skip
_SWP_EXTRA: dict[int, dict] = {
    3: {"in_errors": 17, "in_discards": 3},
    6: {"admin": 2, "oper": 2},
    7: {"oper": 7, "out_errors": 2},
    11: {"mbps": 400_000, "out_discards": 120},
    12: {"mbps": 400_000},
}

LEAF = Switch(
    name="leaf01",
    description="Cumulus Linux 5.9.1 (leaf01, test recording)",
    interfaces=[
        Iface(1, "lo", type=LOOPBACK, mbps=0, mtu=65536),
        Iface(2, "eth0", alias="oob management", mbps=1000, mtu=1500),
        *(Iface(n + 2, f"swp{n}", alias=_SWP_ALIASES[n - 1], **_SWP_EXTRA.get(n, {})) for n in range(1, 13)),
        Iface(15, "bridge", type=BRIDGE, mbps=0),
        Iface(16, "vlan10", type=SVI, mbps=0, mtu=9000),
    ],
    lldp_ports={2: "eth0", **{n + 2: f"swp{n}" for n in range(1, 13)}},
    neighbours=[
        Neighbour(2, "44:38:39:ff:00:01", "swp14", "oob-mgmt-switch", "swp14"),
        Neighbour(3, "0c:42:a1:00:01:01", "0c:42:a1:5e:01:00", "gpu01", "enp65s0f0np0"),
        Neighbour(4, "0c:42:a1:00:01:02", "0c:42:a1:5e:02:00", "gpu02", "enp65s0f0np0"),
        Neighbour(5, "b8:ce:f6:00:03:01", "ens1f0", "stor01", "ens1f0"),
        Neighbour(11, "3c:ec:ef:00:09:01", "3c:ec:ef:00:09:10", "hv01", "eno1"),
        Neighbour(13, "44:38:39:00:00:51", "swp1", "spine01", "to leaf01"),
        Neighbour(14, "44:38:39:00:00:52", "swp1", "spine02", "to leaf01", time_mark=4388),
    ],
    bridge_ports={n: n + 2 for n in range(1, 11)},
    vlans=[
        Vlan(1, "default", untagged={9}),
        Vlan(10, "compute", untagged={1, 2, 6}, tagged={9}),
        Vlan(20, "storage", untagged={3, 4, 7}, tagged={9}),
        Vlan(30, "bmc", untagged={5}),
        Vlan(100, "tenant-a", untagged={8}, tagged={9, 10}),
        Vlan(200, "tenant-b", tagged={9, 10}),
        Vlan(300, "spare"),
    ],
    pvid={1: 10, 2: 10, 3: 20, 4: 20, 5: 30, 6: 10, 7: 20, 8: 100, 9: 1, 10: 1},
    portlist_octets=4,
)

ARISTA = Switch(
    name="leaf02",
    description="Arista Networks EOS version 4.31.2F running on an Arista DCS-7050CX3-32S",
    interfaces=[
        *(Iface(n, f"Ethernet{n}", alias=f"gpu1{n} nic0") for n in range(1, 5)),
        Iface(49001, "Ethernet49/1", alias="spine01", mbps=400_000),
        Iface(50001, "Ethernet50/1", alias="spine02", mbps=400_000),
        Iface(999001, "Management1", mbps=1000, mtu=1500),
        Iface(1000010, "Port-Channel10", type=LAG, mbps=200_000),
    ],
    lldp_ports={
        1: "Ethernet1",
        2: "Ethernet2",
        3: "Ethernet3",
        4: "Ethernet4",
        5: "Ethernet49/1",
        6: "Ethernet50/1",
        7: "Management1",
    },
    neighbours=[
        Neighbour(1, "0c:42:a1:00:11:01", "0c:42:a1:5e:11:00", "gpu11", "enp65s0f0np0"),
        Neighbour(5, "44:38:39:00:00:51", "swp3", "spine01", "to leaf02"),
        Neighbour(6, "44:38:39:00:00:52", "swp3", "spine02", "to leaf02"),
        Neighbour(7, "44:38:39:ff:00:01", "swp15", "oob-mgmt-switch", "swp15"),
    ],
    bridge_ports={1: 1, 2: 2, 3: 3, 4: 4, 5: 1000010},
    vlans=[
        Vlan(1, "default", untagged={4}),
        Vlan(10, "compute", untagged={1, 2}, tagged={4, 5}),
        Vlan(20, "storage", untagged={3}, tagged={5}),
    ],
    pvid={1: 10, 2: 10, 3: 20, 4: 1, 5: 1},
    portlist_octets=8,
)
