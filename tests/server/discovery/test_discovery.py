"""Discovery against a sim lab seeded from the demo fabric: proposals, apply, re-discovery, failures."""

from __future__ import annotations

import json
import logging

import pytest

from metalgraph.drivers.sim import SimLab, SimNeighbour
from metalgraph.drivers.types import GpuInfo, NicPortInfo
from metalgraph.server.devices.access import DeviceAccess
from metalgraph.server.devices.demo_lab import sim_options
from metalgraph.server.devices.secrets import SecretStore
from metalgraph.server.discovery.observed import load_observed, load_scans
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.inventory.service import export_inventory, import_inventory
from metalgraph.server.store.base import GraphStore

from .conftest import Discover, RunOn

N1, N2 = "gpu-0001", "gpu-0002"


def leaf(rail: int) -> str:
    return f"leaf-p01-su01-r{rail}"


def intended_links(fabric: Inventory) -> int:
    """Observed edges a consistent fabric has: one per cabled NIC, two per switch link (heard from both ends)."""
    return sum(1 for n in fabric.nodes for nic in n.nics if nic.port) + 2 * len(fabric.links)


def replace_gpu(lab: SimLab, node: str, index: int, **changes: object) -> None:
    state = lab.node(node)
    gpus = list(state.inventory.gpus)
    old = gpus[index]
    gpus[index] = GpuInfo(
        **{"model": old.model, "memory_gb": old.memory_gb, "serial": old.serial, "slot": old.slot, **changes}
    )  # type: ignore[arg-type]
    state.inventory = type(state.inventory)(**{**vars(state.inventory), "gpus": tuple(gpus)})


def set_nics(lab: SimLab, node: str, nics: list[NicPortInfo]) -> None:
    state = lab.node(node)
    state.inventory = type(state.inventory)(**{**vars(state.inventory), "nics": tuple(nics)})


async def test_a_consistent_lab_adds_the_links_it_sees_then_proposes_nothing(
    run: Discover, demo_store: GraphStore, fabric: Inventory
) -> None:
    before = await export_inventory(demo_store)
    first = await run()
    assert (first.failed, first.read, first.observations.devices) == (0, 16, 16)
    assert first.proposal.changes.summary() == {
        "OBSERVED": {"added": intended_links(fabric), "changed": 0, "removed": 0}
    }
    assert first.proposal.notes == []
    assert first.drift is not None and first.drift.counts() == {"missing": 0, "unexpected": 0, "wrong_rail": 0}

    applied = await run(apply=True)
    assert applied.applied and applied.proposal.changes.size == intended_links(fabric)
    stored = await load_observed(demo_store)
    assert len(stored) == intended_links(fabric) and all(link.seen_at for link in stored)
    assert set(await load_scans(demo_store)) == {sw.name for sw in fabric.switches}

    again = await run()
    assert again.proposal.changes.empty and again.proposal.notes == []
    assert await export_inventory(demo_store) == before  # observations are no part of the inventory


