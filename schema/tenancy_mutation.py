"""Mutations of tenancy: tenants (providers), cluster descriptions and API tokens (tenant admins, for
their own tenant). Clusters themselves come and go through the lifecycle (`lifecycle_mutation`).

A tenant naming an object of another tenant gets NOT_FOUND, exactly as for an object that does not
exist; the audit trail records the attempt."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry

from metalgraph.server.auth import tokens
from metalgraph.server.auth.principal import Role
from metalgraph.server.errors import DomainError
from metalgraph.server.tenancy import clusters, tenants
from metalgraph.server.tenancy.clusters import cluster_key

from .errors import ApiError, Code, api_error
from .lifecycle_scope import acting_tenant
from .mutation import DeletePayload
from .permissions import AdminOfTenantOrProvider, ProviderAdmin
from .tenancy_types import ApiToken, Cluster, IssuedApiToken, Tenant
from .tenancy_types import Role as RoleEnum
from .types import Ctx

T = TypeVar("T")


async def _run(info: Ctx, call: Awaitable[T]) -> T:
    try:
        return await call
    except DomainError as e:
        raise api_error(e) from None
    finally:
        info.context.forget_cached_reads()


def _own_tenant(info: Ctx, tenant: str | None) -> str:
    """The tenant a mutation acts on: a tenant's own (naming another one finds nothing); a provider must name one."""
    return acting_tenant(info, tenant)


async def _cluster(info: Ctx, tenant: str, name: str) -> Cluster:
    props = await info.context.loaders.vertex("Cluster").load(cluster_key(tenant, name))
    if props is None:
        raise ApiError(Code.NOT_FOUND, f"cluster {name!r} not found")
    return Cluster(props)


async def _tenant(info: Ctx, name: str) -> Tenant:
    props = await info.context.loaders.vertex("Tenant").load(name)
    if props is None:
        raise ApiError(Code.NOT_FOUND, f"tenant {name!r} not found")
    return Tenant(props)


@strawberry.type
class TenancyMutation:
    @strawberry.mutation(description="Create a tenant (providers).", permission_classes=[ProviderAdmin])
    async def create_tenant(self, info: Ctx, name: str, display_name: str = "", contact_email: str = "") -> Tenant:
        await _run(info, tenants.create_tenant(info.context.store, name, display_name, contact_email))
        return await _tenant(info, name)

    @strawberry.mutation(description="Change a tenant's display name or contact.", permission_classes=[ProviderAdmin])
    async def update_tenant(
        self, info: Ctx, name: str, display_name: str | None = None, contact_email: str | None = None
    ) -> Tenant:
        await _run(info, tenants.update_tenant(info.context.store, name, display_name, contact_email))
        return await _tenant(info, name)

    @strawberry.mutation(
        description="Delete a tenant without clusters; its tokens are deleted, its audit entries kept.",
        permission_classes=[ProviderAdmin],
    )
    async def delete_tenant(self, info: Ctx, name: str) -> DeletePayload:
        await _run(info, tenants.delete_tenant(info.context.store, name))
        return DeletePayload(deleted=True, name=name)

    @strawberry.mutation(
        description="Change a cluster's description (its tenant's admins, or providers).",
        permission_classes=[AdminOfTenantOrProvider],
    )
    async def update_cluster(self, info: Ctx, name: str, description: str, tenant: str | None = None) -> Cluster:
        owner = _own_tenant(info, tenant)
        await _run(info, clusters.update_cluster(info.context.store, owner, name, description))
        return await _cluster(info, owner, name)

    @strawberry.mutation(
        description="Create an API token; the secret is in the answer, once. Tenant admins create tokens of their "
        "own tenant with tenant roles; providers any. `expiresIn` like `30d`, `12h`, at most `366d`; default never.",
        permission_classes=[AdminOfTenantOrProvider],
    )
    async def create_api_token(
        self,
        info: Ctx,
        role: RoleEnum,  # type: ignore[valid-type]
        tenant: str | None = None,
        expires_in: str | None = None,
        description: str = "",
    ) -> IssuedApiToken:
        principal = info.context.principal
        assert principal is not None
        chosen = Role(role)
        if principal.tenant is not None:
            if chosen.is_provider:
                raise ApiError(Code.FORBIDDEN, "a tenant-admin can create tenant tokens only")
            owner: str | None = _own_tenant(info, tenant)
        else:
            owner = None if chosen.is_provider else _own_tenant(info, tenant)
            if chosen.is_provider and tenant is not None:
                raise ApiError(Code.INVALID_INPUT, "provider roles belong to no tenant", argument="tenant")
            if owner is not None and await tenants.get_tenant(info.context.store, owner) is None:
                raise ApiError(Code.NOT_FOUND, f"tenant {owner!r} not found")
        try:
            lifetime = tokens.parse_duration(expires_in) if expires_in is not None else None
        except ValueError as e:
            raise ApiError(Code.INVALID_INPUT, str(e), argument="expiresIn") from None
        issued, statement = tokens.new_token(owner, chosen, principal.subject, lifetime, description)
        await info.context.store.write_atomically([statement])
        return IssuedApiToken(token=issued.secret, api_token=ApiToken.of(issued.record))

    @strawberry.mutation(
        description="Revoke an API token by id (tenant admins: their tenant's; providers: any).",
        permission_classes=[AdminOfTenantOrProvider],
    )
    async def revoke_api_token(self, info: Ctx, id: strawberry.ID) -> ApiToken:
        record = await tokens.find_token(info.context.store, str(id))
        own = info.context.tenant
        if record is None or (own is not None and record.tenant != own):
            raise ApiError(Code.NOT_FOUND, f"API token {id!r} not found")
        if record.revoked_at is None:
            await info.context.store.write_atomically([tokens.revoke_statement(record.id)])
            record = await tokens.find_token(info.context.store, record.id) or record
        return ApiToken.of(record)
