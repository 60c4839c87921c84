"""Simulated devices for an inventory: what makes a demo fabric run end to end without hardware.

`seed_lab(inventory, lab)` creates, in a `drivers.sim.SimLab`, every device of the inventory whose
driver is `sim`: each switch with its ports (names, indexes, speeds, modes, link status), the intended
cabling as LLDP neighbours (a host NIC announces its MAC as chassis id, its node as system name and
its NIC name as port id), and each node's BMC with the inventory's hardware (serial, vendor, model,
CPUs, memory, drives, GPUs with their uuid as serial, NICs with MACs and speeds). Discovery on such a
lab finds the graph as it is. With `drift=True` a few deliberate faults are cabled in for demos: one
backend NIC unplugged, two backend NICs of one node crossed between their rails' leaves, and one
switch-to-switch cable that the inventory does not list.

`ensure_sim_devices(store, lab)` seeds what the graph has and the lab lacks, once per device: the
process-wide lab of a freshly started CLI or server is empty, and this makes it match the demo.
Neither replaces a device the lab already holds: with a persistent lab (`METALGRAPH_SIM_STATE_DIR`),
a restarted server, or a second server on the same store, finds the devices as they were left.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from metalgraph.drivers.sim import (
    NodeState,
    SimLab,
    SimNeighbour,
    SimPort,
    SwitchState,
    default_lab,
    fake_mac,
    new_node,
    new_switch,
    sim_address,
)
from metalgraph.drivers.types import (
    CpuInfo,
    DriveInfo,
    GpuInfo,
    HardwareInventory,
    Health,
    HealthState,
    NicPortInfo,
    PowerState,
    SwitchportMode,
)

from ..inventory.model import Inventory, Node, Port
from ..inventory.service import export_inventory
from ..store.base import GraphStore

SIM = "sim"
DRIVE_GB = 3840.0
_seeded: weakref.WeakKeyDictionary[SimLab, set[str]] = weakref.WeakKeyDictionary()


@dataclass
class SeedReport:
    switches: int = 0
    nodes: int = 0
    defects: list[str] = field(default_factory=list)
    """The deliberate faults cabled in (`drift=True`), in words."""


def sim_options(lab: SimLab) -> dict[str, dict[str, Any]]:
    """`DeviceAccess(driver_options=...)` that makes the sim drivers use `lab`."""
    return {SIM: {"lab": lab}}


def node_inventory(node: Node) -> HardwareInventory:
    """What a BMC reports for `node` as the inventory describes it."""
    sockets = 2 if node.cpu_cores and node.cpu_cores % 2 == 0 else 1
    cpus = tuple(
        CpuInfo(node.cpu_model, node.cpu_cores // sockets, node.cpu_cores // sockets * 2, f"CPU{i}")
        for i in range(sockets if node.cpu_cores else 0)
    )
    drives_n = int(node.storage_gb // DRIVE_GB) if node.storage_gb and node.storage_gb % DRIVE_GB == 0 else 1
    drive_gb = node.storage_gb / drives_n
    drives = tuple(
        DriveInfo(f"nvme{i}", drive_gb, "ssd", f"{node.name}-nvme{i}", secure_erase=True)
        for i in range(drives_n if node.storage_gb else 0)
    )
    return HardwareInventory(
        serial=node.serial,
        vendor=node.vendor,
        model=node.model,
        cpus=cpus,
        memory_gb=node.memory_gb,
        gpus=tuple(
            GpuInfo(g.model, g.memory_gb, serial=g.uuid, slot=f"GPU{g.index}")
            for g in sorted(node.gpus, key=lambda g: g.index)
        ),
        nics=tuple(NicPortInfo(n.name, n.mac, n.speed_gbps, link_up=n.port is not None) for n in node.nics),
        drives=drives,
    )


def _sim_port(port: Port) -> SimPort:
    mode = SwitchportMode(port.mode)
    return SimPort(
        port.name,
        port.index,
        oper_up=port.oper_status == "up",
        speed_gbps=port.speed_gbps,
        mode=mode,
        access_vlan=(port.access_vlan or 1) if mode is SwitchportMode.ACCESS else None,
        allowed_vlans=tuple(sorted(port.allowed_vlans)) if mode is SwitchportMode.TRUNK else (),
    )


def seed_lab(
    inventory: Inventory,
    lab: SimLab | None = None,
    *,
    drift: bool = False,
    addresses: Collection[str] | None = None,
    replace: bool = False,
) -> SeedReport:
    """Create the inventory's `sim` devices in `lab` (default: the process-wide lab); with
    `addresses`, only the devices at those addresses. A device the lab already holds is kept as it
    is (a restarted server sharing a persistent lab must not reset its devices), unless `replace`.
    The report counts the devices created."""
    lab = lab if lab is not None else default_lab()
    report = SeedReport()
    wanted = None if addresses is None else {sim_address(a) for a in addresses}
    switches: dict[str, SwitchState] = {}
    for sw in inventory.switches:
        if sw.driver == SIM and sw.mgmt_address and (wanted is None or sim_address(sw.mgmt_address) in wanted):
            switches[sw.name] = new_switch(sw.mgmt_address, [_sim_port(p) for p in sw.ports], system_name=sw.name)
    nodes: list[NodeState] = []
    for node in inventory.nodes:
        bmc = node.bmc
        if bmc is None or bmc.driver != SIM or (wanted is not None and sim_address(bmc.address) not in wanted):
            continue
        power = PowerState.ON if node.power_state == "on" else PowerState.OFF
        state = new_node(bmc.address, node_inventory(node), power=power)
        state.health = Health(HealthState(node.health) if node.health != "unknown" else HealthState.OK)
        nodes.append(state)
    _cable(inventory, switches)
    if drift:
        report.defects = _inject_drift(inventory, switches)
    report.switches = sum(lab.put_switch(state, replace=replace) is state for state in switches.values())
    report.nodes = sum(lab.put_node(state, replace=replace) is state for state in nodes)
    return report


def _cable(inventory: Inventory, switches: dict[str, SwitchState]) -> None:
    for node in inventory.nodes:
        for nic in node.nics:
            if nic.port is not None and nic.port.switch in switches:
                port = switches[nic.port.switch].ports.get(nic.port.port)
                if port is not None:
                    port.neighbour = SimNeighbour(nic.mac, node.name, nic.name, nic.name)
    for link in inventory.links:
        for near, far in ((link.a, link.b), (link.b, link.a)):
            if near.switch in switches and near.port in switches[near.switch].ports:
                peer = switches.get(far.switch)
                chassis = peer.chassis_id if peer is not None else fake_mac(sim_address(far.switch))
                switches[near.switch].ports[near.port].neighbour = SimNeighbour(chassis, far.switch, far.port, far.port)


def _inject_drift(inventory: Inventory, switches: dict[str, SwitchState]) -> list[str]:
    """Unplug one backend NIC, cross two of another node's rails, add one cable nobody planned."""
    roles = {sw.name: sw.role for sw in inventory.switches}
    cabled = [
        (node.name, nic.name, nic.port.switch, nic.port.port)
        for node in sorted(inventory.nodes, key=lambda n: n.name)
        for nic in sorted(node.nics, key=lambda n: (n.rail is None, n.rail, n.name))
        if nic.role == "backend" and nic.port is not None and roles.get(nic.port.switch) == "leaf"
        if nic.port.switch in switches and nic.port.port in switches[nic.port.switch].ports
    ]
    defects: list[str] = []
    if cabled:
        node, nic, switch, port = cabled[0]
        switches[switch].ports[port].neighbour = None
        switches[switch].ports[port].oper_up = False
        defects.append(f"unplugged {node}/{nic} from {switch}/{port}")
    crossable = [c for c in cabled if c[0] != cabled[0][0]]
    pair = next(((a, b) for a, b in itertools.pairwise(crossable) if a[0] == b[0] and a[2] != b[2]), None)
    if pair is not None:
        (node, nic_a, sw_a, p_a), (_, nic_b, sw_b, p_b) = pair
        port_a, port_b = switches[sw_a].ports[p_a], switches[sw_b].ports[p_b]
        port_a.neighbour, port_b.neighbour = port_b.neighbour, port_a.neighbour
        defects.append(f"crossed {node}/{nic_a} and {node}/{nic_b}: each is on the other's {sw_a}/{p_a}, {sw_b}/{p_b}")
    pods = {sw.name for sw in inventory.switches if sw.pod}
    fabric = [name for name in sorted(switches) if roles.get(name) in ("leaf", "spine") and name in pods]
    free = [
        (name, max((p for p in switches[name].ports.values() if p.neighbour is None), key=lambda p: p.index))
        for name in (fabric if len(fabric) >= 2 else sorted(switches))
        if any(p.neighbour is None for p in switches[name].ports.values())
    ]
    if len(free) >= 2:
        (sw_a, port_a), (sw_b, port_b) = free[0], free[-1]
        for near, far, far_port in ((port_a, switches[sw_b], port_b), (port_b, switches[sw_a], port_a)):
            near.neighbour = SimNeighbour(far.chassis_id, far.system_name, far_port.name, far_port.name)
            near.oper_up = True
        defects.append(f"cabled {sw_a}/{port_a.name} to {sw_b}/{port_b.name}, which the inventory does not list")
    return defects


