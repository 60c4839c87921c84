"""What a BMC's inventory changes in the graph: node hardware fields, GPUs, NICs with their MACs.

The graph's records of the observed nodes are loaded, copied, brought in line with what the BMCs
report, and the inventory diff (`inventory.diff.diff`, nothing removed) of the two is the proposal.

- Node: serial, vendor, model, CPU model and cores, memory and storage, each only when the BMC
  reports it (an empty or zero value is "not reported", never a change).
- GPUs match by uuid (a BMC reporting the uuid as serial), else by slot index (`GPU3` -> 3), else
  by position; model and memory are updated. A GPU the graph lacks is added.
- NICs match by MAC, else by name; a NIC found by name with another MAC gets the new MAC (the card
  was replaced); speed is updated. A NIC the graph lacks is added (role `backend`, no rail: say which).
- Hardware the graph has and the BMC does not report is never removed, only noted (a GPU off the bus
  is a fault to look at, not a record to delete). BMC NICs are not expected in the host's list.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from metalgraph.drivers.types import HardwareInventory

from ..inventory.diff import ChangeSet, diff
from ..inventory.model import Gpu, Nic
from ..inventory.records import Props, Records, gpu_props, nic_key, nic_props
from ..store.base import GraphStore
from .observe import NodeObservation

_SLOT = re.compile(r"(\d+)\s*$")
_BAD_NAME = re.compile(r"[^A-Za-z0-9._:-]+")


@dataclass
class HardwarePlan:
    current: Records = field(default_factory=Records)
    desired: Records = field(default_factory=Records)
    notes: list[str] = field(default_factory=list)

    def changes(self) -> ChangeSet:
        return diff(self.current, self.desired, remove_missing=False)


async def load_node_records(store: GraphStore, nodes: Sequence[str]) -> Records:
    """The Node, GPU and NIC vertices of `nodes`, with the HAS_GPU and HAS_NIC edges."""
    rec = Records()
    if not nodes:
        return rec
    params = {"keys": list(nodes)}
    for row in await store.read_collected("UNWIND $keys AS k MATCH (n:Node {key: k})", "n{.*}", params):
        rec.vertices[("Node", row["key"])] = row
    for label, edge in (("GPU", "HAS_GPU"), ("NIC", "HAS_NIC")):
        match = f"UNWIND $keys AS k MATCH (n:Node {{key: k}})-[:{edge}]->(x:{label})"
        for row in await store.read_collected(match, "{n: n.key, x: x{.*}}", params):
            rec.vertices[(label, row["x"]["key"])] = dict(row["x"])
            rec.edges[(edge, ("Node", row["n"]), (label, row["x"]["key"]))] = {}
    return rec


async def plan_hardware(store: GraphStore, observed: Sequence[NodeObservation]) -> HardwarePlan:
    """The changes that make the observed nodes' records say what their BMCs report."""
    current = await load_node_records(store, [o.node for o in observed])
    plan = HardwarePlan(current, Records(dict(current.vertices), dict(current.edges)))
    candidates = [g.serial for o in observed for g in o.inventory.gpus if g.serial]
    taken = await _existing_gpus(store, candidates)
    parts: dict[tuple[str, str], list[Props]] = defaultdict(list)
    for (label, _key), props in current.vertices.items():
        if label in ("GPU", "NIC"):
            parts[(label, props.get("node", ""))].append(props)
    for seen in observed:
        if ("Node", seen.node) in current.vertices:
            _plan_node(plan, seen.node, seen.inventory)
            _plan_gpus(plan, seen.node, seen.inventory, parts[("GPU", seen.node)], taken)
            _plan_nics(plan, seen.node, seen.inventory, parts[("NIC", seen.node)])
    return plan


async def _existing_gpus(store: GraphStore, uuids: list[str]) -> set[str]:
    if not uuids:
        return set()
    rows = await store.read_collected("UNWIND $keys AS k MATCH (g:GPU {key: k})", "{k: g.key}", {"keys": uuids})
    return {r["k"] for r in rows}


def _close(a: object, b: object) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def _update(before: Props, updates: Props) -> Props:
    changed = {k: v for k, v in updates.items() if not _close(before.get(k), v)}
    return {**before, **changed} if changed else before


