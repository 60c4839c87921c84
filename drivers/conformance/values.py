"""Does a value a driver returned keep the promises of `metalgraph.drivers.types`? Each function
returns the problems it found, as sentences; an empty list means the value is fine."""

from __future__ import annotations

import re
from collections import Counter

from ..types import (
    BootDevice,
    BootOverride,
    CpuInfo,
    DriveInfo,
    GpuInfo,
    HardwareInventory,
    Health,
    HealthState,
    LldpNeighbour,
    NicPortInfo,
    PortCounters,
    PortInfo,
    SwitchportMode,
    VlanState,
)
from .harness import is_count, is_number

MAC = re.compile(r"([0-9a-f]{2}:){5}[0-9a-f]{2}")
VLAN_IDS = range(1, 4095)


def port_problems(ports: object) -> list[str]:
    if not isinstance(ports, list):
        return [f"get_ports returned {type(ports).__name__}, not a list"]
    if not ports:
        return ["the switch reported no ports"]
    problems = [
        f"item {i} is {type(p).__name__}, not PortInfo" for i, p in enumerate(ports) if not isinstance(p, PortInfo)
    ]
    if problems:
        return problems
    for port in ports:
        if not (isinstance(port.name, str) and port.name):
            problems.append(f"port {port.index!r} has no name")
        if not (is_count(port.index) and port.index > 0):
            problems.append(f"{port.name}: index {port.index!r} is not a positive int")
        if not (isinstance(port.admin_up, bool) and isinstance(port.oper_up, bool)):
            problems.append(f"{port.name}: admin_up/oper_up are not bools")
        if not is_number(port.speed_gbps) or not is_count(port.mtu):
            problems.append(f"{port.name}: speed {port.speed_gbps!r} or MTU {port.mtu!r} is not a non-negative number")
        if not isinstance(port.mode, SwitchportMode):
            problems.append(f"{port.name}: mode {port.mode!r} is not a SwitchportMode")
        problems += counter_problems(port.name, port.counters)
    problems += [
        f"port name {name!r} is listed {n} times" for name, n in Counter(p.name for p in ports).items() if n > 1
    ]
    problems += [
        f"port index {index} is listed {n} times" for index, n in Counter(p.index for p in ports).items() if n > 1
    ]
    indexes = [port.index for port in ports]
    if not problems and indexes != sorted(indexes):
        problems.append("ports are not ordered by index")
    return problems


def counter_problems(port: str, counters: object) -> list[str]:
    if not isinstance(counters, PortCounters):
        return [f"{port}: counters are {type(counters).__name__}, not PortCounters"]
    values = vars(counters)
    return [
        f"{port}: {name} = {value!r} is not a non-negative int" for name, value in values.items() if not is_count(value)
    ]


def vlan_problems(port: str, state: object) -> list[str]:
    if not isinstance(state, VlanState):
        return [f"{port}: VLAN state is {type(state).__name__}, not VlanState"]
    if not isinstance(state.mode, SwitchportMode):
        return [f"{port}: mode {state.mode!r} is not a SwitchportMode"]
    problems = []
    if state.mode is SwitchportMode.ACCESS:
        if state.access_vlan not in VLAN_IDS:
            problems.append(f"{port}: access port with access_vlan {state.access_vlan!r}, not 1..4094")
        if state.allowed_vlans or state.native_vlan is not None:
            problems.append(f"{port}: access port with trunk fields set")
    elif state.mode is SwitchportMode.TRUNK:
        allowed = state.allowed_vlans
        if not isinstance(allowed, tuple) or any(vlan not in VLAN_IDS for vlan in allowed):
            problems.append(f"{port}: allowed_vlans {allowed!r} is not a tuple of VLAN ids")
        elif list(allowed) != sorted(set(allowed)):
            problems.append(f"{port}: allowed_vlans {allowed!r} is not sorted and unique")
        if state.native_vlan is not None and state.native_vlan not in VLAN_IDS:
            problems.append(f"{port}: native_vlan {state.native_vlan!r} is not 1..4094")
        if state.access_vlan is not None:
            problems.append(f"{port}: trunk port with access_vlan set")
    return problems


