"""The simulated devices: seeded state read and changed through the driver interfaces, and faults."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from metalgraph.drivers.errors import ChangeRejected, DeviceTimeout, DeviceUnreachable, MalformedResponse, Unsupported
from metalgraph.drivers.sim import SimBmc, SimLab, SimNeighbour, SimPort, SimSwitch, default_lab
from metalgraph.drivers.types import (
    BootDevice,
    BootOverride,
    DeviceConfig,
    DriveInfo,
    HardwareInventory,
    JobState,
    PowerAction,
    PowerState,
    SwitchportMode,
    VlanState,
)

Config = Callable[..., DeviceConfig]


async def test_a_seeded_switch_reads_back_through_the_driver(lab: SimLab, sim_config: Config) -> None:
    lab.add_switch("leaf-01", [SimPort("Ethernet1/2", 12, speed_gbps=400), SimPort("Ethernet1/1", 11, oper_up=False)])
    lab.switch("leaf-01").port("Ethernet1/2").neighbour = SimNeighbour("02:aa:00:00:00:01", "node-01", "eth0")
    async with SimSwitch(sim_config("leaf-01")) as switch:
        ports = await switch.get_ports()
        neighbours = await switch.get_lldp_neighbours()
    assert [(p.name, p.index, p.speed_gbps, p.oper_up) for p in ports] == [
        ("Ethernet1/1", 11, 100, False),
        ("Ethernet1/2", 12, 400, True),
    ]
    assert [(n.local_port, n.system_name, n.port_id) for n in neighbours] == [("Ethernet1/2", "node-01", "eth0")]


async def test_cabled_switches_see_each_other_over_lldp(lab: SimLab, sim_config: Config) -> None:
    lab.add_switch("leaf-01", ports=4)
    spine = lab.add_switch("spine-01", ports=2)
    lab.cable("leaf-01", "swp4", "spine-01", "swp1")
    leaf_view = await SimSwitch(sim_config("leaf-01")).get_lldp_neighbours()
    spine_view = await SimSwitch(sim_config("spine-01")).get_lldp_neighbours()
    assert [(n.local_port, n.chassis_id, n.system_name, n.port_id) for n in leaf_view] == [
        ("swp4", spine.chassis_id, "spine-01", "swp1")
    ]
    assert [(n.local_port, n.system_name, n.port_id) for n in spine_view] == [("swp1", "leaf-01", "swp4")]


async def test_an_unknown_address_is_unreachable_unless_the_lab_autocreates(sim_config: Config) -> None:
    with pytest.raises(DeviceUnreachable, match="sim://typo-01"):
        await SimSwitch(sim_config("typo-01")).get_ports()
    demo = SimLab(autocreate=True)
    ports = await SimSwitch(DeviceConfig("sim://leaf-09", options={"lab": demo})).get_ports()
    inventory = await SimBmc(DeviceConfig("sim://node-09", options={"lab": demo})).get_inventory()
    assert [p.name for p in ports] == [f"swp{i}" for i in range(1, 9)]
    assert inventory.serial == "SIM-node-09" and inventory.nics


async def test_drivers_without_a_lab_option_share_the_process_wide_lab() -> None:
    default_lab().add_switch("shared-test-switch", ports=2)
    try:
        await SimSwitch(DeviceConfig("sim://shared-test-switch")).set_access_vlan("swp1", 20)
        assert default_lab().switch("shared-test-switch").port("swp1").access_vlan == 20
    finally:
        default_lab().remove("shared-test-switch")


async def test_vlan_changes_apply_and_are_idempotent(lab: SimLab, sim_config: Config) -> None:
    lab.add_switch("leaf-01", ports=2)
    switch = SimSwitch(sim_config("leaf-01"))
    await switch.set_trunk_vlans("swp1", [30, 10, 20, 10], native=5)
    await switch.set_trunk_vlans("swp1", [30, 10, 20, 10], native=5)
    assert await switch.get_vlan_state("swp1") == VlanState(SwitchportMode.TRUNK, None, 5, (10, 20, 30))
    await switch.set_access_vlan("swp1", 7)
    states = await switch.get_vlan_states()
    assert states == {"swp1": VlanState(SwitchportMode.ACCESS, 7), "swp2": VlanState(SwitchportMode.ACCESS, 1)}


async def test_the_sim_switch_refuses_what_a_real_switch_refuses(lab: SimLab, sim_config: Config) -> None:
    lab.add_switch("leaf-01", [SimPort("swp1", 1), SimPort("eth0", 2, mode=SwitchportMode.ROUTED)])
    switch = SimSwitch(sim_config("leaf-01"))
    with pytest.raises(ChangeRejected, match="4094"):
        await switch.set_access_vlan("swp1", 4095)
    with pytest.raises(ChangeRejected, match="routed"):
        await switch.set_trunk_vlans("eth0", [10])
    with pytest.raises(MalformedResponse) as caught:
        await switch.get_vlan_state("swp99")
    assert caught.value.field == "port"
    assert lab.switch("leaf-01").port("swp1").access_vlan == 1


async def test_faults_unreachable_slow_and_rejected_changes(lab: SimLab, sim_config: Config) -> None:
    leaf = lab.add_switch("leaf-01", ports=1)
    switch = SimSwitch(sim_config("leaf-01", timeout_s=0.05))
    leaf.faults.unreachable = True
    with pytest.raises(DeviceUnreachable):
        await switch.get_ports()
    leaf.faults.clear()
    leaf.faults.latency_s = 0.01
    assert len(await switch.get_ports()) == 1, "latency within the timeout only slows the call"
    leaf.faults.latency_s = 1.0
    with pytest.raises(DeviceTimeout):
        await switch.get_ports()
    leaf.faults.clear()
    leaf.faults.reject_changes = True
    with pytest.raises(ChangeRejected):
        await switch.set_access_vlan("swp1", 10)
    assert leaf.port("swp1").access_vlan == 1
    assert await switch.get_vlan_state("swp1") == VlanState(SwitchportMode.ACCESS, 1), "reads still work"


async def test_a_device_that_dies_half_way_stops_answering(lab: SimLab, sim_config: Config) -> None:
    lab.add_node("node-01").faults.die_after_calls = 2
    bmc = SimBmc(sim_config("node-01"))
    await bmc.get_power_state()
    await bmc.set_power_state(PowerAction.ON)
    for _ in range(2):
        with pytest.raises(DeviceUnreachable):
            await bmc.get_power_state()


async def test_flapping_links_and_rising_error_counters(lab: SimLab, sim_config: Config) -> None:
    leaf = lab.add_switch("leaf-01", ports=2)
    leaf.faults.flapping_ports.add("swp1")
    leaf.faults.rising_errors["swp2"] = 5
    switch = SimSwitch(sim_config("leaf-01"))
    oper = [(await switch.get_ports())[0].oper_up for _ in range(4)]
    assert oper == [False, True, False, True]
    errors = [(await switch.get_counters())["swp2"].in_errors for _ in range(2)]
    assert errors == [25, 30], "four port reads and two counter reads each added 5"
    assert (await switch.get_counters())["swp1"].in_errors == 0


async def test_power_and_a_one_time_boot_override(lab: SimLab, sim_config: Config) -> None:
    node = lab.add_node("node-01", boot_devices=[BootDevice.PXE, BootDevice.DISK])
    bmc = SimBmc(sim_config("node-01"))
    await bmc.set_boot_device(BootDevice.PXE)
    assert await bmc.get_boot_override() == BootOverride(BootDevice.PXE, persistent=False)
    await bmc.set_power_state(PowerAction.ON)
    await bmc.set_power_state(PowerAction.ON)
    assert await bmc.get_power_state() is PowerState.ON
    assert (node.boots, node.booted_from) == (1, BootDevice.PXE), "powering on twice boots once"
    assert await bmc.get_boot_override() == BootOverride(None), "a one-time override is used up by the boot"
    await bmc.set_boot_device(BootDevice.DISK, persistent=True)
    await bmc.set_power_state(PowerAction.CYCLE)
    assert (node.boots, node.booted_from) == (2, BootDevice.DISK)
    assert (await bmc.get_boot_override()).device is BootDevice.DISK
    await bmc.set_power_state(PowerAction.SOFT_OFF)
    assert await bmc.get_power_state() is PowerState.OFF
    with pytest.raises(Unsupported):
        await bmc.set_boot_device(BootDevice.USB)


async def test_secure_erase_progresses_over_polls_and_completes(lab: SimLab, sim_config: Config) -> None:
    lab.add_node("node-01").cleaning_steps = 3
    bmc = SimBmc(sim_config("node-01"))
    job = await bmc.start_cleaning()
    polls = [await bmc.get_cleaning_job(job.id) for _ in range(4)]
    assert [(p.state, p.percent) for p in polls] == [
        (JobState.RUNNING, 33),
        (JobState.RUNNING, 66),
        (JobState.COMPLETED, 100),
        (JobState.COMPLETED, 100),
    ]
    with pytest.raises(MalformedResponse) as caught:
        await bmc.get_cleaning_job("no-such-job")
    assert caught.value.field == "job_id"


async def test_cleaning_can_fail_and_needs_drives_that_offer_the_method(lab: SimLab, sim_config: Config) -> None:
    node = lab.add_node("node-01")
    node.faults.fail_cleaning = True
    node.cleaning_steps = 1
    bmc = SimBmc(sim_config("node-01"))
    job = await bmc.start_cleaning()
    assert (await bmc.get_cleaning_job(job.id)).state is JobState.FAILED
    lab.add_node("node-02", HardwareInventory(drives=(DriveInfo("sda", 1000, "hdd"),)))
    with pytest.raises(Unsupported):
        await SimBmc(sim_config("node-02")).start_cleaning()
