"""Garbage from a BMC gives `MalformedResponse` naming the field, never another exception; transport
trouble gives the retryable errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from metalgraph.drivers.errors import DeviceTimeout, DeviceUnreachable, MalformedResponse
from metalgraph.drivers.types import BootDevice, PowerAction

Factory = Callable[..., Any]
R = "/redfish/v1"
HPE = f"{R}/Systems/1"
DELL = f"{R}/Systems/System.Embedded.1"
HGX_PORT = f"{R}/Chassis/1/NetworkAdapters/1/Ports/1"
GPU1 = f"{R}/Systems/HGX_Baseboard_0/Processors/GPU_SXM_1"
DELL_GPU = f"{DELL}/Processors/Video.Slot.38-1"
DELL_NVME = f"{DELL}/Storage/CPU.1/Drives/Disk.Bay.2:Enclosure.Internal.0-1"


def put(path: str, *keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(docs: dict[str, Any]) -> None:
        target = docs[path]
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


def drop(path: str, *keys: str) -> Callable[[dict[str, Any]], None]:
    def change(docs: dict[str, Any]) -> None:
        target = docs[path]
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return change


F_HPE = "Systems/1"
F_DELL = "Systems/System.Embedded.1"
F_PORT = "Chassis/1/NetworkAdapters/1/Ports/1"
F_NVME = f"{F_DELL}/Storage/CPU.1/Drives/Disk.Bay.2:Enclosure.Internal.0-1"
F_GPU1 = "Systems/HGX_Baseboard_0/Processors/GPU_SXM_1"
ONE_CPU = ["/redfish/v1/Systems/1/Processors/1"]

CASES = [
    (
        "hgx_h100",
        put(f"{R}/Systems/1", "ProcessorSummary", "Count", value="2"),
        "get_inventory",
        "Systems/1/ProcessorSummary/Count",
    ),
    (
        "hpe_dl380",
        put(f"{HPE}/Processors/1", "TotalCores", value="32 cores"),
        "get_inventory",
        f"{F_HPE}/Processors/1/TotalCores",
    ),
    ("hpe_dl380", drop(f"{HPE}/Processors", "Members"), "get_inventory", f"{F_HPE}/Processors/Members"),
    (
        "hpe_dl380",
        put(f"{HPE}/Processors", "Members", value=[{"href": "1"}]),
        "get_inventory",
        f"{F_HPE}/Processors/Members/0/@odata.id",
    ),
    ("hpe_dl380", put(f"{HPE}/Processors", "Members", value=ONE_CPU), "get_inventory", f"{F_HPE}/Processors/Members/0"),
    (
        "hpe_dl380",
        put(f"{HPE}/EthernetInterfaces/1", "MACAddress", value="48:DF:37:11"),
        "get_inventory",
        f"{F_HPE}/EthernetInterfaces/1/MACAddress",
    ),
    (
        "hpe_dl380",
        put(f"{HPE}/Memory/proc1dimm1", "CapacityMiB", value=None),
        "get_inventory",
        None,
    ),  # null: "not reported"
    ("hgx_h100", put(HGX_PORT, "CurrentSpeedGbps", value="400"), "get_inventory", f"{F_PORT}/CurrentSpeedGbps"),
    (
        "hgx_h100",
        put(HGX_PORT, "Ethernet", "AssociatedMACAddresses", value="94:6D"),
        "get_inventory",
        f"{F_PORT}/Ethernet/AssociatedMACAddresses",
    ),
    (
        "hgx_h100",
        put(GPU1, "MemorySummary", "TotalMemorySizeMiB", value=True),
        "get_inventory",
        f"{F_GPU1}/MemorySummary/TotalMemorySizeMiB",
    ),
    (
        "dell_r760",
        put(DELL_GPU, "ProcessorMemory", value={"CapacityMiB": 1}),
        "get_inventory",
        f"{F_DELL}/Processors/Video.Slot.38-1/ProcessorMemory",
    ),
    ("dell_r760", put(DELL_NVME, "CapacityBytes", value=-1), "get_inventory", f"{F_NVME}/CapacityBytes"),
    ("dell_r760", put(DELL, "MemorySummary", value="512 GB"), "get_inventory", f"{F_DELL}/MemorySummary"),
    (
        "dell_r760",
        put(f"{DELL}/Storage/CPU.1", "Drives", value=[None]),
        "get_inventory",
        f"{F_DELL}/Storage/CPU.1/Drives/0",
    ),
    ("hpe_dl380", drop(HPE, "PowerState"), "get_power_state", f"{F_HPE}/PowerState"),
    ("hpe_dl380", put(HPE, "PowerState", value="Blinking"), "get_power_state", f"{F_HPE}/PowerState"),
    ("hpe_dl380", put(HPE, "PowerState", value=1), "set_power_state", f"{F_HPE}/PowerState"),
    ("hpe_dl380", drop(HPE, "Id"), "set_power_state", f"{F_HPE}/Id"),  # sushy's required attribute
    ("hpe_dl380", put(HPE, "Boot", value="Pxe"), "get_boot_override", f"{F_HPE}/Boot"),
    ("hpe_dl380", put(HPE, "Boot", value="Pxe"), "set_boot_device", F_HPE),  # through sushy's System parsing
    ("hpe_dl380", put(HPE, "Status", value="OK"), "set_power_state", F_HPE),
    (
        "hpe_dl380",
        put(HPE, "Boot", "BootSourceOverrideEnabled", value="Sometimes"),
        "get_boot_override",
        f"{F_HPE}/Boot/BootSourceOverrideEnabled",
    ),
    ("hpe_dl380", put(HPE, "Status", "HealthRollup", value="Degraded"), "get_health", f"{F_HPE}/Status/HealthRollup"),
    (
        "hpe_dl380",
        put(f"{HPE}/Storage/DE00A000/Drives/3", "Status", value=["Warning"]),
        "get_health",
        f"{F_HPE}/Storage/DE00A000/Drives/3/Status",
    ),
    (
        "dell_r760",
        put(DELL_NVME, "Actions", "#Drive.SecureErase", value={}),
        "start_cleaning",
        f"{F_NVME}/Actions/#Drive.SecureErase/target",
    ),
    ("hgx_h100", put(f"{R}/Systems", "Members", value="all of them"), "get_power_state", "Systems/Members"),
]


async def call(driver: Any, method: str) -> Any:
    if method == "set_power_state":
        return await driver.set_power_state(PowerAction.ON)
    if method == "set_boot_device":
        return await driver.set_boot_device(BootDevice.DISK)
    return await getattr(driver, method)()


@pytest.mark.parametrize(("fixture", "change", "method", "field"), CASES)
async def test_garbage_names_the_field(
    fake_bmc: Factory,
    make_driver: Factory,
    load_mockup: Factory,
    fixture: str,
    change: Any,
    method: str,
    field: str | None,
) -> None:
    docs = load_mockup(fixture)
    change(docs)
    async with make_driver(fake_bmc(docs).url) as driver:
        if field is None:
            await call(driver, method)
            return
        with pytest.raises(MalformedResponse) as caught:
            await call(driver, method)
    assert caught.value.field == field


RAW = [
    (
        f"{HPE}/Storage/DE00A000/Drives/0",
        200,
        b'{"Id": "0", "CapacityBytes": ',
        "get_inventory",
        "Systems/1/Storage/DE00A000/Drives/0",
    ),
    (HPE, 200, b"[1, 2]", "get_power_state", "Systems/1"),
    (HPE, 200, b"<html>Login</html>", "set_power_state", "Systems/1"),
    (f"{R}/Systems", 200, b"", "get_power_state", "Systems/Members"),
    (R, 200, b"not json", "get_power_state", "ServiceRoot"),
    (f"{HPE}/Storage/DE00A000", 200, b'"DE00A000"', "get_inventory", "Systems/1/Storage/DE00A000"),
]


@pytest.mark.parametrize(("path", "status", "body", "method", "field"), RAW)
async def test_unparseable_documents_name_the_resource(
    fake_bmc: Factory, make_driver: Factory, path: str, status: int, body: bytes, method: str, field: str
) -> None:
    bmc = fake_bmc("hpe_dl380")
    bmc.overrides[path] = (status, body)
    async with make_driver(bmc.url) as driver:
        with pytest.raises(MalformedResponse) as caught:
            await call(driver, method)
    assert caught.value.field == field


async def test_server_error_is_retryable_unreachable(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hpe_dl380")
    bmc.overrides[HPE] = (503, b'{"error": {"code": "Base.1.8.ServiceTemporarilyUnavailable", "message": "busy"}}')
    async with make_driver(bmc.url) as driver:
        with pytest.raises(DeviceUnreachable) as caught:
            await driver.get_power_state()
    assert caught.value.retryable and "503" in str(caught.value)


async def test_a_stalled_bmc_times_out(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hpe_dl380")
    bmc.delays[HPE] = 3.0
    async with make_driver(bmc.url, timeout_s=0.5) as driver:
        with pytest.raises(DeviceTimeout):
            await driver.get_power_state()
