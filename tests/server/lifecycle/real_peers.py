"""Real protocol peers for a lifecycle test, and the small inventory that points at them.

- The SNMP leaf `lab-leaf` is served by snmpsim (the agent of `tests/drivers/snmp`), from a
  recording rendered here from `LAB_LEAF`, the same port plan the inventory cables to, with its
  VLAN objects through snmpsim's `writecache` so that SETs persist.
- The BMC of `node-rf` is the loopback Redfish service of `tests/drivers/redfish/fakebmc.py` on the
  recorded HGX H100 documents, without their M.2 boot drive: that drive offers no secure erase, and
  the driver (rightly) fails an erase that skips a drive. The sushy-tools emulator cannot stand in:
  it offers no `Drive.SecureErase` and ignores a one-time boot override (see `test_emulator.py`).

Everything else of the inventory (a second leaf, the spine, two nodes' BMCs) uses the `sim` driver.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

from metalgraph.server.inventory.model import Bmc, Inventory, Link, Nic, Node, Port, PortRef, Rack, Site, Switch

TESTS = Path(__file__).resolve().parents[2]
SNMP_TESTS = TESTS / "drivers" / "snmp"
REDFISH_TESTS = TESTS / "drivers" / "redfish"
if str(SNMP_TESTS) not in sys.path:
    sys.path.append(str(SNMP_TESTS))

import snmp_agent  # noqa: E402
import snmp_recordings  # noqa: E402
import snmp_switches  # noqa: E402

Agent = snmp_agent.Agent
SITE, RACK, POD = "lab", "lab-r1", "lab-pod"
VLAN_POOL = (100, 101)
QUARANTINE = 4000
SNMP_LEAF, SIM_LEAF, SPINE = "lab-leaf", "lab-leaf-sim", "lab-spine"
RF_NODE, SIM_NODE_SNMP_LEAF, SIM_NODE_SIM_LEAF = "node-rf", "node-sim-a", "node-sim-b"
LEAF_COMMUNITY = "lab-leaf"
"""The v2c community of the recording, also its file name."""
BMC_CREDENTIALS, LEAF_CREDENTIALS = "lab-bmc", "lab-leaf-snmp"
"""Reference names in the secrets file."""
NODE_PORTS = {RF_NODE: "swp1", SIM_NODE_SNMP_LEAF: "swp2"}
"""The SNMP leaf's access ports, by the node cabled to each."""
UPLINK = "swp3"
"""The SNMP leaf's port to the spine."""

_BRIDGE_PORTS = {1: 1, 2: 2, 3: 3}
"""dot1dBasePort -> ifIndex: swpN is bridge port N and ifIndex N, as the graph's `Port.index`."""
LAB_LEAF = snmp_switches.Switch(
    name=SNMP_LEAF,
    description="Cumulus Linux 5.9.1 (lab-leaf, lifecycle test recording)",
    interfaces=[
        snmp_switches.Iface(1, "swp1", alias=f"{RF_NODE} backend"),
        snmp_switches.Iface(2, "swp2", alias=f"{SIM_NODE_SNMP_LEAF} backend"),
        snmp_switches.Iface(3, UPLINK, alias=SPINE, mbps=400_000),
    ],
    lldp_ports={},
    neighbours=[],
    bridge_ports=_BRIDGE_PORTS,
    vlans=[
        snmp_switches.Vlan(1, "default", untagged={3}),
        *(snmp_switches.Vlan(vid, f"tenant-{vid}") for vid in VLAN_POOL),
        snmp_switches.Vlan(QUARANTINE, "quarantine", untagged={1, 2}),
    ],
    pvid={1: QUARANTINE, 2: QUARANTINE, 3: 1},
    portlist_octets=4,
)
"""The switch cannot create VLANs: the pool's and the quarantine VLAN are configured up front."""


def write_leaf_recording(directory: Path) -> None:
    """`<community>.snmprec` of `LAB_LEAF` in `directory`, its port lists and PVIDs writable."""
    records = snmp_recordings.through("writecache", snmp_recordings.records(LAB_LEAF, tables=("static",)))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{LEAF_COMMUNITY}.snmprec").write_text(snmp_recordings.render(records))


async def start_leaf_agent(workdir: Path) -> AsyncIterator[Agent]:
    """snmpsim serving `LAB_LEAF` (community `LEAF_COMMUNITY`) until the generator is closed."""
    source = workdir / "recording"
    write_leaf_recording(source)
    async for agent in snmp_agent.start_agent(workdir / "agent", [LEAF_COMMUNITY], source=source):
        yield agent


# --- the Redfish BMC --------------------------------------------------------------------------------

_HGX = "hgx_h100"
_STORAGE = "/redfish/v1/Systems/1/Storage/NVMeSSD"
_BOOT_DRIVE = "/redfish/v1/Chassis/1/Drives/HA-RAID.0.StorageEnclosure.0.Disk.0"
ERASABLE_DRIVES = tuple(
    f"/redfish/v1/Chassis/1/Drives/NVMeSSD.0.Group.0.StorageBackplane.Disk.Bay.{bay}" for bay in (0, 1)
)
BMC_USERNAME, BMC_PASSWORD = "admin", "s3cret-Redfish"


