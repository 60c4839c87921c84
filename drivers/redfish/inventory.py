"""Pure functions from Redfish documents to inventory values (unit-tested on recorded documents).

Units: memory in GiB (`TotalSystemMemoryGiB`, `CapacityMiB / 1024`), drive capacity in decimal GB
(`CapacityBytes / 1e9`, as drives are sold), link speed in Gbit/s.

Vendor variations handled here:
- GPUs are `Processor`s with `ProcessorType: GPU` (NVIDIA HGX/DGX, Dell iDRAC); their memory is in
  `ProcessorMemory[].CapacityMiB` or `MemorySummary.TotalMemorySizeMiB`.
- NIC ports come from `EthernetInterfaces` (the host's view) and from chassis `NetworkAdapters`, either
  as the older `NetworkPorts` (`AssociatedNetworkAddresses`, `CurrentLinkSpeedMbps`, `LinkStatus: Up`) or
  the newer `Ports` (`Ethernet.AssociatedMACAddresses`, `CurrentSpeedGbps`, `LinkStatus: LinkUp`).
- Members whose `Status.State` is `Absent` (empty sockets and bays) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ..types import CpuInfo, DriveInfo, GpuInfo, HardwareInventory, NicPortInfo
from .doc import Doc

_HEX = re.compile(r"[0-9a-f]{12}")
LINK_UP = {"LinkUp": True, "Up": True, "LinkDown": False, "NoLink": False, "Down": False}
NON_ETHERNET = {"InfiniBand", "FibreChannel", "FC", "FCoE", "OEM"}


def absent(doc: Doc) -> bool:
    """An empty socket, slot or bay."""
    return doc.text("Status", "State") == "Absent"


def normalize_mac(doc: Doc, *keys: str | int, value: str) -> str:
    """`00:5C:52:31:3A:9C`, `00-5c-52-31-3a-9c` or `005c.5231.3a9c` -> `00:5c:52:31:3a:9c`."""
    digits = re.sub(r"[:\-.\s]", "", value.lower())
    if not _HEX.fullmatch(digits):
        raise doc.error(f"not a MAC address: {value!r}", *keys)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


@dataclass(frozen=True)
class SystemSummary:
    serial: str
    vendor: str
    model: str
    memory_gib: float | None
    summary_cpus: tuple[CpuInfo, ...]
    """CPUs as `ProcessorSummary` describes them: used when the BMC has no `Processors` collection."""


def parse_system(doc: Doc) -> SystemSummary:
    """Identity, `MemorySummary` and `ProcessorSummary` of a `ComputerSystem`."""
    count = doc.integer("ProcessorSummary", "Count", minimum=0) or 0
    cores = doc.integer("ProcessorSummary", "CoreCount", minimum=0) or 0
    threads = doc.integer("ProcessorSummary", "LogicalProcessorCount", minimum=0) or 0
    model = doc.text("ProcessorSummary", "Model")
    cpus = tuple(CpuInfo(model=model, cores=cores // count, threads=threads // count) for _ in range(count))
    return SystemSummary(
        serial=doc.text("SerialNumber"),
        vendor=doc.text("Manufacturer"),
        model=doc.text("Model"),
        memory_gib=doc.number("MemorySummary", "TotalSystemMemoryGiB", minimum=0),
        summary_cpus=cpus,
    )


def parse_processor(doc: Doc) -> CpuInfo | GpuInfo | None:
    """A CPU or GPU; None for other processor types (FPGA, DSP, ...) and empty sockets."""
    if absent(doc):
        return None
    kind = doc.text("ProcessorType") or "CPU"
    model = doc.text("Model") or doc.text("Name")
    if kind == "CPU":
        return CpuInfo(
            model=model,
            cores=doc.integer("TotalCores", minimum=0) or 0,
            threads=doc.integer("TotalThreads", minimum=0) or 0,
            socket=doc.text("Socket"),
        )
    if kind != "GPU":
        return None
    memory_mib = sum(part.number("CapacityMiB", minimum=0) or 0 for part in doc.objects("ProcessorMemory"))
    if not memory_mib:
        memory_mib = doc.number("MemorySummary", "TotalMemorySizeMiB", minimum=0) or 0
    slot = doc.text("Location", "PartLocation", "ServiceLabel") or doc.text("Socket") or doc.name
    return GpuInfo(model=model, memory_gb=round(memory_mib / 1024, 2), serial=doc.text("SerialNumber"), slot=slot)


def parse_memory_module(doc: Doc) -> float:
    """A memory module's capacity in GiB (0 for an empty slot)."""
    if absent(doc):
        return 0.0
    return (doc.number("CapacityMiB", minimum=0) or 0) / 1024


def _link(doc: Doc) -> bool | None:
    return LINK_UP.get(doc.text("LinkStatus"))


def parse_ethernet_interface(doc: Doc) -> NicPortInfo | None:
    """A host `EthernetInterface`; None when it reports no MAC address."""
    if absent(doc):
        return None
    key = "MACAddress" if doc.text("MACAddress") else "PermanentMACAddress"
    raw = doc.text(key)
    if not raw:
        return None
    speed = doc.number("SpeedMbps", minimum=0)
    return NicPortInfo(
        name=doc.text("Id") or doc.name,
        mac=normalize_mac(doc, key, value=raw),
        speed_gbps=(speed or 0) / 1000,
        link_up=_link(doc),
    )


