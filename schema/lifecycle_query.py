"""Root query fields of placement: what a cluster request would get now."""

from __future__ import annotations

import strawberry

from .lifecycle_scope import explainer
from .lifecycle_types import ClusterSpecInput, PlacementPlan
from .types import Ctx


@strawberry.type
class LifecycleQuery:
    @strawberry.field(
        description="Where a cluster of `spec` would go now, or why it cannot; nothing is reserved. Tenants see "
        "counts only: no node or domain names, in the plan or in its explanations."
    )
    async def plan_cluster(self, info: Ctx, spec: ClusterSpecInput) -> PlacementPlan:
        wanted = spec.to_spec()
        lifecycle = info.context.services.lifecycle
        found = await lifecycle.plan(wanted)
        index = await lifecycle.ctx.placement.index()
        provider = info.context.tenant is None
        return PlacementPlan.of(found, index, names=provider, explain=await explainer(info, keep_own=False))
