"""Assemble a `PlacementIndex` from plain facts, whatever they were read from (a store, an inventory)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..topology import paths
from .index import TIERS, NodePort, PlacementIndex, SiteInfo, SwitchInfo, Topology, Uplink, occupancy

natural = lru_cache(maxsize=1 << 16)(paths.natural)

GOOD_OPER_STATUS = frozenset({"up", "unknown", ""})
"""Port oper_status values that are not a link error. The graph's ports carry no error counters,
only `oper_status`; `unknown` (never observed) is not held against a node."""


@dataclass
class _Node:
    rack: str
    cpu_cores: int
    memory_gb: float
    storage_gb: float
    gpus: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(model, nvlink domain) -> GPUs."""
    backend: set[str] = field(default_factory=set)
    backend_gbps: float | None = None
    ports: list[NodePort] = field(default_factory=list)


def leaf_domain_name(switches: list[str]) -> str:
    """The dash-separated parts every name shares from the start (`leaf-p01-su02` for its 8 rails)."""
    if len(switches) == 1:
        return switches[0]
    parts = [s.split("-") for s in switches]
    common: list[str] = []
    for column in zip(*parts, strict=False):
        if len(set(column)) > 1:
            break
        common.append(column[0])
    return "-".join(common) if common else "+".join(sorted(switches, key=natural))


