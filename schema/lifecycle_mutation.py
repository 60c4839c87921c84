"""Mutations of the cluster lifecycle: self-service for tenant admins (their own tenant's clusters)
and for provider admins (any tenant's, named by `tenant`).

Each one checks the request and hands a job to the cluster; it returns at once with the cluster in
its new state, and the work goes on in the background (`Cluster.events`, `clusterEvents`). A tenant
naming another tenant, or another tenant's cluster, gets NOT_FOUND exactly as for one that does not
exist. Writes go through the request's auditing store, so each comes with its audit entry.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry

from metalgraph.server.errors import DomainError
from metalgraph.server.lifecycle.reserve import CannotPlace

from .errors import ApiError, Code, api_error
from .lifecycle_scope import acting_tenant, explainer, refresh_scope, visible_cluster
from .lifecycle_types import ClusterSpecInput
from .mutation import DeletePayload
from .permissions import AdminOfTenantOrProvider
from .tenancy_types import Cluster
from .types import Ctx

T = TypeVar("T")


async def _run(info: Ctx, call: Awaitable[T]) -> T:
    try:
        return await call
    except CannotPlace as e:
        explain = await explainer(info, keep_own=False)
        raise ApiError(Code.INSUFFICIENT_CAPACITY, explain(e.message)) from None
    except DomainError as e:
        raise api_error(e) from None
    finally:
        await refresh_scope(info)


async def _visible(info: Ctx, tenant: str | None, name: str) -> str:
    """The owner of a cluster the caller may act on; NOT_FOUND when it does not exist or is not theirs."""
    owner = acting_tenant(info, tenant)
    await visible_cluster(info, owner, name)
    return owner


async def _answer(info: Ctx, owner: str, name: str) -> Cluster:
    return Cluster(await visible_cluster(info, owner, name))


@strawberry.type
class LifecycleMutation:
    @strawberry.mutation(
        description="Ask for a new cluster (tenant admins: in their tenant; providers: in `tenant`). It is placed "
        "now (INSUFFICIENT_CAPACITY, with the reasons, when it cannot be) and provisioned in the background.",
        permission_classes=[AdminOfTenantOrProvider],
    )
    async def create_cluster(
        self, info: Ctx, name: str, spec: ClusterSpecInput, tenant: str | None = None, description: str = ""
    ) -> Cluster:
        owner = acting_tenant(info, tenant)
        wanted = spec.to_spec()
        lifecycle = info.context.services.lifecycle
        await _run(info, lifecycle.create(info.context.store, owner, name, wanted, description))
        return await _answer(info, owner, name)

    @strawberry.mutation(
        description="Give a ready (or failed) cluster back: its nodes are sanitized, its VLAN returns to the pool.",
        permission_classes=[AdminOfTenantOrProvider],
    )
    async def release_cluster(self, info: Ctx, name: str, tenant: str | None = None) -> Cluster:
        owner = await _visible(info, tenant, name)
        await _run(info, info.context.services.lifecycle.release(info.context.store, owner, name))
        return await _answer(info, owner, name)

    @strawberry.mutation(
        description="Grow a ready cluster by `add` nodes, or shrink it by the nodes `remove` or by `removeCount` "
        "nodes (the outermost); exactly one of the three.",
        permission_classes=[AdminOfTenantOrProvider],
    )
    async def resize_cluster(
        self,
        info: Ctx,
        name: str,
        tenant: str | None = None,
        add: int | None = None,
        remove: list[str] | None = None,
        remove_count: int | None = None,
    ) -> Cluster:
        given = [a for a, v in (("add", add), ("remove", remove), ("removeCount", remove_count)) if v is not None]
        if len(given) != 1:
            raise ApiError(Code.INVALID_INPUT, "give exactly one of add, remove and removeCount")
        owner = await _visible(info, tenant, name)
        lifecycle, store = info.context.services.lifecycle, info.context.store
        if add is not None:
            await _run(info, lifecycle.grow(store, owner, name, add))
        elif remove is not None:
            if not remove:
                raise ApiError(Code.INVALID_INPUT, "`remove` names no node", argument="remove")
            await _run(info, lifecycle.shrink(store, owner, name, nodes=remove))
        else:
            await _run(info, lifecycle.shrink(store, owner, name, count=remove_count or 0))
        return await _answer(info, owner, name)

    @strawberry.mutation(
        description="Swap a node of a ready cluster (failed, or unwanted) for the healthy free node closest to the "
        "rest.",
        permission_classes=[AdminOfTenantOrProvider],
    )
    async def replace_node(self, info: Ctx, name: str, node: str, tenant: str | None = None) -> Cluster:
        owner = await _visible(info, tenant, name)
        await _run(info, info.context.services.lifecycle.replace_node(info.context.store, owner, name, node))
        return await _answer(info, owner, name)

    @strawberry.mutation(
        description="Forget a released or failed cluster and its events (INVALID_STATE otherwise).",
        permission_classes=[AdminOfTenantOrProvider],
    )
    async def delete_cluster(self, info: Ctx, name: str, tenant: str | None = None) -> DeletePayload:
        owner = await _visible(info, tenant, name)
        await _run(info, info.context.services.lifecycle.delete(info.context.store, owner, name))
        return DeletePayload(deleted=True, name=name)
