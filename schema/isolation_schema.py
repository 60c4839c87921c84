"""`isolationReport` (providers): the graph's intended tenant isolation against the switches."""

from __future__ import annotations

import strawberry

from metalgraph.server.isolation import IsolationReport as Report
from metalgraph.server.isolation import Violation, model

from .cost import unbounded
from .permissions import ProviderReader
from .types import Ctx

ViolationKind = strawberry.enum(
    model.ViolationKind, name="ViolationKind", description="What is wrong with tenant isolation."
)


@strawberry.type(description="One violation of tenant isolation, with where and who.")
class IsolationViolation:
    kind: ViolationKind  # type: ignore[valid-type]
    message: str
    switch: str | None
    port: str | None
    vlan: int | None
    expected: str | None = strawberry.field(description="The intended state in words.")
    actual: str | None = strawberry.field(description="The state found.")
    tenants: list[str]
    clusters: list[str] = strawberry.field(description="Cluster keys (`tenant/name`) involved.")
    node: str | None
    subject: str | None = strawberry.field(
        description="For `ORPHAN`: node, network, port or cluster; for `UNREACHABLE`: the device address."
    )
    source: str = strawberry.field(description="Where the violating state was seen: graph, device or both.")

    @classmethod
    def of(cls, v: Violation) -> IsolationViolation:
        return cls(
            kind=v.kind,
            message=v.message,
            switch=v.switch,
            port=v.port,
            vlan=v.vlan,
            expected=v.expected,
            actual=v.actual,
            tenants=list(v.tenants),
            clusters=list(v.clusters),
            node=v.node,
            subject=v.subject,
            source=v.source.value,
        )


@strawberry.type(description="The intended VLAN state in the graph compared with every switch, read back.")
class IsolationReport:
    ok: bool = strawberry.field(description="No violation, and every switch was read.")
    violations: list[IsolationViolation] = strawberry.field(
        metadata=unbounded("every port of every switch may be wrong in several ways")
    )
    switches_read: int
    ports_compared: int
    clusters: int
    duration_s: float

    @classmethod
    def of(cls, report: Report) -> IsolationReport:
        return cls(
            ok=report.ok,
            violations=[IsolationViolation.of(v) for v in report.violations],
            switches_read=report.switches_read,
            ports_compared=report.ports_compared,
            clusters=report.clusters,
            duration_s=round(report.duration_s, 3),
        )


@strawberry.type
class IsolationQuery:
    @strawberry.field(
        description="Compare the intended VLAN state in the graph with every switch (or the `switches` named), "
        "read through its driver: wrong VLANs, VLANs shared by two tenants, trunks leaking a tenant VLAN, nodes "
        "in two clusters, orphans, unreachable switches (providers).",
        permission_classes=[ProviderReader],
    )
    async def isolation_report(self, info: Ctx, switches: list[str] | None = None) -> IsolationReport:
        return IsolationReport.of(await info.context.services.lifecycle.isolation_report(switches))
