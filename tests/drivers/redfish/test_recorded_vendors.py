"""RedfishBmc end to end over loopback, on recorded Dell, Supermicro/NVIDIA HGX and HPE documents."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import pytest

from metalgraph.drivers.errors import AuthenticationFailed, ChangeRejected, Unsupported
from metalgraph.drivers.redfish import RedfishBmc
from metalgraph.drivers.types import (
    BootDevice,
    BootOverride,
    CpuInfo,
    DriveInfo,
    GpuInfo,
    HealthState,
    NicPortInfo,
    PowerAction,
    PowerState,
)

Factory = Callable[..., Any]
DELL_SYSTEM = "/redfish/v1/Systems/System.Embedded.1"
HPE_SYSTEM = "/redfish/v1/Systems/1"


def test_registered_under_its_entry_point() -> None:
    (entry,) = [e for e in entry_points(group="metalgraph.drivers.bmc") if e.name == "redfish"]
    assert entry.load() is RedfishBmc and RedfishBmc.name == "redfish"


async def test_dell_inventory(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("dell_r760")
    async with make_driver(bmc.url) as driver:
        inventory = await driver.get_inventory()
    assert (inventory.serial, inventory.vendor, inventory.model) == ("CNIVC0033R0123", "Dell Inc.", "PowerEdge R760")
    assert inventory.cpus == tuple(CpuInfo("Intel(R) Xeon(R) Gold 6430", 32, 64, f"CPU.Socket.{n}") for n in (1, 2))
    assert inventory.memory_gb == 512
    assert inventory.gpus == (GpuInfo("NVIDIA L40S", memory_gb=44.99, serial="1321623012345", slot="Slot 38"),)
    assert inventory.nics == (
        NicPortInfo("NIC.Integrated.1/NIC.Integrated.1-1", "b0:7b:25:d4:1e:10", 25.0, True),
        NicPortInfo("NIC.Integrated.1/NIC.Integrated.1-2", "b0:7b:25:d4:1e:11", 0.0, False),
        NicPortInfo("NIC.Slot.3/NIC.Slot.3-1", "a0:88:c2:3b:4d:e0", 100.0, True),
        NicPortInfo("NIC.Slot.3/NIC.Slot.3-2", "a0:88:c2:3b:4d:e1", 100.0, True),
    )
    assert [(d.media, d.capacity_gb, d.secure_erase) for d in inventory.drives] == [
        ("ssd", 959.66, False),
        ("ssd", 959.66, False),
        ("ssd", 3840.76, True),
        ("ssd", 3840.76, True),
    ]
    assert inventory.drives[2] == DriveInfo("Disk.Bay.2:Enclosure.Internal.0-1", 3840.76, "ssd", "S6CRNA0W100123", True)


async def test_hgx_inventory_takes_gpus_from_the_baseboard_system(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hgx_h100")  # lists Systems/HGX_Baseboard_0 before Systems/1
    async with make_driver(bmc.url) as driver:
        inventory = await driver.get_inventory()
        assert await driver.get_power_state() is PowerState.OFF  # the host (Systems/1), not the baseboard (On)
    assert (inventory.serial, inventory.model) == ("S453127X3C18025", "SYS-821GE-TNHR")
    assert inventory.cpus == tuple(CpuInfo("Intel(R) Xeon(R) Platinum 8480+", 56, 112, f"CPU{n}") for n in (1, 2))
    assert inventory.memory_gb == 2048  # no TotalSystemMemoryGiB: 32 modules of 64 GiB, 2 empty slots
    assert inventory.gpus == tuple(
        GpuInfo("NVIDIA H100 80GB HBM3", memory_gb=79.65, serial=f"16540230{n:05d}", slot=f"SXM{n}")
        for n in range(1, 9)
    )
    assert len(inventory.nics) == 9  # 8 Ethernet ConnectX-7 ports + the host interface; the InfiniBand port has no MAC
    assert inventory.nics[0] == NicPortInfo("1/1", "94:6d:ae:8a:10:01", 400.0, True)
    assert inventory.nics[7] == NicPortInfo("8/1", "94:6d:ae:8a:10:08", 0.0, False)
    assert inventory.nics[8] == NicPortInfo("1", "7c:c2:55:a0:11:22", 10.0, True)
    assert [d.secure_erase for d in inventory.drives] == [True, True, False]
    assert inventory.drives[0].capacity_gb == 7681.5


async def test_hpe_inventory_with_network_ports(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hpe_dl380")
    async with make_driver(bmc.url) as driver:
        inventory = await driver.get_inventory()
    assert inventory.memory_gb == 384
    assert inventory.cpus == tuple(
        CpuInfo("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", 32, 64, f"Proc {n}") for n in (1, 2)
    )
    assert inventory.nics == (
        NicPortInfo("DC080000/1", "48:df:37:11:22:30", 25.0, True),
        NicPortInfo("DC080000/2", "48:df:37:11:22:31", 0.0, False),
    )
    assert [(d.media, d.capacity_gb) for d in inventory.drives] == [("ssd", 480.1)] * 2 + [("hdd", 2400.48)] * 2
    assert inventory.gpus == ()


async def test_health_ok_and_warning_with_messages(fake_bmc: Factory, make_driver: Factory) -> None:
    async with make_driver(fake_bmc("dell_r760").url) as driver:
        assert (await driver.get_health()).state is HealthState.OK
    async with make_driver(fake_bmc("hpe_dl380").url) as driver:
        health = await driver.get_health()
    assert health.state is HealthState.WARNING
    assert health.messages == ("Systems/1/Storage/DE00A000: warning", "Systems/1/Storage/DE00A000/Drives/3: warning")


async def test_health_conditions_and_unreported(fake_bmc: Factory, make_driver: Factory, load_mockup: Factory) -> None:
    docs = load_mockup("dell_r760")
    message = "The power supply PSU.Slot.2 is not providing power."
    docs[DELL_SYSTEM]["Status"] = {"State": "Enabled", "Health": "OK", "HealthRollup": "Critical", "Conditions": [
        {"MessageId": "PSU0003", "Message": message, "Severity": "Critical"}]}  # fmt: skip
    async with make_driver(fake_bmc(docs).url) as driver:
        health = await driver.get_health()
    assert health.state is HealthState.CRITICAL and health.messages == (f"Systems/System.Embedded.1: {message}",)
    del docs[DELL_SYSTEM]["Status"]
    async with make_driver(fake_bmc(docs).url) as driver:
        health = await driver.get_health()
    assert health.state is HealthState.WARNING and "reports no health" in health.messages[0]


async def test_power_is_idempotent_and_reads_back(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hgx_h100")
    async with make_driver(bmc.url) as driver:
        await driver.set_power_state(PowerAction.ON)
        assert await driver.get_power_state() is PowerState.ON
        await driver.set_power_state(PowerAction.ON)
        await driver.set_power_state(PowerAction.CYCLE)
        assert await driver.get_power_state() is PowerState.ON
        await driver.set_power_state(PowerAction.SOFT_OFF)
        assert await driver.get_power_state() is PowerState.OFF
    resets = [body["ResetType"] for path, body in bmc.bodies if path.endswith("ComputerSystem.Reset")]
    assert resets == ["On", "ForceRestart", "GracefulShutdown"]


async def test_cycle_without_restart_is_off_then_on(
    fake_bmc: Factory, make_driver: Factory, load_mockup: Factory
) -> None:
    docs = load_mockup("hpe_dl380")
    docs[HPE_SYSTEM]["Actions"]["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"] = [
        "On",
        "ForceOff",
        "Nmi",
    ]
    bmc = fake_bmc(docs)
    async with make_driver(bmc.url) as driver:
        await driver.set_power_state(PowerAction.CYCLE)
        assert await driver.get_power_state() is PowerState.ON
    assert [body["ResetType"] for _, body in bmc.bodies] == ["ForceOff", "On"]


async def test_power_refusals(fake_bmc: Factory, make_driver: Factory, load_mockup: Factory) -> None:
    bmc = fake_bmc("hpe_dl380")
    bmc.ignored_resets = {"GracefulShutdown"}  # an OS that ignores the ACPI request
    async with make_driver(bmc.url, timeout_s=1.0) as driver:
        with pytest.raises(ChangeRejected, match="still 'On'"):
            await driver.set_power_state(PowerAction.SOFT_OFF)
    docs = load_mockup("hpe_dl380")
    docs[HPE_SYSTEM]["Actions"]["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"] = ["On", "Nmi"]
    async with make_driver(fake_bmc(docs).url) as driver:
        with pytest.raises(Unsupported, match="ForceOff"):
            await driver.set_power_state(PowerAction.OFF)


async def test_boot_override_once_and_persistent(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hpe_dl380")
    async with make_driver(bmc.url) as driver:
        assert await driver.get_boot_override() == BootOverride(BootDevice.PXE, persistent=False)
        await driver.set_boot_device(BootDevice.PXE)  # already set: no PATCH
        assert bmc.calls("PATCH") == []
        await driver.set_boot_device(BootDevice.DISK)
        assert await driver.get_boot_override() == BootOverride(BootDevice.DISK, persistent=False)
        await driver.set_boot_device(BootDevice.BIOS, persistent=True)
        assert await driver.get_boot_override() == BootOverride(BootDevice.BIOS, persistent=True)
    assert [body for _, body in bmc.bodies][-1] == {
        "Boot": {"BootSourceOverrideTarget": "BiosSetup", "BootSourceOverrideEnabled": "Continuous"}
    }


async def test_boot_refusals(fake_bmc: Factory, make_driver: Factory, load_mockup: Factory) -> None:
    async with make_driver(fake_bmc("dell_r760").url) as driver:
        assert await driver.get_boot_override() == BootOverride(None)
        with pytest.raises(Unsupported, match="Usb"):
            await driver.set_boot_device(BootDevice.USB)  # not in Dell's allowable values
    bmc = fake_bmc("hgx_h100")
    bmc.reject_patch = True
    async with make_driver(bmc.url) as driver:
        with pytest.raises(ChangeRejected, match="read-only"):
            await driver.set_boot_device(BootDevice.PXE)
    docs = load_mockup("dell_r760")
    docs[DELL_SYSTEM]["Boot"].update(BootSourceOverrideEnabled="Once", BootSourceOverrideTarget="UefiHttp")
    async with make_driver(fake_bmc(docs).url) as driver:
        with pytest.raises(Unsupported, match="UefiHttp"):
            await driver.get_boot_override()


async def test_session_is_created_and_deleted(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hpe_dl380")
    driver = make_driver(bmc.url)
    await driver.get_power_state()
    assert list(bmc.sessions.values()) == ["/redfish/v1/SessionService/Sessions/1"]
    await driver.close()
    await driver.close()  # idempotent
    assert bmc.sessions == {} and bmc.calls("DELETE") == ["/redfish/v1/SessionService/Sessions/1"]


async def test_basic_auth_and_wrong_password(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hpe_dl380")
    async with make_driver(bmc.url, auth="basic") as driver:
        await driver.get_power_state()
    assert bmc.sessions == {} and "/redfish/v1/SessionService/Sessions" not in bmc.calls("POST")
    async with make_driver(bmc.url, password="hunter2") as driver:
        with pytest.raises(AuthenticationFailed) as caught:
            await driver.get_inventory()
    assert "hunter2" not in str(caught.value)