def fakebmc_module() -> ModuleType:
    """`tests/drivers/redfish/fakebmc.py` (not importable by package: `tests/drivers` is no package)."""
    name = "redfish_tests_fakebmc"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REDFISH_TESTS / "fakebmc.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def erasable_hgx_docs() -> dict[str, Any]:
    """The recorded HGX H100 documents without the M.2 boot drive (every drive left offers secure erase)."""
    docs: dict[str, Any] = json.loads((REDFISH_TESTS / "fixtures" / f"{_HGX}.json").read_text())
    docs = copy.deepcopy(docs)
    del docs[_BOOT_DRIVE]
    storage = docs[_STORAGE]
    storage["Drives"] = [link for link in storage["Drives"] if link["@odata.id"] != _BOOT_DRIVE]
    storage["Drives@odata.count"] = len(storage["Drives"])
    return docs


def start_fake_bmc() -> Any:
    """A running `FakeBmc` on `erasable_hgx_docs`, with the Redfish tests' credentials; `stop()` it."""
    fakebmc = fakebmc_module()
    return fakebmc.FakeBmc(erasable_hgx_docs(), username=BMC_USERNAME, password=BMC_PASSWORD)


def write_secrets(path: Path) -> Path:
    """The secrets file of the lab's credentials (owner-only, as `SecretStore` demands)."""
    path.write_text(
        f'[{BMC_CREDENTIALS}]\nusername = "{BMC_USERNAME}"\npassword = "{BMC_PASSWORD}"\n\n'
        f'[{LEAF_CREDENTIALS}]\ncommunity = "{LEAF_COMMUNITY}"\n'
    )
    path.chmod(0o600)
    return path


# --- the inventory ------------------------------------------------------------------------------------


def _access_port(index: int) -> Port:
    return Port(name=f"swp{index}", index=index, speed_gbps=100, access_vlan=QUARANTINE, oper_status="up")


def _uplink(index: int) -> Port:
    return Port(name=f"swp{index}", index=index, speed_gbps=400, mode="trunk", oper_status="up")


def _node(name: str, bmc: Bmc, leaf: str, port: str, number: int) -> Node:
    nic = Nic(
        name="backend0",
        mac=f"0c:42:a1:5e:{number:02x}:00",
        speed_gbps=100,
        role="backend",
        rail=0,
        port=PortRef(switch=leaf, port=port),
    )
    return Node(
        name=name,
        rack=RACK,
        serial=f"SN-{name}",
        vendor="Supermicro",
        model="SYS-821GE-TNHR",
        cpu_cores=112,
        memory_gb=2048,
        storage_gb=7680,
        bmc=bmc,
        nics=(nic,),
    )


def lab_inventory(leaf_address: str, bmc_url: str) -> Inventory:
    """Three nodes under one spine: `node-rf` (Redfish BMC at `bmc_url`) and `node-sim-a` on the SNMP
    leaf at `leaf_address`, `node-sim-b` on a simulated leaf; the spine and the other BMCs are simulated.
    A three-node cluster spans both leaves, so its VLAN also goes up the SNMP leaf's uplink."""
    snmp_leaf = Switch(
        name=SNMP_LEAF,
        rack=RACK,
        role="leaf",
        driver="snmp",
        mgmt_address=leaf_address,
        credentials=LEAF_CREDENTIALS,
        pod=POD,
        ports=(_access_port(1), _access_port(2), _uplink(3)),
    )
    sim_leaf = Switch(
        name=SIM_LEAF,
        rack=RACK,
        role="leaf",
        mgmt_address=f"sim://{SIM_LEAF}",
        pod=POD,
        ports=(_access_port(1), _uplink(2)),
    )
    spine = Switch(
        name=SPINE, rack=RACK, role="spine", mgmt_address=f"sim://{SPINE}", pod=POD, ports=(_uplink(1), _uplink(2))
    )
    nodes = (
        _node(RF_NODE, Bmc(driver="redfish", address=bmc_url, credentials=BMC_CREDENTIALS), SNMP_LEAF, "swp1", 1),
        _node(SIM_NODE_SNMP_LEAF, Bmc(driver="sim", address=f"sim://{SIM_NODE_SNMP_LEAF}"), SNMP_LEAF, "swp2", 2),
        _node(SIM_NODE_SIM_LEAF, Bmc(driver="sim", address=f"sim://{SIM_NODE_SIM_LEAF}"), SIM_LEAF, "swp1", 3),
    )
    links = (
        Link(a=PortRef(switch=SNMP_LEAF, port=UPLINK), b=PortRef(switch=SPINE, port="swp1"), speed_gbps=400),
        Link(a=PortRef(switch=SIM_LEAF, port="swp2"), b=PortRef(switch=SPINE, port="swp2"), speed_gbps=400),
    )
    site = Site(name=SITE, vlan_pool=f"{VLAN_POOL[0]}-{VLAN_POOL[-1]}", quarantine_vlan=QUARANTINE)
    return Inventory(
        sites=(site,),
        racks=(Rack(name=RACK, site=SITE),),
        switches=(snmp_leaf, sim_leaf, spine),
        nodes=nodes,
        links=links,
    )
