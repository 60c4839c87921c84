"""Simulated devices seeded from an inventory: ports, LLDP as cabled, BMC inventories; drift on request."""

from __future__ import annotations

import pytest

from metalgraph.drivers.sim import SimBmc, SimLab, SimSwitch
from metalgraph.drivers.types import DeviceConfig
from metalgraph.server.devices.demo_lab import ensure_sim_devices, seed_lab
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.inventory.service import import_inventory
from metalgraph.server.store.base import GraphStore


@pytest.fixture(scope="module")
def fabric() -> Inventory:
    return generate_fabric(16)


def test_the_demo_uses_sim_devices_named_after_the_inventory(fabric: Inventory) -> None:
    assert {sw.driver for sw in fabric.switches} == {"sim"}
    assert all(sw.mgmt_address == f"sim://{sw.name}" for sw in fabric.switches)
    assert all(n.bmc is not None and (n.bmc.driver, n.bmc.address) == ("sim", f"sim://{n.name}") for n in fabric.nodes)


async def test_switches_have_the_inventory_ports_and_hear_the_cabling(fabric: Inventory) -> None:
    lab = SimLab()
    report = seed_lab(fabric, lab)
    assert (report.switches, report.nodes, report.defects) == (len(fabric.switches), len(fabric.nodes), [])
    leaf = next(sw for sw in fabric.switches if sw.name.endswith("-r3"))
    ports = await SimSwitch(DeviceConfig(leaf.mgmt_address, options={"lab": lab})).get_ports()
    assert [(p.name, p.index, p.speed_gbps, p.mode) for p in ports] == [
        (p.name, p.index, p.speed_gbps, p.mode) for p in leaf.ports
    ]
    assert [p.oper_up for p in ports] == [p.oper_status == "up" for p in leaf.ports]
    heard = {
        (n.local_port, n.system_name, n.port_id)
        for n in await SimSwitch(DeviceConfig(leaf.mgmt_address, options={"lab": lab})).get_lldp_neighbours()
    }
    cabled = {
        (nic.port.port, node.name, nic.name)
        for node in fabric.nodes
        for nic in node.nics
        if nic.port is not None and nic.port.switch == leaf.name
    }
    cabled |= {
        (a.port, b.switch, b.port)
        for link in fabric.links
        for a, b in ((link.a, link.b), (link.b, link.a))
        if a.switch == leaf.name
    }
    assert heard == cabled and len(heard) == len(fabric.nodes) + 32  # one per node, 32 uplinks


async def test_a_bmc_reports_the_node_as_the_inventory_has_it(fabric: Inventory) -> None:
    lab = SimLab()
    seed_lab(fabric, lab)
    node = fabric.nodes[0]
    assert node.bmc is not None
    seen = await SimBmc(DeviceConfig(node.bmc.address, options={"lab": lab})).get_inventory()
    assert (seen.serial, seen.vendor, seen.model) == (node.serial, node.vendor, node.model)
    assert (seen.cpu_cores, seen.cpus[0].model, seen.memory_gb) == (node.cpu_cores, node.cpu_model, node.memory_gb)
    assert sum(d.capacity_gb for d in seen.drives) == node.storage_gb
    assert [(g.serial, g.model, g.memory_gb, g.slot) for g in seen.gpus] == [
        (g.uuid, g.model, g.memory_gb, f"GPU{g.index}") for g in node.gpus
    ]
    assert [(n.name, n.mac, n.speed_gbps) for n in seen.nics] == [(n.name, n.mac, n.speed_gbps) for n in node.nics]


def test_drift_unplugs_crosses_and_adds_a_cable(fabric: Inventory) -> None:
    lab = SimLab()
    report = seed_lab(fabric, lab, drift=True)
    first, second = sorted(n.name for n in fabric.nodes)
    assert [d.split()[0] for d in report.defects] == ["unplugged", "crossed", "cabled"]
    assert f"{first}/rail0" in report.defects[0] and f"{second}/rail0 and {second}/rail1" in report.defects[1]
    r0 = lab.switch("sim://leaf-p01-su01-r0")
    assert r0.port("swp1").neighbour is None
    neighbour = r0.port("swp2").neighbour
    assert neighbour is not None and (neighbour.system_name, neighbour.port_id) == (second, "rail1")


async def test_ensure_seeds_what_the_lab_lacks_once(store: GraphStore, fabric: Inventory) -> None:
    await import_inventory(store, fabric)
    lab = SimLab()
    lab.add_switch("sim://leaf-p01-su01-r0", ports=1)  # already there: left as it is
    report = await ensure_sim_devices(store, lab)
    assert (report.switches, report.nodes) == (len(fabric.switches) - 1, len(fabric.nodes))
    assert len(lab.switch("sim://leaf-p01-su01-r0").ports) == 1
    lab.remove("sim://spine-p01-01")
    again = await ensure_sim_devices(store, lab)
    assert (again.switches, again.nodes) == (0, 0)
    assert lab.find_switch("sim://spine-p01-01") is None
