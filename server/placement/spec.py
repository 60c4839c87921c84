"""What a tenant asks for: a `ClusterSpec`, validated on construction.

A spec sizes the request (`nodes` or `gpus`, exactly one), sets minimum hardware per node, the
topology wish (a `Level` and a `Mode`, optionally `max_hops` between any two nodes) and placement
constraints (sites, regions, jurisdictions, certifications, and which unhealthy nodes to avoid).
`nodes`/`gpus` count what is to be chosen now: when growing a cluster, its current nodes are the
planner's `anchors` and are not counted here.

Every problem raises `InvalidReference` naming the field, so the API can return it as is.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from ..errors import InvalidReference

MAX_NODES = 1_000_000


class Level(StrEnum):
    """Topology levels, innermost first (see schema/MODEL.md)."""

    NVLINK_DOMAIN = "nvlink_domain"
    LEAF = "leaf"
    SPINE_POD = "spine_pod"
    SITE = "site"


OUTER_FIRST: tuple[Level, ...] = (Level.SITE, Level.SPINE_POD, Level.LEAF, Level.NVLINK_DOMAIN)
"""The levels from the outermost in: the order of the domain tree (depth 0 = site)."""


class Mode(StrEnum):
    REQUIRED = "required"
    """Every node inside one domain of the level."""
    PREFERRED = "preferred"
    """As few domains as possible, level by level from the site down to the level."""
    UNCONSTRAINED = "unconstrained"
    """One site; otherwise the most fragmented free capacity first."""


def _enum(cls: type[StrEnum], field: str, value: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise InvalidReference(f"{field} must be one of {allowed}; got {value!r}") from None


def _names(field: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
        raise InvalidReference(f"{field} must be a list of non-empty names")
    return tuple(value)


@dataclass(frozen=True)
class ClusterSpec:
    nodes: int | None = None
    gpus: int | None = None
    gpu_model: str | None = None
    """Matches a GPU model exactly or as its first dash-separated part(s), case-insensitively:
    `H100` and `H100-SXM5` match `H100-SXM5-80GB`, `H10` does not."""
    gpus_per_node: int | None = None
    """Minimum GPUs per node."""
    cpu_cores: int | None = None
    memory_gb: float | None = None
    storage_gb: float | None = None
    backend_gbps: float | None = None
    """Minimum speed of every backend NIC cable of a node."""
    level: Level = Level.LEAF
    mode: Mode = Mode.PREFERRED
    max_hops: int | None = None
    """Most cables on the shortest backend path between any two nodes (2: one leaf, 4: one spine)."""
    sites: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    certifications: tuple[str, ...] = ()
    """All of them are required of the site."""
    exclude_unhealthy: bool = True
    """Only nodes whose health is `ok` (not `warning`, `critical` or `unknown`)."""
    exclude_maintenance: bool = True
    """Only `available` nodes; when False, nodes in `maintenance` are planned too (a what-if)."""
    exclude_link_errors: bool = True
    """Not nodes with a cabled port whose oper_status is known and not `up` (see loader)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if (self.nodes is None) == (self.gpus is None):
            raise InvalidReference("give exactly one of nodes and gpus")
        for name in ("nodes", "gpus", "gpus_per_node", "cpu_cores", "max_hops"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidReference(f"{name} must be an integer; got {value!r}")
        for name in ("nodes", "gpus", "gpus_per_node"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= MAX_NODES * 64:
                raise InvalidReference(f"{name} must be at least 1; got {value}")
        if self.nodes is not None and self.nodes > MAX_NODES:
            raise InvalidReference(f"nodes must be at most {MAX_NODES}; got {self.nodes}")
        for name in ("cpu_cores", "memory_gb", "storage_gb", "backend_gbps"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
                raise InvalidReference(f"{name} must be a number of at least 0; got {value!r}")
        if self.max_hops is not None and self.max_hops < 2:
            raise InvalidReference(f"max_hops must be at least 2 (two nodes on one leaf); got {self.max_hops}")
        if self.gpu_model is not None and (not isinstance(self.gpu_model, str) or not self.gpu_model.strip()):
            raise InvalidReference("gpu_model must be a non-empty string")
        set_(self, "level", _enum(Level, "level", self.level))
        set_(self, "mode", _enum(Mode, "mode", self.mode))
        for name in ("sites", "regions", "jurisdictions", "certifications"):
            set_(self, name, _names(name, getattr(self, name)))
        for name in ("exclude_unhealthy", "exclude_maintenance", "exclude_link_errors"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidReference(f"{name} must be true or false")

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, enums as their values): how a spec is stored on a Cluster."""
        data = asdict(self)
        data["level"], data["mode"] = self.level.value, self.mode.value
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> ClusterSpec:
        try:
            data = json.loads(text) if isinstance(text, str) else dict(text)
        except ValueError as e:
            raise InvalidReference(f"a cluster spec must be a JSON object: {e}") from None
        if not isinstance(data, dict):
            raise InvalidReference("a cluster spec must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidReference(f"unknown cluster spec field(s): {', '.join(unknown)}")
        return cls(**data)