class IndexBuilder:
    def __init__(self) -> None:
        self.sites: dict[str, SiteInfo] = {}
        self.rack_site: dict[str, str] = {}
        self.switches: dict[str, tuple[str, str, str]] = {}
        self.nodes: dict[str, _Node] = {}
        self.states: dict[str, str] = {}
        self.healths: dict[str, str] = {}
        self.members: set[str] = set()
        self.link_errors: set[str] = set()
        self.cables: list[tuple[str, str, str, str, float]] = []

    def site(self, name: str, region: str = "", country: str = "", jurisdiction: str = "", certs=()) -> None:  # type: ignore[no-untyped-def]
        self.sites[name] = SiteInfo(name, region or "", country or "", jurisdiction or "", frozenset(certs or ()))

    def rack(self, name: str, site: str) -> None:
        self.rack_site[name] = site

    def switch(self, name: str, role: str, pod: str, rack: str) -> None:
        self.switches[name] = (role, pod or "", rack or "")

    def node(
        self, name: str, rack: str, cpu_cores: int, memory_gb: float, storage_gb: float, state: str, health: str
    ) -> None:
        self.nodes[name] = _Node(rack or "", int(cpu_cores or 0), float(memory_gb or 0), float(storage_gb or 0))
        self.states[name], self.healths[name] = state, health

    def gpus(self, node: str, model: str, nvlink_domain: str, count: int) -> None:
        if node in self.nodes:
            self.nodes[node].gpus[(model or "", nvlink_domain or "")] += count

    def nic_cable(self, node: str, role: str, speed: float, switch: str, port: str, oper_status: str) -> None:
        n = self.nodes.get(node)
        if n is None:
            return
        if (oper_status or "") not in GOOD_OPER_STATUS:
            self.link_errors.add(node)
        if role != "bmc":
            n.ports.append((switch, port, role))
        if role == "backend":
            n.backend.add(switch)
            n.backend_gbps = speed if n.backend_gbps is None else min(n.backend_gbps, speed)

    def cable(self, switch_a: str, port_a: str, switch_b: str, port_b: str, speed: float) -> None:
        self.cables.append((switch_a, port_a, switch_b, port_b, float(speed)))

    def member(self, node: str) -> None:
        self.members.add(node)

    def build(self) -> PlacementIndex:
        topology = self._topology()
        return PlacementIndex(topology, occupancy(topology, self.states, self.healths, self.members, self.link_errors))

    def _topology(self) -> Topology:
        switch_names = tuple(sorted(self.switches, key=natural))
        switch_id = {s: i for i, s in enumerate(switch_names)}
        infos = {
            s: SwitchInfo(s, role, pod, self.rack_site.get(rack, ""), rack)
            for s, (role, pod, rack) in self.switches.items()
        }
        adjacency: list[set[int]] = [set() for _ in switch_names]
        uplinks: dict[str, list[Uplink]] = defaultdict(list)
        uplink_gbps: dict[int, float] = {}
        for a, pa, b, pb, speed in self.cables:
            if a not in switch_id or b not in switch_id or a == b:
                continue
            adjacency[switch_id[a]].add(switch_id[b])
            adjacency[switch_id[b]].add(switch_id[a])
            ta, tb = TIERS.get(infos[a].role, 0), TIERS.get(infos[b].role, 0)
            for low, lp, high, hp, t_low, t_high in ((a, pa, b, pb, ta, tb), (b, pb, a, pa, tb, ta)):
                if t_high > t_low:
                    uplinks[low].append((lp, high, hp))
                    i = switch_id[low]
                    uplink_gbps[i] = min(uplink_gbps.get(i, speed), speed)

        names = tuple(sorted(self.nodes, key=natural))
        keys: list[list[tuple[str, ...]]] = [[], [], [], []]
        labels: list[dict[tuple[str, ...], str]] = [{}, {}, {}, {}]
        leafsets: dict[tuple[str, ...], frozenset[int]] = {}
        models: dict[str, int] = {}
        gpu_model, gpu_count, backend = [], [], []
        for name in names:
            n = self.nodes[name]
            site = self.rack_site.get(n.rack, "")
            leaves = sorted((s for s in n.backend if s in switch_id), key=natural)
            leaf_label = leaf_domain_name(leaves) if leaves else name
            pods = Counter(infos[s].pod for s in leaves if infos[s].pod)
            pod_label = pods.most_common(1)[0][0] if pods else leaf_label
            top = max(n.gpus.items(), key=lambda kv: kv[1])[0] if n.gpus else ("", "")
            site_key = (site,)
            pod_key = (*site_key, pod_label)
            leaf_key = (*pod_key, *leaves) if leaves else (*pod_key, "#node", name)
            nvl_key = (*leaf_key, "#nvl", top[1] or name)
            for depth, (key, label) in enumerate(
                ((site_key, site), (pod_key, pod_label), (leaf_key, leaf_label), (nvl_key, top[1] or name))
            ):
                keys[depth].append(key)
                labels[depth][key] = label
            leafsets[leaf_key] = frozenset(switch_id[s] for s in leaves)
            gpu_model.append(models.setdefault(top[0], len(models)) if n.gpus else -1)
            gpu_count.append(sum(n.gpus.values()))
            backend.append(n.backend_gbps or 0.0)

        dom, parent, total, domain_names = [], [], [], []
        leaf_switches: tuple[frozenset[int], ...] = ()
        ids_above: dict[tuple[str, ...], int] = {}
        for depth in range(4):
            ordered = list(dict.fromkeys(keys[depth]))  # by first node, in natural node order
            ids = {k: i for i, k in enumerate(ordered)}
            domain_names.append(_unique([labels[depth][k] for k in ordered]))
            dom.append(np.array([ids[k] for k in keys[depth]], dtype=np.int64))
            parent.append(
                np.array([ids_above[_parent_key(depth, k)] for k in ordered], dtype=np.int64)
                if depth
                else np.zeros(len(ordered), dtype=np.int64)
            )
            total.append(np.bincount(dom[-1], minlength=len(ordered)))
            ids_above = ids
            if depth == 2:
                leaf_switches = tuple(leafsets[k] for k in ordered)
        sites = tuple(self.sites.get(s, SiteInfo(s)) for s in domain_names[0])
        return Topology(
            node_names=names,
            node_pos={n: i for i, n in enumerate(names)},
            domain_names=tuple(domain_names),
            dom=tuple(dom),
            parent=tuple(parent),
            total=tuple(total),
            sites=sites,
            gpu_count=np.array(gpu_count, dtype=np.int64),
            gpu_model=np.array(gpu_model, dtype=np.int64),
            gpu_models=tuple(models),
            cpu_cores=np.array([self.nodes[n].cpu_cores for n in names], dtype=np.int64),
            memory_gb=np.array([self.nodes[n].memory_gb for n in names], dtype=np.float64),
            storage_gb=np.array([self.nodes[n].storage_gb for n in names], dtype=np.float64),
            backend_gbps=np.array(backend, dtype=np.float64),
            leaf_switches=leaf_switches,
            switch_names=switch_names,
            switches=infos,
            adjacency=tuple(frozenset(a) for a in adjacency),
            uplink_table={s: tuple(sorted(u, key=lambda x: natural(x[0]))) for s, u in uplinks.items()},
            uplink_gbps=uplink_gbps,
            node_port_table=tuple(tuple(self.nodes[n].ports) for n in names),
        )


def _parent_key(depth: int, key: tuple[str, ...]) -> tuple[str, ...]:
    """Keys: site (s,), pod (s, p), leaf (s, p, *leaves), NVLink (*leaf, '#nvl', d)."""
    return {1: key[:1], 2: key[:2], 3: key[:-2]}[depth]


def _unique(labels: list[str]) -> tuple[str, ...]:
    """Labels made unique: a second domain of one name gets `#2` (e.g. a node missing a rail cable)."""
    seen: Counter[str] = Counter()
    out = []
    for label in labels:
        seen[label] += 1
        out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return tuple(out)
