"""Cross-reference checks of an inventory: names unique, every reference resolves, nothing used twice.

pydantic checks each object on its own; these checks need the whole file. Each problem is
reported with the path of the bad field, the same way pydantic reports its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from .model import MAX_NODES_PER_RACK, MAX_RACKS_PER_SITE, MAX_SWITCHES_PER_RACK, Inventory


class InventoryProblem(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class InvalidInventory(ValueError):
    """An inventory that cannot be stored; `problems` lists each bad field with its path."""

    def __init__(self, problems: list[InventoryProblem]) -> None:
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"invalid inventory ({len(problems)} problem(s)):\n{shown}{more}")
        self.problems = problems


def _duplicates(path: str, names: Iterable[str], what: str) -> Iterator[InventoryProblem]:
    names = list(names)
    counts = Counter(names)
    seen: set[str] = set()
    for i, name in enumerate(names):
        if counts[name] > 1 and name in seen:
            yield InventoryProblem(f"{path}[{i}]", f"duplicate {what} {name!r}")
        seen.add(name)


def _over(path: str, owners: Iterable[str], limit: int, what: str, where: str) -> Iterator[InventoryProblem]:
    """The first item past `limit` of each owner (a rack's 129th node), so the error names its path."""
    counts: Counter[str] = Counter()
    for i, owner in enumerate(owners):
        counts[owner] += 1
        if counts[owner] == limit + 1:
            yield InventoryProblem(f"{path}[{i}]", f"{where} {owner!r} would hold more than {limit} {what}")


def find_problems(inv: Inventory) -> list[InventoryProblem]:
    problems: list[InventoryProblem] = []
    add = problems.append
    problems.extend(_duplicates("sites", (s.name for s in inv.sites), "site"))
    problems.extend(_duplicates("racks", (r.name for r in inv.racks), "rack"))
    problems.extend(_duplicates("switches", (s.name for s in inv.switches), "switch"))
    problems.extend(_duplicates("nodes", (n.name for n in inv.nodes), "node"))

    sites = {s.name for s in inv.sites}
    racks = {r.name for r in inv.racks}
    ports = {(sw.name, p.name) for sw in inv.switches for p in sw.ports}
    problems.extend(_over("racks", (r.site for r in inv.racks), MAX_RACKS_PER_SITE, "racks", "site"))
    problems.extend(_over("switches", (s.rack for s in inv.switches), MAX_SWITCHES_PER_RACK, "switches", "rack"))
    problems.extend(_over("nodes", (n.rack for n in inv.nodes), MAX_NODES_PER_RACK, "nodes", "rack"))
    for i, rack in enumerate(inv.racks):
        if rack.site not in sites:
            add(InventoryProblem(f"racks[{i}].site", f"unknown site {rack.site!r}"))

    cabled: dict[tuple[str, str], str] = {}

    def use_port(path: str, ref_switch: str, ref_port: str) -> None:
        key = (ref_switch, ref_port)
        if key not in ports:
            add(InventoryProblem(path, f"unknown switch port {ref_switch}/{ref_port}"))
        elif key in cabled:
            add(InventoryProblem(path, f"switch port {ref_switch}/{ref_port} is already cabled to {cabled[key]}"))
        else:
            cabled[key] = path

    for i, sw in enumerate(inv.switches):
        if sw.rack not in racks:
            add(InventoryProblem(f"switches[{i}].rack", f"unknown rack {sw.rack!r}"))
        problems.extend(_duplicates(f"switches[{i}].ports", (p.name for p in sw.ports), "port"))

    gpu_uuids: set[str] = set()
    for i, node in enumerate(inv.nodes):
        at = f"nodes[{i}]"
        if node.rack not in racks:
            add(InventoryProblem(f"{at}.rack", f"unknown rack {node.rack!r}"))
        problems.extend(_duplicates(f"{at}.gpus", (str(g.index) for g in node.gpus), "GPU index"))
        problems.extend(_duplicates(f"{at}.nics", (n.name for n in node.nics), "NIC"))
        for j, gpu in enumerate(node.gpus):
            if gpu.uuid in gpu_uuids:
                add(InventoryProblem(f"{at}.gpus[{j}].uuid", f"duplicate GPU uuid {gpu.uuid!r}"))
            gpu_uuids.add(gpu.uuid)
        indexes = {g.index for g in node.gpus}
        nic_names = {n.name for n in node.nics}
        for j, nic in enumerate(node.nics):
            if nic.port is not None:
                use_port(f"{at}.nics[{j}].port", nic.port.switch, nic.port.port)
        pairs: set[frozenset[int]] = set()
        for j, nvlink in enumerate(node.nvlinks):
            pair = frozenset((nvlink.a, nvlink.b))
            if pair in pairs:
                message = f"GPUs {nvlink.a} and {nvlink.b} are joined twice (count the links in `links`)"
                add(InventoryProblem(f"{at}.nvlinks[{j}]", message))
            pairs.add(pair)
            for end in ("a", "b"):
                if getattr(nvlink, end) not in indexes:
                    add(InventoryProblem(f"{at}.nvlinks[{j}].{end}", f"no GPU with index {getattr(nvlink, end)}"))
            if nvlink.a == nvlink.b:
                add(InventoryProblem(f"{at}.nvlinks[{j}]", "an NVLink joins two different GPUs"))
        affinities: set[tuple[int, str]] = set()
        for j, aff in enumerate(node.pcie):
            if (aff.gpu, aff.nic) in affinities:
                add(InventoryProblem(f"{at}.pcie[{j}]", f"GPU {aff.gpu} and NIC {aff.nic!r} are listed twice"))
            affinities.add((aff.gpu, aff.nic))
            if aff.gpu not in indexes:
                add(InventoryProblem(f"{at}.pcie[{j}].gpu", f"no GPU with index {aff.gpu}"))
            if aff.nic not in nic_names:
                add(InventoryProblem(f"{at}.pcie[{j}].nic", f"no NIC named {aff.nic!r}"))

    for i, link in enumerate(inv.links):
        use_port(f"links[{i}].a", link.a.switch, link.a.port)
        use_port(f"links[{i}].b", link.b.switch, link.b.port)
    return problems


def validate_references(inv: Inventory) -> Inventory:
    problems = find_problems(inv)
    if problems:
        raise InvalidInventory(problems)
    return inv
