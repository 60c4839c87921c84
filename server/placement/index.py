"""The in-memory placement index: topology (static) and occupancy (changes with every allocation).

Nodes are numbered 0..n-1 in natural name order; every per-node fact is a numpy array indexed by
that number, so filtering 12,500 nodes is a handful of vectorised operations.

The domain tree, outermost first (`Level` order in `spec.OUTER_FIRST`, depth 0..3):

- site: the site of the node's rack;
- spine pod: the `pod` of the node's backend leaves (fallback: its leaf domain);
- leaf domain: the set of switches the node's backend NICs are cabled to (one rail-optimized SU),
  named by the leading dash-separated parts the leaf names share (`leaf-p01-su02`); a node
  without a cabled backend NIC is a leaf domain of its own;
- NVLink domain: `GPU.nvlink_domain` (fallback: the node).

Domains nest by construction: a domain's identity includes its parent's, so an NVLink domain
that spans two leaf domains is split in two rather than breaking the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .spec import OUTER_FIRST, Level

DEPTH = {level: depth for depth, level in enumerate(OUTER_FIRST)}
TIERS = {"leaf": 0, "oob": 0, "spine": 1, "core": 2}
"""Switch roles by height; uplinks go from a lower tier to a higher one (as tenancy.visibility)."""

STATE_AVAILABLE, STATE_MAINTENANCE, STATE_OTHER = 0, 1, 2
_STATES = {"available": STATE_AVAILABLE, "maintenance": STATE_MAINTENANCE}

Uplink = tuple[str, str, str]
"""(port, peer switch, peer port)."""
NodePort = tuple[str, str, str]
"""(switch, port, NIC role)."""


@dataclass(frozen=True)
class SiteInfo:
    name: str
    region: str = ""
    country: str = ""
    jurisdiction: str = ""
    certifications: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SwitchInfo:
    name: str
    role: str
    pod: str
    site: str
    rack: str


@dataclass(frozen=True, eq=False)
class Topology:
    """What changes only when the inventory does."""

    node_names: tuple[str, ...]
    node_pos: dict[str, int]
    domain_names: tuple[tuple[str, ...], ...]
    """Names of the domains of each depth (0 = site ... 3 = NVLink domain), by domain id."""
    dom: tuple[np.ndarray, ...]
    """Per depth: node -> domain id."""
    parent: tuple[np.ndarray, ...]
    """Per depth: domain id -> id of its parent one level out (depth 0: all zeros)."""
    total: tuple[np.ndarray, ...]
    """Per depth: nodes in each domain."""
    sites: tuple[SiteInfo, ...]
    """By site domain id."""
    gpu_count: np.ndarray
    gpu_model: np.ndarray
    """Code into `gpu_models` (-1: no GPU)."""
    gpu_models: tuple[str, ...]
    cpu_cores: np.ndarray
    memory_gb: np.ndarray
    storage_gb: np.ndarray
    backend_gbps: np.ndarray
    """Slowest backend NIC cable of each node (0 when it has none)."""
    leaf_switches: tuple[frozenset[int], ...]
    """Per leaf domain: the switch ids its nodes' backend NICs reach (empty: no backend NIC)."""
    switch_names: tuple[str, ...]
    switches: dict[str, SwitchInfo]
    adjacency: tuple[frozenset[int], ...]
    """Switch graph over switch-to-switch cables, by switch id."""
    uplink_table: dict[str, tuple[Uplink, ...]]
    uplink_gbps: dict[int, float]
    """Per switch id: the slowest of its uplinks."""
    node_port_table: tuple[tuple[NodePort, ...], ...]
    memo: dict[Any, Any] = field(default_factory=dict)
    """Derived facts computed on first use (hop distances, children lists); never changes an answer."""

    @property
    def size(self) -> int:
        return len(self.node_names)

    def names(self, level: Level) -> tuple[str, ...]:
        return self.domain_names[DEPTH[level]]


@dataclass(frozen=True, eq=False)
class Occupancy:
    """What allocations change: per node state, health, cluster membership and link errors."""

    state: np.ndarray
    """STATE_AVAILABLE, STATE_MAINTENANCE or STATE_OTHER."""
    health_ok: np.ndarray
    member: np.ndarray
    link_error: np.ndarray

    @property
    def free(self) -> np.ndarray:
        """Available and in no cluster: what fragmentation is measured on."""
        return (self.state == STATE_AVAILABLE) & ~self.member


def occupancy(
    topology: Topology,
    states: dict[str, str],
    healths: dict[str, str],
    members: set[str],
    link_errors: set[str],
) -> Occupancy:
    names = topology.node_names
    return Occupancy(
        state=np.array([_STATES.get(states.get(n, ""), STATE_OTHER) for n in names], dtype=np.int8),
        health_ok=np.array([healths.get(n) == "ok" for n in names], dtype=bool),
        member=np.array([n in members for n in names], dtype=bool),
        link_error=np.array([n in link_errors for n in names], dtype=bool),
    )


@dataclass(frozen=True, eq=False)
class PlacementIndex:
    topology: Topology
    occupancy: Occupancy

    def with_occupancy(self, occupancy: Occupancy) -> PlacementIndex:
        return replace(self, occupancy=occupancy)

    def node_ports(self, node: str) -> list[NodePort]:
        """The switch ports a node's non-BMC NICs are cabled to: (switch, port, nic role)."""
        pos = self.topology.node_pos.get(node)
        return [] if pos is None else list(self.topology.node_port_table[pos])

    def switch(self, name: str) -> SwitchInfo | None:
        return self.topology.switches.get(name)

    def uplinks(self, switch: str) -> list[Uplink]:
        """Cables from `switch` to switches of a higher tier (leaf -> spine -> core): (port, peer, peer port)."""
        return list(self.topology.uplink_table.get(switch, ()))

    def domain_of(self, node: str, level: Level) -> str | None:
        pos = self.topology.node_pos.get(node)
        if pos is None:
            return None
        depth = DEPTH[level]
        return self.topology.domain_names[depth][int(self.topology.dom[depth][pos])]

    def signature(self) -> tuple[Any, ...]:
        """Everything the planner reads, as plain values: two indexes of one graph compare equal."""
        t, o = self.topology, self.occupancy
        return (
            t.node_names,
            tuple(tuple(t.domain_names[d][i] for i in t.dom[d]) for d in range(len(OUTER_FIRST))),
            t.sites,
            tuple(t.gpu_models[c] if c >= 0 else "" for c in t.gpu_model),
            t.gpu_count.tolist(),
            t.cpu_cores.tolist(),
            t.memory_gb.tolist(),
            t.storage_gb.tolist(),
            t.backend_gbps.tolist(),
            tuple(sorted(t.switches.values(), key=lambda s: s.name)),
            tuple(sorted((k, tuple(sorted(v))) for k, v in t.uplink_table.items())),
            tuple(tuple(sorted(p)) for p in t.node_port_table),
            o.state.tolist(),
            o.health_ok.tolist(),
            o.member.tolist(),
            o.link_error.tolist(),
        )