async def ensure_sim_devices(store: GraphStore, lab: SimLab | None = None, *, drift: bool = False) -> SeedReport:
    """Seed into `lab` (default: the process-wide lab) the graph's `sim` devices it has never held.

    A device seeded once is not seeded again, so one removed from the lab on purpose stays gone."""
    lab = lab if lab is not None else default_lab()
    rows = await store.read(
        "MATCH (n:Node) WHERE n.bmc_driver = $sim RETURN collect(n.bmc_address) AS addresses",
        {"sim": SIM},
    )
    rows += await store.read(
        "MATCH (s:Switch) WHERE s.driver = $sim AND s.mgmt_address <> '' RETURN collect(s.mgmt_address) AS addresses",
        {"sim": SIM},
    )
    in_graph = {sim_address(a) for row in rows for a in row["addresses"] if a}
    seeded = _seeded.setdefault(lab, set())
    new = in_graph - lab.addresses() - seeded
    if not new:
        return SeedReport()
    report = seed_lab(await export_inventory(store), lab, drift=drift, addresses=new)
    seeded.update(new)
    return report


def forget_sim_devices(lab: SimLab, addresses: Collection[str]) -> None:
    """Remove devices from `lab` and forget that they were seeded, so that `ensure_sim_devices`
    seeds them afresh (a demo reset, or a test cleaning up the process-wide lab)."""
    seeded = _seeded.get(lab, set())
    for address in addresses:
        lab.remove(address)
        seeded.discard(sim_address(address))
