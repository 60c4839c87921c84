"""A persistent sim lab: devices in files, shared by processes, surviving a restart."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from metalgraph.drivers.errors import DeviceUnreachable
from metalgraph.drivers.sim import STATE_DIR_ENV, SimBmc, SimLab, SimSwitch
from metalgraph.drivers.types import DeviceConfig, JobState, PowerAction, PowerState, SwitchportMode, VlanState
from metalgraph.server.devices.demo_lab import seed_lab
from metalgraph.server.inventory.demo import generate_fabric

PORTS = 24
ROUNDS = 60


def run_python(code: str, *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start another Python process running `code` (dedented)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


def config(lab: SimLab, name: str) -> DeviceConfig:
    return DeviceConfig(f"sim://{name}", options={"lab": lab}, timeout_s=2)


SET_VLANS = """
    import asyncio, sys
    from metalgraph.drivers.sim import SimLab, SimSwitch
    from metalgraph.drivers.types import DeviceConfig

    state_dir, first, rounds, ports = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

    async def main():
        switch = SimSwitch(DeviceConfig("sim://leaf-01", options={"lab": SimLab(state_dir=state_dir)}))
        for r in range(rounds):
            for port in range(first, ports + 1, 2):
                await switch.set_access_vlan(f"swp{port}", 100 + 50 * r + port)

    asyncio.run(main())
"""


def test_two_processes_changing_one_switch_lose_no_update(tmp_path: Path) -> None:
    lab = SimLab(state_dir=tmp_path)
    lab.add_switch("leaf-01", ports=PORTS)
    script = textwrap.dedent(SET_VLANS)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), str(first), str(ROUNDS), str(PORTS)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for first in (1, 2)  # odd ports and even ports: each process rewrites the file the other just wrote
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    leaf = lab.switch("leaf-01")
    last = 100 + 50 * (ROUNDS - 1)
    assert {name: port.access_vlan for name, port in leaf.ports.items()} == {
        f"swp{i}": last + i for i in range(1, PORTS + 1)
    }
    assert leaf.faults.calls == ROUNDS * PORTS, "every call of both processes was counted"


async def test_a_restarted_lab_finds_the_devices_as_they_were_left(tmp_path: Path) -> None:
    fabric = generate_fabric(16)
    first = SimLab(state_dir=tmp_path)
    report = seed_lab(fabric, first)
    assert (report.switches, report.nodes) == (len(fabric.switches), len(fabric.nodes))
    await SimSwitch(config(first, "leaf-p01-su01-r0")).set_trunk_vlans("swp1", [30, 10], native=5)
    await SimBmc(config(first, fabric.nodes[0].name)).set_power_state(PowerAction.ON)
    job = await SimBmc(config(first, fabric.nodes[1].name)).start_cleaning()

    restarted = SimLab(state_dir=tmp_path)  # a new process would see the same
    again = seed_lab(fabric, restarted)
    assert (again.switches, again.nodes) == (0, 0), "seeding keeps the devices the lab holds"
    leaf = SimSwitch(config(restarted, "leaf-p01-su01-r0"))
    assert await leaf.get_vlan_state("swp1") == VlanState(SwitchportMode.TRUNK, None, 5, (10, 30))
    assert await SimBmc(config(restarted, fabric.nodes[0].name)).get_power_state() is PowerState.ON
    bmc = SimBmc(config(restarted, fabric.nodes[1].name))
    states = [(await bmc.get_cleaning_job(job.id)).state for _ in range(3)]
    assert states[-1] is JobState.COMPLETED, "a cleaning job started before the restart goes on"


def test_the_files_hold_exactly_what_an_in_memory_lab_holds(tmp_path: Path) -> None:
    fabric = generate_fabric(16)
    memory, files = SimLab(), SimLab(state_dir=tmp_path)
    seed_lab(fabric, memory, drift=True)
    seed_lab(fabric, files, drift=True)
    reloaded = SimLab(state_dir=tmp_path)
    by_address = {s.address: s for s in reloaded.switches()}
    assert by_address == {s.address: s for s in memory.switches()}
    assert {n.address: n for n in reloaded.nodes()} == {n.address: n for n in memory.nodes()}
    assert reloaded.addresses() == memory.addresses()


async def test_faults_set_in_another_process_apply_here(tmp_path: Path) -> None:
    lab = SimLab(state_dir=tmp_path)
    lab.add_switch("leaf-01", ports=2)
    switch = SimSwitch(config(lab, "leaf-01"))
    finish(
        run_python(f"""
            from metalgraph.drivers.sim import SimLab
            with SimLab(state_dir={str(tmp_path)!r}).edit_switch("leaf-01") as leaf:
                leaf.faults.unreachable = True
        """)
    )
    with pytest.raises(DeviceUnreachable):
        await switch.get_ports()
    with lab.edit_switch("leaf-01") as leaf:
        leaf.faults.clear()
        leaf.faults.die_after_calls = 3
    finish(
        run_python(f"""
            import asyncio
            from metalgraph.drivers.sim import SimLab, SimSwitch
            from metalgraph.drivers.types import DeviceConfig
            lab = SimLab(state_dir={str(tmp_path)!r})
            switch = SimSwitch(DeviceConfig("sim://leaf-01", options={{"lab": lab}}))
            asyncio.run(switch.set_access_vlan("swp1", 10))
            asyncio.run(switch.get_ports())
        """)
    )
    assert (await switch.get_vlan_state("swp1")).access_vlan == 10, "the third call, counted across processes"
    with pytest.raises(DeviceUnreachable):
        await switch.get_ports()


async def test_the_default_lab_is_persistent_when_the_environment_names_a_directory(tmp_path: Path) -> None:
    lab = SimLab(state_dir=tmp_path)
    lab.add_node("node-01")
    out = finish(
        run_python(
            """
            import asyncio
            from metalgraph.drivers.sim import SimBmc, default_lab
            from metalgraph.drivers.types import DeviceConfig, PowerAction
            asyncio.run(SimBmc(DeviceConfig("sim://node-01")).set_power_state(PowerAction.ON))
            print(default_lab().persistent, sorted(default_lab().addresses()))
            """,
            env={STATE_DIR_ENV: str(tmp_path)},
        )
    )
    assert out.split() == ["True", "['sim://node-01']"]
    assert lab.node("node-01").power is PowerState.ON
    assert lab.node("node-01").boots == 1


async def test_a_removed_device_is_unreachable_and_autocreate_makes_one_file(tmp_path: Path) -> None:
    lab = SimLab(state_dir=tmp_path, autocreate=True)
    ports = await SimSwitch(config(lab, "leaf-09")).get_ports()
    assert len(ports) == 8 and SimLab(state_dir=tmp_path).addresses() == {"sim://leaf-09"}
    strict = SimLab(state_dir=tmp_path)
    strict.remove("leaf-09")
    with pytest.raises(DeviceUnreachable):
        await SimSwitch(config(strict, "leaf-09")).get_ports()


async def test_an_in_memory_lab_writes_no_file_and_shares_its_objects(tmp_path: Path) -> None:
    lab = SimLab()
    leaf = lab.add_switch("leaf-01", ports=2)
    await SimSwitch(config(lab, "leaf-01")).set_access_vlan("swp1", 20)
    assert not lab.persistent and lab.switch("leaf-01") is leaf and leaf.port("swp1").access_vlan == 20
    leaf.faults.unreachable = True  # no edit block needed in memory
    with pytest.raises(DeviceUnreachable):
        await SimSwitch(config(lab, "leaf-01")).get_ports()
    assert list(tmp_path.iterdir()) == []
