"""Walk the Redfish tree for the documents an inventory, a health report or a cleaning job needs.

Links the BMC advertises but answers 404 for are taken as "not reported". Member documents are fetched
concurrently, bounded by the client (option `max_parallel_requests`).
"""

from __future__ import annotations

import asyncio

from ..errors import MalformedResponse
from .client import RedfishClient
from .doc import SERVICE_ROOT, Doc, relative
from .inventory import InventoryDocs

SUBORDINATE_SYSTEMS = ("HGX_Baseboard",)
"""Prefixes of system ids that are parts of a node rather than the node (NVIDIA's HGX GPU baseboard
next to the host system): never the default system, but their GPUs belong to the node's inventory."""


async def system_paths(client: RedfishClient) -> list[str]:
    """The members of the service's `Systems` collection."""
    root = Doc((await client.root()).json, "", device=client.device)
    collection = await client.get(root.link("Systems") or f"{SERVICE_ROOT}Systems")
    return collection.members()


def _system_id(path: str) -> str:
    return relative(path).rsplit("/", 1)[-1]


async def resolve_system(client: RedfishClient, system_id: str | None) -> str:
    """The path of the configured system, or of the only (or first non-subordinate) one."""
    paths = await system_paths(client)
    if system_id:
        for path in paths:
            if _system_id(path) == system_id:
                return path
        # Some services also answer under an alias (a name, not the listed id); take their canonical path.
        doc = await client.get_optional(f"{SERVICE_ROOT}Systems/{system_id}")
        if doc is None:
            listed = ", ".join(_system_id(path) for path in paths) or "none"
            raise MalformedResponse(
                f"no system {system_id!r} at this BMC (it lists: {listed})", field="system_id", device=client.device
            )
        return doc.text("@odata.id") or f"{SERVICE_ROOT}Systems/{system_id}"
    primary = [path for path in paths if not _system_id(path).startswith(SUBORDINATE_SYSTEMS)]
    if not (primary or paths):
        raise MalformedResponse("the BMC lists no systems", field="Systems/Members", device=client.device)
    return (primary or paths)[0]


async def fetch_drives(client: RedfishClient, system: Doc) -> tuple[list[Doc], list[Doc]]:
    """(storage subsystems, drives) of a system. `Drives` is an array of links in `Storage`, or a
    collection link in some implementations."""
    storages = await client.members(system.link("Storage"))
    uris: list[str] = []
    for storage in storages:
        if isinstance(storage.get("Drives"), dict):
            uris += (await client.get(storage.link("Drives") or "")).members()
        else:
            uris += storage.links("Drives")
    found = await asyncio.gather(*(client.get_optional(uri) for uri in dict.fromkeys(uris)))
    return storages, [drive for drive in found if drive is not None]


async def fetch_ports(client: RedfishClient, system: Doc) -> tuple[list[Doc], list[tuple[str, Doc]]]:
    """(chassis, (adapter name, port)) for the chassis the system links to."""
    chassis_docs = [
        doc for uri in dict.fromkeys(system.links("Links", "Chassis")) if (doc := await client.get_optional(uri))
    ]
    adapters = [
        adapter for chassis in chassis_docs for adapter in await client.members(chassis.link("NetworkAdapters"))
    ]

    async def ports_of(adapter: Doc) -> list[tuple[str, Doc]]:
        collection = adapter.link("Ports") or adapter.link("NetworkPorts")
        name = adapter.text("Id") or adapter.name
        return [(name, port) for port in await client.members(collection)]

    ports = await asyncio.gather(*(ports_of(adapter) for adapter in adapters))
    return chassis_docs, [item for group in ports for item in group]


async def fetch_accelerators(client: RedfishClient, others: list[str]) -> list[Doc]:
    """Processors of the node's subordinate systems (only their GPUs are used). Other systems of a
    multi-node BMC (a blade chassis manager) are other nodes and are left alone."""
    found: list[Doc] = []
    for path in others:
        doc = await client.get_optional(path)
        if doc is not None:
            found += await client.members(doc.link("Processors"))
    return found


async def fetch_inventory(client: RedfishClient, system_path: str) -> InventoryDocs:
    """Every document of the system's inventory."""
    system = await client.get(system_path)
    others = [
        path
        for path in await system_paths(client)
        if _system_id(path).startswith(SUBORDINATE_SYSTEMS) and relative(path) != relative(system_path)
    ]
    processors, memory, interfaces, (storages, drives), (chassis, ports), accelerators = await asyncio.gather(
        client.members(system.link("Processors")),
        client.members(system.link("Memory")),
        client.members(system.link("EthernetInterfaces")),
        fetch_drives(client, system),
        fetch_ports(client, system),
        fetch_accelerators(client, others),
    )
    return InventoryDocs(
        system=system,
        processors=processors,
        accelerators=accelerators,
        memory=memory,
        interfaces=interfaces,
        ports=ports,
        drives=drives,
        storage=storages,
        chassis=chassis,
    )