def neighbour_problems(neighbours: object, port_names: set[str]) -> list[str]:
    if not isinstance(neighbours, list):
        return [f"get_lldp_neighbours returned {type(neighbours).__name__}, not a list"]
    problems = []
    for neighbour in neighbours:
        if not isinstance(neighbour, LldpNeighbour):
            problems.append(f"{type(neighbour).__name__} is not an LldpNeighbour")
        elif neighbour.local_port not in port_names:
            problems.append(
                f"neighbour {neighbour.system_name or neighbour.chassis_id!r} is on unknown port "
                f"{neighbour.local_port!r}"
            )
        elif not (isinstance(neighbour.chassis_id, str) and neighbour.chassis_id):
            problems.append(f"{neighbour.local_port}: neighbour without chassis id")
    return problems


def inventory_problems(inventory: object) -> list[str]:
    if not isinstance(inventory, HardwareInventory):
        return [f"get_inventory returned {type(inventory).__name__}, not HardwareInventory"]
    if inventory == HardwareInventory():
        return ["the inventory is empty: nothing was parsed from the BMC"]
    problems = [
        f"{name} is not a str"
        for name in ("serial", "vendor", "model")
        if not isinstance(getattr(inventory, name), str)
    ]
    if not is_number(inventory.memory_gb):
        problems.append(f"memory_gb {inventory.memory_gb!r} is not a non-negative number")
    for kind, items, cls in (
        ("cpus", inventory.cpus, CpuInfo),
        ("gpus", inventory.gpus, GpuInfo),
        ("nics", inventory.nics, NicPortInfo),
        ("drives", inventory.drives, DriveInfo),
    ):
        if not isinstance(items, tuple) or not all(isinstance(item, cls) for item in items):
            problems.append(f"{kind} is not a tuple of {cls.__name__}")
    if problems:
        return problems
    problems += [
        f"CPU {cpu.socket or cpu.model}: cores {cpu.cores!r} is not a count"
        for cpu in inventory.cpus
        if not (is_count(cpu.cores) and is_count(cpu.threads))
    ]
    problems += [
        f"NIC {nic.name}: MAC {nic.mac!r} is not lower-case and colon separated"
        for nic in inventory.nics
        if not (isinstance(nic.mac, str) and MAC.fullmatch(nic.mac))
    ]
    problems += [
        f"MAC {mac} is reported {n} times" for mac, n in Counter(nic.mac for nic in inventory.nics).items() if n > 1
    ]
    problems += [
        f"drive {drive.name}: capacity {drive.capacity_gb!r} or media {drive.media!r} is not valid"
        for drive in inventory.drives
        if not (is_number(drive.capacity_gb) and drive.media in ("", "ssd", "hdd"))
    ]
    return problems


def health_problems(health: object) -> list[str]:
    if not isinstance(health, Health):
        return [f"get_health returned {type(health).__name__}, not Health"]
    problems = [] if isinstance(health.state, HealthState) else [f"state {health.state!r} is not a HealthState"]
    if not (isinstance(health.messages, tuple) and all(isinstance(m, str) for m in health.messages)):
        problems.append("messages is not a tuple of str")
    return problems


def boot_problems(override: object) -> list[str]:
    if not isinstance(override, BootOverride):
        return [f"get_boot_override returned {type(override).__name__}, not BootOverride"]
    problems: list[str] = []
    if override.device is not None and not isinstance(override.device, BootDevice):
        problems.append(f"device {override.device!r} is not a BootDevice or None")
    if not isinstance(override.persistent, bool):
        problems.append(f"persistent {override.persistent!r} is not a bool")
    return problems


def describe_vlans(state: VlanState) -> str:
    if state.mode is SwitchportMode.ACCESS:
        return f"access VLAN {state.access_vlan}"
    if state.mode is SwitchportMode.TRUNK:
        native = f", native {state.native_vlan}" if state.native_vlan is not None else ""
        return f"trunk {','.join(map(str, state.allowed_vlans)) or '(no VLANs)'}{native}"
    return str(state.mode)