async def test_changed_hardware_and_a_moved_cable_give_exactly_those_proposals(
    run: Discover, demo_store: GraphStore, lab: SimLab, fabric: Inventory
) -> None:
    await run(apply=True)
    node1 = next(n for n in fabric.nodes if n.name == N1)
    node2 = next(n for n in fabric.nodes if n.name == N2)
    replace_gpu(lab, N1, 3, model="H200-SXM5-141GB", memory_gb=141)
    rail5 = next(n for n in node2.nics if n.name == "rail5")
    new_mac = "02:aa:bb:cc:dd:05"
    set_nics(lab, N2, [NicPortInfo(n.name, new_mac if n.name == "rail5" else n.mac, n.speed_gbps) for n in node2.nics])
    lab.switch(leaf(5)).port("swp2").neighbour = SimNeighbour(new_mac, N2, "rail5")
    eth9 = "02:aa:bb:cc:dd:09"
    set_nics(lab, N1, [*lab.node(N1).inventory.nics, NicPortInfo("eth9", eth9, 25)])
    lab.switch("fe-su01").port("swp30").neighbour = SimNeighbour(eth9, N1, "eth9")
    moved = lab.switch(leaf(4)).port("swp1")
    lab.switch(leaf(4)).port("swp20").neighbour, moved.neighbour = moved.neighbour, None

    changes = (await run()).proposal.changes
    gpu3 = next(g for g in node1.gpus if g.index == 3)
    assert {vid: (before, after) for vid, (before, after) in changes.change_vertices.items()} == {
        ("GPU", gpu3.uuid): (
            {"key": gpu3.uuid, **gpu3.model_dump(), "node": N1},
            {"key": gpu3.uuid, **gpu3.model_dump(), "node": N1, "model": "H200-SXM5-141GB", "memory_gb": 141.0},
        ),
        ("NIC", f"{N2}/rail5"): (
            {"key": f"{N2}/rail5", **rail5.model_dump(exclude={"port"}), "node": N2},
            {"key": f"{N2}/rail5", **rail5.model_dump(exclude={"port"}), "node": N2, "mac": new_mac},
        ),
    }
    assert changes.add_vertices == {
        ("NIC", f"{N1}/eth9"): {
            "key": f"{N1}/eth9",
            "name": "eth9",
            "mac": eth9,
            "speed_gbps": 25.0,
            "role": "backend",
            "node": N1,
        }
    }
    assert set(changes.add_edges) == {
        ("HAS_NIC", ("Node", N1), ("NIC", f"{N1}/eth9")),
        ("OBSERVED", ("NIC", f"{N1}/eth9"), ("Port", "fe-su01/swp30")),
        ("OBSERVED", ("NIC", f"{N1}/rail4"), ("Port", f"{leaf(4)}/swp20")),
    }
    assert changes.remove_edges == [("OBSERVED", ("NIC", f"{N1}/rail4"), ("Port", f"{leaf(4)}/swp1"))]
    assert not changes.remove_vertices and not changes.change_edges

    applied = await run(apply=True)
    assert any("new NIC eth9" in note for note in applied.proposal.notes)
    assert (await run()).proposal.changes.empty
    exported = await export_inventory(demo_store)
    after1 = next(n for n in exported.nodes if n.name == N1)
    assert next(g for g in after1.gpus if g.index == 3).model == "H200-SXM5-141GB"
    assert {n.name: n.mac for n in after1.nics}["eth9"] == eth9
    assert {n.name: n.mac for n in next(n for n in exported.nodes if n.name == N2).nics}["rail5"] == new_mac


async def test_a_node_known_only_by_its_bmc_is_filled_in(store: GraphStore, fabric: Inventory, run_on: RunOn) -> None:
    stub = next(n for n in fabric.nodes if n.name == N2).model_copy(
        update={
            "serial": "",
            "vendor": "",
            "model": "",
            "cpu_model": "",
            "cpu_cores": 0,
            "memory_gb": 0,
            "storage_gb": 0,
            "gpus": (),
            "nics": (),
            "nvlinks": (),
            "pcie": (),
        }
    )
    full = next(n for n in fabric.nodes if n.name == N2)
    await import_inventory(store, fabric.model_copy(update={"nodes": (fabric.nodes[0], stub)}))
    discover = run_on(store)
    proposal = (await discover(nodes=[N2], switches=[leaf(0)])).proposal
    summary = proposal.changes.summary()
    assert summary["GPU"]["added"] == 8 and summary["NIC"]["added"] == 10 and summary["Node"]["changed"] == 1
    assert summary["OBSERVED"]["added"] == 2 + 32  # both nodes' rail-0 NICs and the leaf's uplinks
    assert sum("new NIC" in note for note in proposal.notes) == 10
    await discover(apply=True, nodes=[N2], switches=[leaf(0)])
    assert (await discover(nodes=[N2], switches=[leaf(0)])).proposal.changes.empty
    node = next(n for n in (await export_inventory(store)).nodes if n.name == N2)
    assert (node.serial, node.cpu_cores, node.memory_gb, node.storage_gb) == (
        full.serial,
        full.cpu_cores,
        full.memory_gb,
        full.storage_gb,
    )
    assert [(g.index, g.uuid, g.model) for g in node.gpus] == [(g.index, g.uuid, g.model) for g in full.gpus]
    assert sorted((n.name, n.mac) for n in node.nics) == sorted((n.name, n.mac) for n in full.nics)