def parse_network_port(doc: Doc, adapter: str) -> NicPortInfo | None:
    """An adapter port, as a `Port` or the older `NetworkPort`; None for non-Ethernet ports and ports
    without a MAC address."""
    if absent(doc):
        return None
    technology = doc.text("LinkNetworkTechnology") or doc.text("PortProtocol") or doc.text("ActiveLinkTechnology")
    if technology in NON_ETHERNET:
        return None
    keys: tuple[str, ...] = ("Ethernet", "AssociatedMACAddresses")
    macs = doc.texts(*keys)
    if not macs:
        keys = ("AssociatedNetworkAddresses",)
        macs = doc.texts(*keys)
    macs = [mac for mac in macs if mac]
    if not macs:
        return None
    speed = doc.number("CurrentSpeedGbps", minimum=0)
    if speed is None:
        speed = (doc.number("CurrentLinkSpeedMbps", minimum=0) or 0) / 1000
    port = doc.text("Id") or doc.text("PortId") or doc.text("PhysicalPortNumber") or doc.name
    return NicPortInfo(
        name=f"{adapter}/{port}", mac=normalize_mac(doc, *keys, 0, value=macs[0]), speed_gbps=speed, link_up=_link(doc)
    )


def merge_nics(adapter_ports: Iterable[NicPortInfo], interfaces: Iterable[NicPortInfo]) -> tuple[NicPortInfo, ...]:
    """Adapter ports first (the physical view), then host interfaces with a MAC not seen yet; a
    duplicate fills in the speed or link state the first sighting lacks."""
    by_mac: dict[str, NicPortInfo] = {}
    for nic in (*adapter_ports, *interfaces):
        seen = by_mac.get(nic.mac)
        if seen is None:
            by_mac[nic.mac] = nic
            continue
        by_mac[nic.mac] = replace(
            seen,
            speed_gbps=seen.speed_gbps or nic.speed_gbps,
            link_up=seen.link_up if seen.link_up is not None else nic.link_up,
        )
    return tuple(by_mac.values())


def secure_erase_target(doc: Doc) -> str | None:
    """The `Drive.SecureErase` action target, if the drive offers the action."""
    action = doc.obj("Actions", "#Drive.SecureErase")
    return None if action is None else action.text("target", required=True)


def parse_drive(doc: Doc) -> DriveInfo | None:
    """A drive; None for an empty bay."""
    if absent(doc):
        return None
    media = {"SSD": "ssd", "HDD": "hdd", "SMR": "hdd"}.get(doc.text("MediaType"), "")
    capacity = doc.integer("CapacityBytes", minimum=0) or 0
    return DriveInfo(
        name=doc.text("Id") or doc.name,
        capacity_gb=round(capacity / 1e9, 2),
        media=media,
        serial=doc.text("SerialNumber"),
        secure_erase=secure_erase_target(doc) is not None,
    )


@dataclass
class InventoryDocs:
    """The documents one inventory is made of, as fetched by `collect.py` (or loaded by a test)."""

    system: Doc
    processors: list[Doc] = field(default_factory=list)
    accelerators: list[Doc] = field(default_factory=list)
    """Processors of the BMC's other systems (an HGX GPU baseboard): only their GPUs count."""
    memory: list[Doc] = field(default_factory=list)
    interfaces: list[Doc] = field(default_factory=list)
    ports: list[tuple[str, Doc]] = field(default_factory=list)
    """(adapter name, port document)."""
    drives: list[Doc] = field(default_factory=list)
    storage: list[Doc] = field(default_factory=list)
    """Storage subsystems (for health)."""
    chassis: list[Doc] = field(default_factory=list)
    """The chassis the system links to (for health)."""


def build_inventory(docs: InventoryDocs) -> HardwareInventory:
    """The typed inventory; a field the BMC does not report stays at its default."""
    summary = parse_system(docs.system)
    parsed = [parse_processor(doc) for doc in docs.processors]
    cpus = tuple(item for item in parsed if isinstance(item, CpuInfo)) or summary.summary_cpus
    parsed += [parse_processor(doc) for doc in docs.accelerators]
    gpus = tuple(item for item in parsed if isinstance(item, GpuInfo))
    modules = sum(parse_memory_module(doc) for doc in docs.memory)
    ports = [nic for adapter, doc in docs.ports if (nic := parse_network_port(doc, adapter)) is not None]
    interfaces = [nic for doc in docs.interfaces if (nic := parse_ethernet_interface(doc)) is not None]
    drives = tuple(drive for doc in docs.drives if (drive := parse_drive(doc)) is not None)
    return HardwareInventory(
        serial=summary.serial,
        vendor=summary.vendor,
        model=summary.model,
        cpus=cpus,
        memory_gb=round(summary.memory_gib or modules, 2),
        gpus=gpus,
        nics=merge_nics(ports, interfaces),
        drives=drives,
    )
