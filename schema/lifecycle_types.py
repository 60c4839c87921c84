"""GraphQL types of placement and the cluster lifecycle: the request (`ClusterSpecInput`), a plan, events."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import strawberry

from metalgraph.server.errors import DomainError
from metalgraph.server.lifecycle import events, states
from metalgraph.server.placement.index import PlacementIndex
from metalgraph.server.placement.planner import Plan
from metalgraph.server.placement.spec import OUTER_FIRST, ClusterSpec, Level, Mode

from .cost import max_items
from .errors import api_error

TopologyLevel = strawberry.enum(Level, name="TopologyLevel", description="Topology levels, innermost first.")
PlacementMode = strawberry.enum(Mode, name="PlacementMode")
ClusterState = strawberry.enum(states.ClusterState, name="ClusterState")


@strawberry.input(description="What a cluster needs: its size (one of `nodes`, `gpus`), hardware, topology, where.")
class ClusterSpecInput:
    nodes: int | None = None
    gpus: int | None = None
    gpu_model: str | None = strawberry.field(default=None, description="`H100` matches `H100-SXM5-80GB`.")
    gpus_per_node: int | None = strawberry.field(default=None, description="At least this many GPUs per node.")
    cpu_cores: int | None = None
    memory_gb: float | None = None
    storage_gb: float | None = None
    backend_gbps: float | None = strawberry.field(default=None, description="Minimum speed of each backend NIC.")
    level: TopologyLevel = Level.LEAF  # type: ignore[valid-type]
    mode: PlacementMode = Mode.PREFERRED  # type: ignore[valid-type]
    max_hops: int | None = strawberry.field(default=None, description="Most cables between any two nodes.")
    sites: list[str] = strawberry.field(default_factory=list)
    regions: list[str] = strawberry.field(default_factory=list)
    jurisdictions: list[str] = strawberry.field(default_factory=list)
    certifications: list[str] = strawberry.field(default_factory=list, description="All of them are required.")
    exclude_unhealthy: bool = True
    exclude_maintenance: bool = True
    exclude_link_errors: bool = True

    def to_spec(self) -> ClusterSpec:
        """The validated spec; a bad value is INVALID_INPUT naming the field."""
        try:
            return ClusterSpec(**{f.name: getattr(self, f.name) for f in fields(ClusterSpec)})
        except DomainError as e:
            raise api_error(e) from None


@strawberry.type(name="ClusterSpec", description="What a cluster was asked for (see `ClusterSpecInput`).")
class ClusterSpecView:
    nodes: int | None
    gpus: int | None
    gpu_model: str | None
    gpus_per_node: int | None
    cpu_cores: int | None
    memory_gb: float | None
    storage_gb: float | None
    backend_gbps: float | None
    level: TopologyLevel  # type: ignore[valid-type]
    mode: PlacementMode  # type: ignore[valid-type]
    max_hops: int | None
    sites: list[str]
    regions: list[str]
    jurisdictions: list[str]
    certifications: list[str]
    exclude_unhealthy: bool
    exclude_maintenance: bool
    exclude_link_errors: bool

    @classmethod
    def of(cls, stored: Any) -> ClusterSpecView | None:
        """From the JSON a Cluster vertex keeps; None when it has none (or one this server cannot read)."""
        if not stored:
            return None
        try:
            spec = ClusterSpec.from_json(stored)
        except DomainError:
            return None
        values = {f.name: getattr(spec, f.name) for f in fields(ClusterSpec)}
        return cls(**{name: list(v) if isinstance(v, tuple) else v for name, v in values.items()})


@strawberry.type(description="The domains of one level a plan occupies (names: providers only).")
class DomainUse:
    level: TopologyLevel  # type: ignore[valid-type]
    count: int
    names: list[str]


@strawberry.type(description="Fragmentation of the free capacity of one level, from 0 (none) to 1.")
class LevelScore:
    level: TopologyLevel  # type: ignore[valid-type]
    score: float


@strawberry.type(
    description="Where a cluster would go now, or why it cannot. Tenants see counts only: no node or domain names."
)
class PlacementPlan:
    feasible: bool
    node_count: int
    gpu_count: int
    nodes: list[str]
    site: str | None
    domains: list[DomainUse] = strawberry.field(metadata=max_items(len(Level)))  # one per level
    hop_diameter: int | None
    bottleneck_gbps: float | None
    fragmentation: list[LevelScore] = strawberry.field(metadata=max_items(len(Level)))  # one per level
    explanations: list[str]

    @classmethod
    def of(cls, plan: Plan, index: PlacementIndex, *, names: bool, explain: Any) -> PlacementPlan:
        """`names`: whether the caller may see node and domain names; `explain` rewrites explanations."""
        t = index.topology
        gpus = sum(int(t.gpu_count[t.node_pos[n]]) for n in plan.nodes if n in t.node_pos)
        return cls(
            feasible=plan.feasible,
            node_count=len(plan.nodes),
            gpu_count=gpus,
            nodes=list(plan.nodes) if names else [],
            site=plan.site,
            domains=[
                DomainUse(level=level, count=len(plan.domains[level]), names=list(plan.domains[level]) if names else [])
                for level in OUTER_FIRST
                if level in plan.domains
            ],
            hop_diameter=plan.hop_diameter,
            bottleneck_gbps=plan.bottleneck_gbps,
            fragmentation=[
                LevelScore(level=level, score=float(plan.fragmentation[level]))
                for level in OUTER_FIRST
                if level in plan.fragmentation
            ],
            explanations=[explain(line) for line in plan.explanations],
        )


@strawberry.type(name="ClusterEvent", description="One step of a cluster's jobs, as its tenant reads it.")
class ClusterEventView:
    seq: int
    at: str
    kind: str = strawberry.field(description="`requested`, `reserved`, `network`, `power`, `ready`, `failed`, ...")
    state: ClusterState = strawberry.field(description="The cluster's state once this happened.")  # type: ignore[valid-type]
    message: str
    done: int | None = strawberry.field(description="Progress of the step, when it has parts.")
    total: int | None

    @classmethod
    def of(cls, event: events.ClusterEvent, message: str | None = None) -> ClusterEventView:
        return cls(
            seq=event.seq,
            at=event.at,
            kind=event.kind,
            state=event.state,
            message=event.message if message is None else message,
            done=event.done,
            total=event.total,
        )
