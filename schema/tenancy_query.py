"""Root query fields of tenancy. What a caller sees is decided by its scope (see
`server.tenancy.visibility`); these resolvers only choose what to ask for."""

from __future__ import annotations

import strawberry

from metalgraph.server.auth import tokens
from metalgraph.server.tenancy.capacity import free_capacity
from metalgraph.server.tenancy.clusters import cluster_key
from metalgraph.server.tenancy.disclosure import tenant_capacity
from metalgraph.server.topology.pages import Selection

from .connection import Connection, paginate
from .cost import unbounded
from .errors import ApiError, Code
from .permissions import AdminsAndProviderViewers
from .tenancy_types import ApiToken, CapacityBucket, Cluster, Tenant, Viewer
from .types import Ctx


def _tenant_argument(info: Ctx, tenant: str | None) -> str | None:
    """A tenant caller always means its own tenant; naming another one finds nothing."""
    own = info.context.tenant
    return own if own is not None and tenant is None else tenant


@strawberry.type
class TenancyQuery:
    @strawberry.field(description="Who the server thinks you are.")
    def viewer(self, info: Ctx) -> Viewer:
        principal = info.context.principal
        if principal is None:  # AccessPolicy refuses anonymous callers before this runs
            raise ApiError(Code.UNAUTHENTICATED, "credentials required")
        return Viewer(
            subject=principal.subject, role=principal.role, method=principal.method.value, tenant_name=principal.tenant
        )

    @strawberry.field(description="One tenant by name; a tenant sees only itself.")
    async def tenant(self, info: Ctx, name: str) -> Tenant | None:
        props = await info.context.loaders.vertex("Tenant").load(name)
        return Tenant(props) if props else None

    @strawberry.field(description="Tenants in name order; a tenant sees only itself.")
    async def tenants(self, info: Ctx, first: int | None = 100, after: str | None = None) -> Connection[Tenant]:
        return await paginate(
            info.context.reader, Selection("Tenant"), first, after, Tenant, info.context.settings.max_page_size
        )

    @strawberry.field(description="One cluster by name. `tenant` is needed by providers; tenants see their own only.")
    async def cluster(self, info: Ctx, name: str, tenant: str | None = None) -> Cluster | None:
        owner = _tenant_argument(info, tenant)
        if owner is None:
            return None
        props = await info.context.loaders.vertex("Cluster").load(cluster_key(owner, name))
        return Cluster(props) if props else None

    @strawberry.field(description="Clusters ordered by tenant and name; a tenant sees its own only.")
    async def clusters(
        self, info: Ctx, first: int | None = 100, after: str | None = None, tenant: str | None = None
    ) -> Connection[Cluster]:
        selection = Selection("Cluster").equals("tenant", tenant)
        return await paginate(
            info.context.reader, selection, first, after, Cluster, info.context.settings.max_page_size
        )

    @strawberry.field(
        description="API token records (never secrets): providers see all (or `tenant`'s), a tenant-admin its own.",
        permission_classes=[AdminsAndProviderViewers],
        metadata=unbounded("a token stays listed after it expires or is revoked"),
    )
    async def api_tokens(self, info: Ctx, tenant: str | None = None) -> list[ApiToken]:
        own = info.context.tenant
        if own is not None and tenant not in (None, own):
            return []
        records = await tokens.list_tokens(info.context.reader.store, own if own is not None else tenant)
        return [ApiToken.of(r) for r in records]

    @strawberry.field(
        description="Free nodes and GPUs of the pool by site, spine pod and GPU model (counts only; tenants: by "
        "site and GPU model).",
        metadata=unbounded("one bucket per site, spine pod and GPU model of the inventory"),
    )
    async def free_capacity(self, info: Ctx) -> list[CapacityBucket]:
        found = await free_capacity(info.context.reader.store)
        if info.context.tenant is not None:
            found = tenant_capacity(found)
        return [
            CapacityBucket(
                site=c.site, pod=c.pod, gpu_model=c.gpu_model, free_nodes=c.free_nodes, free_gpus=c.free_gpus
            )
            for c in found
        ]
