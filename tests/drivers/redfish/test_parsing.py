"""Pure parsing on recorded documents and on hand-made variations (no network)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from metalgraph.drivers.errors import MalformedResponse, Unsupported
from metalgraph.drivers.redfish.cleaning import task_progress
from metalgraph.drivers.redfish.doc import Doc, relative
from metalgraph.drivers.redfish.health import build_health
from metalgraph.drivers.redfish.inventory import (
    InventoryDocs,
    build_inventory,
    merge_nics,
    normalize_mac,
    parse_drive,
    parse_network_port,
    parse_processor,
)
from metalgraph.drivers.redfish.power import POWER_READS, boot_override, power_value
from metalgraph.drivers.types import BootDevice, BootOverride, CpuInfo, GpuInfo, HealthState, JobState, NicPortInfo

Loader = Callable[[str], dict[str, Any]]


def doc(data: Any, path: str = "Systems/1/X") -> Doc:
    return Doc(data, path)


def recorded(load_mockup: Loader, name: str, uri: str) -> Doc:
    return Doc(load_mockup(name)[uri], relative(uri))


def test_relative_paths() -> None:
    assert relative("/redfish/v1/Systems/1/") == "Systems/1"
    assert relative("https://bmc/redfish/v1/Chassis/1/Drives/0#/Status") == "Chassis/1/Drives/0"
    assert relative("/redfish/v1/") == relative("/redfish/v1") == ""


def test_doc_reads_name_their_path() -> None:
    d = doc({"A": {"B": [1, "x"]}, "N": 8.0, "F": 8.5, "T": True, "S": " s "})
    assert d.integer("N") == 8 and d.text("S") == "s" and d.text("Missing") == "" and d.number("Missing") is None
    for read, field in [
        (lambda: d.integer("F"), "Systems/1/X/F"),
        (lambda: d.number("T"), "Systems/1/X/T"),
        (lambda: d.texts("A", "B"), "Systems/1/X/A/B/0"),
        (lambda: d.objects("A", "B"), "Systems/1/X/A/B/0"),
        (lambda: d.text("A", "B", "C"), "Systems/1/X/A/B"),
        (lambda: d.text("Gone", required=True), "Systems/1/X/Gone"),
        (lambda: d.members(), "Systems/1/X/Members"),
    ]:
        with pytest.raises(MalformedResponse) as caught:
            read()
        assert caught.value.field == field


@pytest.mark.parametrize("raw", ["00:5C:52:31:3A:9C", "00-5c-52-31-3a-9c", "005c.5231.3a9c", " 005C52313A9C "])
def test_macs_are_normalized(raw: str) -> None:
    assert normalize_mac(doc({}), "MACAddress", value=raw.strip()) == "00:5c:52:31:3a:9c"


@pytest.mark.parametrize("raw", ["00:5c:52:31:3a", "zz:5c:52:31:3a:9c", "20:00:00:25:b5:00:00:0f"])
def test_bad_macs_are_malformed(raw: str) -> None:
    with pytest.raises(MalformedResponse, match="MACAddress"):
        normalize_mac(doc({}), "MACAddress", value=raw)


def test_processors(load_mockup: Loader) -> None:
    gpu = recorded(load_mockup, "hgx_h100", "/redfish/v1/Systems/HGX_Baseboard_0/Processors/GPU_SXM_3")
    assert parse_processor(gpu) == GpuInfo("NVIDIA H100 80GB HBM3", 79.65, "1654023000003", "SXM3")
    cpu = recorded(load_mockup, "hpe_dl380", "/redfish/v1/Systems/1/Processors/2")
    assert parse_processor(cpu) == CpuInfo("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", 32, 64, "Proc 2")
    assert parse_processor(doc({"ProcessorType": "FPGA", "Model": "Agilex"})) is None
    assert parse_processor(doc({"Status": {"State": "Absent"}, "ProcessorType": "CPU"})) is None
    assert parse_processor(doc({"Model": "Old BMC CPU", "TotalCores": 8})) == CpuInfo(
        "Old BMC CPU", 8
    )  # no ProcessorType
    gpu_memory = doc(
        {
            "ProcessorType": "GPU",
            "Model": "AMD Instinct MI300X",
            "ProcessorMemory": [{"CapacityMiB": 98304}, {"CapacityMiB": 98304}],
        }
    )
    assert parse_processor(gpu_memory) == GpuInfo("AMD Instinct MI300X", 192.0, "", "X")


def test_ports_both_schemas_and_non_ethernet(load_mockup: Loader) -> None:
    port = recorded(load_mockup, "hgx_h100", "/redfish/v1/Chassis/1/NetworkAdapters/2/Ports/1")
    assert parse_network_port(port, "2") == NicPortInfo("2/1", "94:6d:ae:8a:10:02", 400, True)
    old = recorded(load_mockup, "hpe_dl380", "/redfish/v1/Chassis/1/NetworkAdapters/DC080000/NetworkPorts/1")
    assert parse_network_port(old, "DC080000") == NicPortInfo("DC080000/1", "48:df:37:11:22:30", 25, True)
    infiniband = recorded(load_mockup, "hgx_h100", "/redfish/v1/Chassis/1/NetworkAdapters/9/Ports/1")
    assert parse_network_port(infiniband, "9") is None
    fibre = doc(
        {"Id": "1", "ActiveLinkTechnology": "FibreChannel", "AssociatedNetworkAddresses": ["20:00:00:25:B5:00:00:0F"]}
    )
    assert parse_network_port(fibre, "FC") is None


def test_merge_fills_gaps_from_the_other_view() -> None:
    port = NicPortInfo("NIC.1/1", "aa:bb:cc:dd:ee:ff")
    interface = NicPortInfo("eth0", "aa:bb:cc:dd:ee:ff", 25.0, True)
    other = NicPortInfo("eth1", "aa:bb:cc:dd:ee:00")
    assert merge_nics([port], [interface, other]) == (NicPortInfo("NIC.1/1", "aa:bb:cc:dd:ee:ff", 25.0, True), other)


def test_drives(load_mockup: Loader) -> None:
    assert parse_drive(doc({"Id": "d", "MediaType": "SMR", "CapacityBytes": 20000588955648})).media == "hdd"  # type: ignore[union-attr]
    assert parse_drive(doc({"Id": "d", "MediaType": "Tape"})).media == ""  # type: ignore[union-attr]
    assert parse_drive(doc({"Status": {"State": "Absent"}})) is None


def test_inventory_falls_back_to_summaries() -> None:
    cpus = {"Count": 2, "CoreCount": 48, "LogicalProcessorCount": 96, "Model": "AMD EPYC 9454"}
    system = doc({"ProcessorSummary": cpus, "MemorySummary": {"TotalSystemMemoryGiB": 0}}, "Systems/1")
    module = doc({"CapacityMiB": 65536}, "Systems/1/Memory/DIMM0")
    inventory = build_inventory(InventoryDocs(system=system, memory=[module, module]))
    assert inventory.cpus == (CpuInfo("AMD EPYC 9454", 24, 48),) * 2 and inventory.cpu_cores == 48
    assert inventory.memory_gb == 128  # a summary of 0 (some BMCs while off) does not hide the modules


@pytest.mark.parametrize(
    ("boot", "expected"),
    [
        (None, BootOverride(None)),
        ({"BootSourceOverrideEnabled": "Disabled", "BootSourceOverrideTarget": "Pxe"}, BootOverride(None)),
        ({"BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": "None"}, BootOverride(None)),
        ({"BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": "Pxe"}, BootOverride(BootDevice.PXE)),
        (
            {"BootSourceOverrideEnabled": "Continuous", "BootSourceOverrideTarget": "Hdd"},
            BootOverride(BootDevice.DISK, True),
        ),
        ({"BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": "UsbCd"}, BootOverride(BootDevice.CD)),
        ({"BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": "BiosSetup"}, BootOverride(BootDevice.BIOS)),
    ],
)
def test_boot_override(boot: Any, expected: BootOverride) -> None:
    assert boot_override(doc({} if boot is None else {"Boot": boot})) == expected


def test_boot_override_errors() -> None:
    with pytest.raises(Unsupported):
        boot_override(doc({"Boot": {"BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": "Floppy"}}))
    with pytest.raises(MalformedResponse) as caught:
        boot_override(doc({"Boot": {"BootSourceOverrideTarget": "Pxe"}}))
    assert caught.value.field == "Systems/1/X/Boot/BootSourceOverrideEnabled"


def test_power_states_in_transition_read_as_their_destination() -> None:
    assert [
        POWER_READS[power_value(doc({"PowerState": s}))].value for s in ("PoweringOn", "PoweringOff", "Paused")
    ] == ["on", "off", "on"]


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ({"TaskState": "Running", "PercentComplete": 40}, (JobState.RUNNING, 40, "")),
        ({"TaskState": "Running", "PercentComplete": 100}, (JobState.RUNNING, 99, "")),
        ({"TaskState": "Completed", "TaskStatus": "OK"}, (JobState.COMPLETED, 100, "")),
        (
            {"TaskState": "Completed", "TaskStatus": "Critical", "Messages": [{"Message": "bad"}]},
            (JobState.FAILED, 100, "bad"),
        ),
        ({"TaskState": "Killed", "PercentComplete": 5}, (JobState.FAILED, 5, "Killed")),
        ({"JobState": "Scheduled", "PercentComplete": 0}, (JobState.RUNNING, 0, "")),  # a Dell iDRAC job
        ({"JobState": "Completed", "PercentComplete": 100}, (JobState.COMPLETED, 100, "")),
        ({"JobState": "Failed", "Messages": [{"Message": "SYS018"}]}, (JobState.FAILED, 0, "SYS018")),
    ],
)
def test_task_progress(task: dict[str, Any], expected: tuple[JobState, int, str]) -> None:
    assert task_progress(doc(task, "TaskService/Tasks/1")) == expected


def test_task_garbage() -> None:
    for task, field in [
        ({"TaskState": "Dancing"}, "TaskState"),
        ({}, "TaskState"),
        ({"TaskState": "Running", "PercentComplete": "5%"}, "PercentComplete"),
    ]:
        with pytest.raises(MalformedResponse) as caught:
            task_progress(doc(task, "TaskService/Tasks/1"))
        assert caught.value.field == f"TaskService/Tasks/1/{field}"


def test_health_from_recorded_documents(load_mockup: Loader) -> None:
    docs = load_mockup("hpe_dl380")
    drive = Doc(docs["/redfish/v1/Systems/1/Storage/DE00A000/Drives/3"], "Systems/1/Storage/DE00A000/Drives/3")
    health = build_health(InventoryDocs(system=Doc(docs["/redfish/v1/Systems/1"], "Systems/1"), drives=[drive]))
    assert health.state is HealthState.WARNING and health.messages == ("Systems/1/Storage/DE00A000/Drives/3: warning",)


def test_health_names_unhealthy_summaries() -> None:
    system = doc(
        {
            "Status": {"Health": "OK", "HealthRollup": "Critical"},
            "ProcessorSummary": {"Status": {"HealthRollup": "OK"}},
            "MemorySummary": {"Status": {"HealthRollup": "Critical"}},
        },
        "Systems/1",
    )
    dimm = doc({"Status": {"Health": "Critical", "State": "Enabled"}}, "Systems/1/Memory/DIMM.A1")
    health = build_health(InventoryDocs(system=system, memory=[dimm]))
    assert health.state is HealthState.CRITICAL
    assert health.messages == ("Systems/1/MemorySummary: critical", "Systems/1/Memory/DIMM.A1: critical")