def _plan_node(plan: HardwarePlan, node: str, seen: HardwareInventory) -> None:
    before = plan.current.vertices[("Node", node)]
    updates: Props = {"serial": seen.serial, "vendor": seen.vendor, "model": seen.model}
    updates = {k: v for k, v in updates.items() if v}
    if seen.cpus:
        updates["cpu_cores"] = seen.cpu_cores
        if seen.cpus[0].model:
            updates["cpu_model"] = seen.cpus[0].model
    if seen.memory_gb:
        updates["memory_gb"] = float(seen.memory_gb)
    if seen.drives:
        updates["storage_gb"] = float(sum(d.capacity_gb for d in seen.drives))
    plan.desired.vertices[("Node", node)] = _update(before, updates)


def _plan_gpus(plan: HardwarePlan, node: str, seen: HardwareInventory, gpus: list[Props], taken: set[str]) -> None:
    by_uuid = {g["uuid"]: g for g in gpus}
    by_index = {int(g["index"]): g for g in gpus}
    uuids_reported = any(info.serial in by_uuid for info in seen.gpus)
    claimed: set[str] = set()
    used = set(by_index)
    for position, info in enumerate(seen.gpus):
        slot = _SLOT.search(info.slot)
        index = int(slot.group(1)) if slot else position
        gpu = by_uuid.get(info.serial) if info.serial else None
        if gpu is None or gpu["key"] in claimed:
            gpu = by_index.get(index)
            if gpu is not None and uuids_reported and info.serial and info.serial != gpu["uuid"]:
                plan.notes.append(
                    f"{node}: GPU index {index} reports serial {info.serial}, the graph has {gpu['uuid']}"
                )
        if gpu is not None and gpu["key"] not in claimed:
            claimed.add(gpu["key"])
            updates: Props = {"model": info.model} if info.model else {}
            if info.memory_gb > 0:
                updates["memory_gb"] = float(info.memory_gb)
            plan.desired.vertices[("GPU", gpu["key"])] = _update(gpu, updates)
            continue
        index = index if index not in used else max(used) + 1
        uuid = info.serial if info.serial and info.serial not in taken and _valid(info.serial) else f"{node}-gpu{index}"
        try:
            new = Gpu(index=index, uuid=uuid, model=info.model or "unknown", memory_gb=info.memory_gb)
        except ValidationError:
            plan.notes.append(f"{node}: GPU in slot {info.slot or position} is not recorded: its memory is unknown")
            continue
        taken.add(uuid)
        used.add(index)
        plan.desired.vertex("GPU", uuid, gpu_props(node, new))
        plan.desired.edge("HAS_GPU", ("Node", node), ("GPU", uuid))
    for gpu in gpus:
        if gpu["key"] not in claimed:
            plan.notes.append(f"{node}: GPU {gpu['uuid']} (index {gpu['index']}) is not reported by the BMC")


def _plan_nics(plan: HardwarePlan, node: str, seen: HardwareInventory, nics: list[Props]) -> None:
    by_mac = {str(n["mac"]).lower(): n for n in nics}
    by_name = {n["name"]: n for n in nics}
    claimed: set[str] = set()
    names = set(by_name)
    for info in seen.nics:
        mac = info.mac.lower()
        nic = by_mac.get(mac)
        if nic is None or nic["key"] in claimed:
            nic = by_name.get(info.name)
        if nic is not None and nic["key"] not in claimed:
            claimed.add(nic["key"])
            updates: Props = {"mac": mac}
            if info.speed_gbps > 0:
                updates["speed_gbps"] = float(info.speed_gbps)
            plan.desired.vertices[("NIC", nic["key"])] = _update(nic, updates)
            continue
        name = _nic_name(info.name, mac, names)
        try:
            new = Nic(name=name, mac=mac, speed_gbps=info.speed_gbps)
        except ValidationError:
            plan.notes.append(f"{node}: NIC {info.name} ({mac}) is not recorded: its MAC or speed is not valid")
            continue
        names.add(name)
        plan.desired.vertex("NIC", nic_key(node, name), nic_props(node, new))
        plan.desired.edge("HAS_NIC", ("Node", node), ("NIC", nic_key(node, name)))
        plan.notes.append(f"{node}: new NIC {name} ({mac}) recorded with role backend and no rail; set them")
    for nic in nics:
        if nic["key"] not in claimed and nic.get("role") != "bmc":
            plan.notes.append(f"{node}: NIC {nic['name']} ({nic['mac']}) is not reported by the BMC")


def _valid(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", name))


def _nic_name(reported: str, mac: str, used: set[str]) -> str:
    name = _BAD_NAME.sub("-", reported).lstrip("._:-")[:64] or "nic"
    if name in used:
        name = f"{name}-{mac.replace(':', '')[-6:]}"
    return name
