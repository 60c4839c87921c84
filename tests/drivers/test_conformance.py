"""The conformance kit passes conformant drivers and fails broken ones, capability by capability."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable

import pytest

from metalgraph.drivers.conformance import CheckStatus, ConformanceReport, check_driver, validate
from metalgraph.drivers.errors import Unsupported
from metalgraph.drivers.sim import SimBmc, SimLab, SimPort, SimSwitch
from metalgraph.drivers.types import (
    BootDevice,
    BootOverride,
    DeviceConfig,
    HardwareInventory,
    LldpNeighbour,
    NicPortInfo,
    PortCounters,
    PortInfo,
    PowerAction,
    PowerState,
    SwitchportMode,
    VlanState,
)

Config = Callable[..., DeviceConfig]
SWITCH_WRITES = ("access_vlan", "trunk", "vlan_restore")


def statuses(report: ConformanceReport) -> dict[str, CheckStatus]:
    return {check.capability: check.status for check in report.checks}


async def test_the_sim_switch_passes_read_only_and_leaves_writes_skipped(lab: SimLab, sim_config: Config) -> None:
    lab.add_switch("leaf-01", ports=8)
    report = await validate("switch", "sim", sim_config("leaf-01"))
    assert report.passed, report.render()
    assert statuses(report) == {
        "driver": CheckStatus.PASSED,
        "ports": CheckStatus.PASSED,
        "vlan_state": CheckStatus.PASSED,
        "lldp": CheckStatus.PASSED,
        "counters": CheckStatus.PASSED,
        "errors": CheckStatus.PASSED,
        **dict.fromkeys(SWITCH_WRITES, CheckStatus.SKIPPED),
        "close": CheckStatus.PASSED,
    }


async def test_the_sim_switch_passes_with_writes_and_the_test_port_is_restored(lab: SimLab, sim_config: Config) -> None:
    leaf = lab.add_switch("leaf-01", ports=4)
    leaf.port("swp3").mode, leaf.port("swp3").access_vlan = SwitchportMode.TRUNK, None
    leaf.port("swp3").native_vlan, leaf.port("swp3").allowed_vlans = 3001, (100, 200)
    leaf.faults.flapping_ports.add("swp1")
    leaf.faults.rising_errors["swp2"] = 3
    report = await validate("switch", "sim", sim_config("leaf-01"), allow_writes=True, test_port="swp3")
    assert report.passed, report.render()
    assert all(report.check(cap).status is CheckStatus.PASSED for cap in SWITCH_WRITES)
    assert "3001" not in report.check("access_vlan").message, "test VLANs avoid the port's own VLANs"
    restored = await SimSwitch(sim_config("leaf-01")).get_vlan_state("swp3")
    assert restored == VlanState(SwitchportMode.TRUNK, None, 3001, (100, 200))


@pytest.mark.parametrize("power", [PowerState.ON, PowerState.OFF])
async def test_the_sim_bmc_passes_with_writes_and_ends_as_it_started(
    lab: SimLab, sim_config: Config, power: PowerState
) -> None:
    node = lab.add_node("node-01", power=power)
    node.boot = BootOverride(BootDevice.DISK, persistent=True)
    report = await validate("bmc", "sim", sim_config("node-01"), allow_writes=True)
    assert report.passed, report.render()
    assert report.check("power_control").status is CheckStatus.PASSED
    assert "restored to disk" in report.check("boot_device").message
    assert (node.power, node.boot) == (power, BootOverride(BootDevice.DISK, persistent=True))


async def test_the_report_reads_as_text_and_as_json(lab: SimLab, sim_config: Config) -> None:
    lab.add_node("node-01")
    report = await validate("bmc", "sim", sim_config("node-01"))
    data = json.loads(report.to_json())
    assert (data["driver"], data["kind"], data["target"], data["passed"]) == ("sim", "bmc", "sim://node-01", True)
    assert {c["capability"]: c["status"] for c in data["checks"]}["power_control"] == "skipped"
    text = report.render()
    assert text.splitlines()[0] == "bmc driver 'sim' against sim://node-01 (read-only): PASSED"
    assert "PASS    inventory" in text and "64 cores" in text


async def test_an_unreachable_device_fails_every_device_check_with_the_reason(lab: SimLab, sim_config: Config) -> None:
    lab.add_switch("leaf-01").faults.unreachable = True
    report = await validate("switch", "sim", sim_config("leaf-01"), allow_writes=True, test_port="swp1")
    assert not report.passed
    assert "get_ports raised DeviceUnreachable" in report.check("ports").message
    assert {check.capability for check in report.failures} >= {"ports", "errors", *SWITCH_WRITES}
    assert "FAILED" in report.render().splitlines()[0]


async def test_rejected_changes_fail_the_write_checks(lab: SimLab, sim_config: Config) -> None:
    lab.add_switch("leaf-01").faults.reject_changes = True
    report = await validate("switch", "sim", sim_config("leaf-01"), allow_writes=True, test_port="swp1")
    assert {check.capability for check in report.failures} == set(SWITCH_WRITES)
    assert "set_access_vlan('swp1', 3001) raised ChangeRejected" in report.check("access_vlan").message


async def test_write_runs_need_a_usable_test_port(lab: SimLab, sim_config: Config) -> None:
    lab.add_switch("leaf-01", [SimPort("swp1", 1), SimPort("mgmt0", 2, mode=SwitchportMode.ROUTED)])
    no_port = await validate("switch", "sim", sim_config("leaf-01"), allow_writes=True)
    routed = await validate("switch", "sim", sim_config("leaf-01"), allow_writes=True, test_port="mgmt0")
    missing = await validate("switch", "sim", sim_config("leaf-01"), allow_writes=True, test_port="swp9")
    assert not (no_port.passed or routed.passed or missing.passed)
    assert "no test port was given" in no_port.check("access_vlan").message
    assert "is routed" in routed.check("trunk").message
    assert "MalformedResponse" in missing.check("vlan_restore").message


async def test_a_driver_that_cannot_be_loaded_fails_the_driver_check() -> None:
    report = await validate("switch", "acme", DeviceConfig("udp:10.0.0.1:161"))
    assert not report.passed
    assert [c.capability for c in report.checks] == ["driver"]
    assert "installed switch drivers" in report.check("driver").message


async def test_credentials_in_an_address_stay_out_of_the_report(lab: SimLab) -> None:
    report = await validate("bmc", "acme", DeviceConfig("https://admin:hunter2@10.0.0.5/redfish"))
    assert report.target == "https://10.0.0.5/redfish"
    assert "hunter2" not in report.to_json() and "hunter2" not in report.render()


# --- deliberately broken drivers: each breaks one promise and must fail exactly that capability --------------


class DuplicateIndexes(SimSwitch):
    async def get_ports(self) -> list[PortInfo]:
        return [dataclasses.replace(port, index=1) for port in await super().get_ports()]


class CrashesOnUnknownPort(SimSwitch):
    async def get_vlan_state(self, port: str) -> VlanState:
        return (await self.get_vlan_states())[port]


class IgnoresAccessVlan(SimSwitch):
    async def set_access_vlan(self, port: str, vlan: int) -> None:
        await self.get_vlan_state(port)


class UnsortedTrunk(SimSwitch):
    async def get_vlan_state(self, port: str) -> VlanState:
        state = await super().get_vlan_state(port)
        return dataclasses.replace(state, allowed_vlans=state.allowed_vlans[::-1])

    async def get_vlan_states(self) -> dict[str, VlanState]:
        return {name: await self.get_vlan_state(name) for name in await super().get_vlan_states()}


class CountersGoBackwards(SimSwitch):
    reads = 0

    async def get_counters(self) -> dict[str, PortCounters]:
        self.reads += 1
        return {name: PortCounters(in_errors=100 - self.reads) for name in await super().get_counters()}


class NeighbourOnGhostPort(SimSwitch):
    async def get_lldp_neighbours(self) -> list[LldpNeighbour]:
        return [LldpNeighbour("swp99", "02:00:00:00:00:99", "ghost")]


class HangsOnLldp(SimSwitch):
    async def get_lldp_neighbours(self) -> list[LldpNeighbour]:
        await asyncio.sleep(3600)
        return []


@pytest.mark.parametrize(
    ("broken", "capability", "expected"),
    [
        (DuplicateIndexes, "ports", "port index 1 is listed 4 times"),
        (CrashesOnUnknownPort, "errors", "raised KeyError"),
        (IgnoresAccessVlan, "access_vlan", "reads back as access VLAN 1, expected access VLAN 3001"),
        (UnsortedTrunk, "trunk", "expected trunk"),
        (CountersGoBackwards, "counters", "in_errors went from 99 to 98"),
        (NeighbourOnGhostPort, "lldp", "unknown port 'swp99'"),
        (HangsOnLldp, "lldp", "did not return within"),
    ],
)
async def test_a_broken_switch_driver_fails_the_capability_it_breaks(
    lab: SimLab, sim_config: Config, broken: type[SimSwitch], capability: str, expected: str
) -> None:
    lab.add_switch("leaf-01", ports=4)
    report = await check_driver(broken(sim_config("leaf-01", timeout_s=0.01)), allow_writes=True, test_port="swp2")
    assert not report.passed
    # a driver that cannot set an access VLAN cannot restore an access port either
    also_failing = ["vlan_restore"] if capability == "access_vlan" else []
    assert [check.capability for check in report.failures] == [capability, *also_failing], report.render()
    assert expected in report.check(capability).message


async def test_an_unsupported_optional_capability_is_skipped_not_failed(lab: SimLab, sim_config: Config) -> None:
    class NoLldp(SimSwitch):
        async def get_lldp_neighbours(self) -> list[LldpNeighbour]:
            raise Unsupported("LLDP-MIB is not available", device=self.address)

    lab.add_switch("leaf-01", ports=2)
    report = await check_driver(NoLldp(sim_config("leaf-01")))
    assert report.passed, report.render()
    assert report.check("lldp").status is CheckStatus.SKIPPED
    assert "LLDP-MIB is not available" in report.check("lldp").message


class UpperCaseMacs(SimBmc):
    async def get_inventory(self) -> HardwareInventory:
        inventory = await super().get_inventory()
        return dataclasses.replace(inventory, nics=(NicPortInfo("eth0", "02:AB:CD:00:00:01"),))


class PowerOnIgnored(SimBmc):
    async def set_power_state(self, action: PowerAction) -> None:
        if action is not PowerAction.ON:
            await super().set_power_state(action)


class InventsJobs(SimBmc):
    async def get_cleaning_job(self, job_id: str):  # type: ignore[no-untyped-def]
        return {"id": job_id, "state": "done"}


class CannotPxe(SimBmc):
    async def set_boot_device(self, device: BootDevice, *, persistent: bool = False) -> None:
        raise Unsupported("PXE is not offered", device=self.address)


@pytest.mark.parametrize(
    ("broken", "capability", "expected"),
    [
        (UpperCaseMacs, "inventory", "MAC '02:AB:CD:00:00:01' is not lower-case"),
        (PowerOnIgnored, "power_control", "after set_power_state(on) power reads off, expected on"),
        (InventsJobs, "errors", "returned {'id'"),
        (CannotPxe, "boot_device", "raised Unsupported: sim://node-01: PXE is not offered"),
    ],
)
async def test_a_broken_bmc_driver_fails_the_capability_it_breaks(
    lab: SimLab, sim_config: Config, broken: type[SimBmc], capability: str, expected: str
) -> None:
    lab.add_node("node-01", power=PowerState.ON)
    report = await check_driver(broken(sim_config("node-01")), allow_writes=True)
    assert [check.capability for check in report.failures] == [capability], report.render()
    assert expected in report.check(capability).message


async def test_a_driver_registered_under_another_name_fails_the_driver_check(lab: SimLab, sim_config: Config) -> None:
    lab.add_switch("leaf-01", ports=2)
    report = await check_driver(SimSwitch(sim_config("leaf-01")), name="acme")
    assert [check.capability for check in report.failures] == ["driver"]
    assert "registered as 'acme'" in report.check("driver").message
