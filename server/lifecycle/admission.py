"""Admission: the one gate every allocation passes before a node is reserved.

`Admission.admit` runs every check in order against the allocation about to be made (a new
cluster, a cluster growing, a node being replaced); the first that refuses raises its error and
nothing is reserved. Checks are plain async callables, so the quota and compliance rules plug in
here (`Admission(checks=[*DEFAULT_CHECKS, quota_check])`) without touching the lifecycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ..errors import DomainError, NotFound
from ..store.base import GraphStore
from .states import JobKind


class AdmissionRefused(DomainError):
    """The allocation breaks a rule of the provider; the message says which."""


@dataclass(frozen=True)
class AdmissionRequest:
    tenant: str
    cluster: str
    kind: JobKind
    nodes: tuple[str, ...]
    """The nodes about to be reserved."""
    gpus: int
    """GPUs on those nodes."""
    cluster_nodes_after: int
    """How many nodes the cluster will have once they are added."""


Check = Callable[[GraphStore, AdmissionRequest], Awaitable[None]]


async def tenant_exists(store: GraphStore, request: AdmissionRequest) -> None:
    if not await store.read("MATCH (t:Tenant {key: $t}) RETURN t.key AS t", {"t": request.tenant}):
        raise NotFound(f"tenant {request.tenant!r} not found")


def max_cluster_nodes(limit: int) -> Check:
    async def check(store: GraphStore, request: AdmissionRequest) -> None:
        if request.cluster_nodes_after > limit:
            raise AdmissionRefused(
                f"a cluster may have at most {limit} nodes; this one would have {request.cluster_nodes_after}"
            )

    return check


@dataclass(frozen=True)
class Admission:
    checks: Sequence[Check]

    @classmethod
    def default(cls, max_nodes: int = 4096) -> Admission:
        return cls((tenant_exists, max_cluster_nodes(max_nodes)))

    async def admit(self, store: GraphStore, request: AdmissionRequest) -> None:
        for check in self.checks:
            await check(store, request)