async def test_unreachable_and_slow_devices_are_reported_while_the_others_complete(
    run: Discover, demo_store: GraphStore, lab: SimLab
) -> None:
    await run(apply=True)
    before = {link for link in await load_observed(demo_store) if link.switch == leaf(3)}
    lab.switch(leaf(3)).faults.unreachable = True
    lab.node(N2).faults.latency_s = 30  # far beyond the timeout: the driver gives up with DeviceTimeout
    replace_gpu(lab, N1, 0, model="H100-NVL-94GB")

    result = await run(apply=True)
    failures = {(f.kind, f.name, f.error) for f in result.observations.failures}
    assert failures == {("switch", leaf(3), "DeviceUnreachable"), ("bmc", N2, "DeviceTimeout")}
    assert all(f.message for f in result.observations.failures)
    assert (result.read, result.failed) == (14, 2)
    assert [v for v in result.proposal.changes.change_vertices] == [("GPU", lab.node(N1).inventory.gpus[0].serial)]
    assert not result.proposal.changes.remove_edges  # a switch not read keeps what it saw before
    assert {link for link in await load_observed(demo_store) if link.switch == leaf(3)} == before


async def test_a_fresh_switch_not_read_is_not_judged(run: Discover, demo_store: GraphStore, lab: SimLab) -> None:
    lab.switch(leaf(3)).faults.unreachable = True
    result = await run(apply=True)
    assert result.drift is not None
    assert result.drift.unscanned == [leaf(3)] and result.drift.counts()["missing"] == 0


async def test_a_driver_not_marked_validated_is_refused_per_device(run: Discover, lab: SimLab) -> None:
    access = DeviceAccess(["bmc:sim"], timeout_s=0.3, driver_options=sim_options(lab))
    result = await run(access=access)
    assert {f.error for f in result.observations.failures} == {"DriverNotValidated"}
    assert {f.name for f in result.observations.failures} == {sw.system_name for sw in lab.switches()}
    assert len(result.observations.failures) == 14 and len(result.observations.nodes) == 2
    assert "switch:sim" in result.observations.failures[0].message
    assert lab.switch(leaf(0)).faults.calls == 0  # refused before any call reached the device


async def test_credentials_reach_the_driver_and_nowhere_else(
    run: Discover, demo_store: GraphStore, lab: SimLab, caplog: pytest.LogCaptureFixture
) -> None:
    password = "Pa55-for-the-bmc-8841"
    caplog.set_level(logging.DEBUG)
    await demo_store.write("MATCH (n:Node {key: $n}) SET n.bmc_credentials = 'bmc-admin'", {"n": N1})
    await demo_store.write("MATCH (n:Node {key: $n}) SET n.bmc_credentials = 'not-configured'", {"n": N2})
    secrets = SecretStore(
        None, environ={"METALGRAPH_SECRET_BMC_ADMIN_USERNAME": "root", "METALGRAPH_SECRET_BMC_ADMIN_PASSWORD": password}
    )
    access = DeviceAccess(["bmc:sim", "switch:sim"], secrets, timeout_s=0.3, driver_options=sim_options(lab))
    result = await run(access=access, apply=True)
    assert [(f.name, f.error) for f in result.observations.failures] == [(N2, "SecretNotFound")]
    assert [o.node for o in result.observations.nodes] == [N1]
    everything = await demo_store.read("MATCH (n) RETURN n{.*} AS n")
    assert password not in json.dumps(everything, default=str)
    assert password not in json.dumps(result.as_dict(), default=str)
    assert "credentials 'bmc-admin' resolved" in caplog.text
    assert password not in caplog.text
