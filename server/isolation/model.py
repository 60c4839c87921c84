"""What the isolation report says: violations of tenant isolation, each with where and who.

Kinds (the rules are in `rules.py`):

- `wrong_vlan`: a switch port whose VLAN state on the device differs from the graph's intent.
- `shared_vlan`: one VLAN on access ports of nodes of two clusters.
- `trunk_leak`: a trunk carrying a cluster's VLAN toward a switch the cluster does not need.
- `double_membership`: a node in two clusters.
- `orphan`: something tenant-owned that belongs nowhere (`subject` says what: `node`, `network`,
  `port`, `cluster`).
- `unreachable`: a switch whose state could not be read, so nothing on it was verified.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum


class ViolationKind(StrEnum):
    WRONG_VLAN = "wrong_vlan"
    SHARED_VLAN = "shared_vlan"
    TRUNK_LEAK = "trunk_leak"
    DOUBLE_MEMBERSHIP = "double_membership"
    ORPHAN = "orphan"
    UNREACHABLE = "unreachable"


class Source(StrEnum):
    """Where the violating state was seen."""

    GRAPH = "graph"
    DEVICE = "device"
    BOTH = "both"


@dataclass(frozen=True)
class Violation:
    kind: ViolationKind
    message: str
    """One sentence for a human: what is wrong, where, and what was expected."""
    switch: str | None = None
    port: str | None = None
    vlan: int | None = None
    expected: str | None = None
    """The intended state in words (`access 1001`, `trunk 1001,1002`, `no tenant VLAN`)."""
    actual: str | None = None
    """The state found (on the device for `wrong_vlan`)."""
    tenants: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    """Cluster keys (`tenant/name`) involved, sorted."""
    node: str | None = None
    subject: str | None = None
    """For `orphan`: `node`, `network`, `port` or `cluster`; for `unreachable`: the device address."""
    source: Source = Source.GRAPH


@dataclass(frozen=True)
class IsolationReport:
    violations: tuple[Violation, ...]
    """Sorted by kind, switch, port, vlan, node."""
    switches_read: int
    """Switches whose VLAN state was read."""
    ports_compared: int
    """Device ports compared with the graph (every port read, whether or not it has an intent)."""
    clusters: int
    """Clusters in the graph."""
    duration_s: float
    graph_s: float = 0.0
    """Of `duration_s`: reading the graph."""
    devices_s: float = 0.0
    """Of `duration_s`: reading the switches."""
    cables_read: int = 0
    """Switch ports whose cables were read: those carrying a tenant VLAN and not cabled to a node."""

    @property
    def ok(self) -> bool:
        """No violation at all, and every switch was read."""
        return not self.violations

    @property
    def unreachable(self) -> tuple[Violation, ...]:
        """The switches that could not be read (also among `violations`)."""
        return tuple(v for v in self.violations if v.kind is ViolationKind.UNREACHABLE)

    def of_kind(self, kind: ViolationKind) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.kind is kind)

    def counts(self) -> dict[ViolationKind, int]:
        """Violations by kind (every kind present, zeros included)."""
        found = Counter(v.kind for v in self.violations)
        return {kind: found.get(kind, 0) for kind in ViolationKind}
