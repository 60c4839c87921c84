"""Subscriptions, over websockets (graphql-transport-ws at /graphql): a cluster's events as they happen.

One context serves a whole websocket connection, so:
- credentials come from the upgrade request's `Authorization` header, or from the `connection_init`
  payload (`{"Authorization": "Bearer ..."}`; browsers cannot set headers on a websocket), which wins
  when given (`authenticate_connection`, called by the view when the connection is initialised);
- each operation runs with its own copy of the context (`OperationContext`): its own DataLoaders, its
  own audit fields, and the tenant's scope as it is when the operation starts;
- the access policy decides before each operation as it does over HTTP (`AccessPolicy`), and its
  refusal ends a subscription before it starts (`SubscriptionRefusals`), with its audit entry;
- only subscriptions run over the websocket: queries and mutations keep HTTP's limits (body size,
  request time), so they are refused here.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, fields
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from metalgraph.server.auth.errors import AuthenticationError
from metalgraph.server.topology.reader import TopologyReader
from metalgraph.server.topology.scope import EVERYTHING, Scope

from .context import Context, Loaders
from .errors import Code
from .lifecycle_scope import acting_tenant, explainer, visible_cluster
from .lifecycle_types import ClusterEventView
from .types import Ctx


@dataclass
class SocketContext(Context):
    """The context of a websocket connection; Strawberry puts the `connection_init` payload here."""

    connection_params: dict[str, Any] | None = None


def socket_context(context: Context) -> SocketContext:
    return SocketContext(**{f.name: getattr(context, f.name) for f in fields(Context)})


async def _scope(context: Context) -> Scope:
    principal = context.principal
    if principal is None or principal.tenant is None:
        return EVERYTHING
    scope: Scope = await context.services.scopes.scope(principal.tenant)
    return scope


async def authenticate_connection(context: SocketContext) -> None:
    """Take the credentials of the `connection_init` payload, when it has any. Bad ones are not refused
    here: every operation of the connection is then refused (and audited) as UNAUTHENTICATED."""
    params = context.connection_params or {}
    header = next((v for k, v in params.items() if isinstance(k, str) and k.lower() == "authorization"), None)
    if header is None:
        return
    context.principal, context.auth_error = None, None
    if not isinstance(header, str):
        context.auth_error = "the Authorization of connection_init must be a string"
    else:
        try:
            context.principal = await context.services.authenticator.principal(header, context.client or None)
        except AuthenticationError as e:
            context.auth_error = str(e)
    context.reader = TopologyReader(context.reader.store, await _scope(context))
    context.loaders = Loaders(context.reader)


async def _fork(context: SocketContext) -> Context:
    reader = TopologyReader(context.reader.store, await _scope(context))
    fork = socket_context(context)
    fork.reader, fork.loaders = reader, Loaders(reader)
    fork.audit_operation, fork.audit_arguments = "", {}
    return fork


def _refusal(code: Code, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value})


class OperationContext(SchemaExtension):
    """Gives each operation of a websocket connection its own context (first of the extensions)."""

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        context = self.execution_context.context
        if isinstance(context, SocketContext):
            self.execution_context.context = await _fork(context)
        yield


class SubscriptionRefusals(SchemaExtension):
    """Makes the access policy's refusal end a subscription (after `AccessPolicy`): Strawberry runs a
    subscription whatever result `on_execute` set, so the refusal is raised instead, and streamed."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        refused = ctx.result.errors if ctx.result is not None and ctx.result.errors else None
        if refused:
            if ctx.operation_type is OperationType.SUBSCRIPTION:
                raise refused[0]
        elif isinstance(ctx.context, SocketContext) and ctx.operation_type is not OperationType.SUBSCRIPTION:
            raise _refusal(
                Code.INVALID_INPUT, "only subscriptions run over the websocket; send queries and mutations over HTTP"
            )
        yield


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The events of a cluster after `after` (a `seq`), as they happen; the stream ends once the "
        "cluster rests (ready, failed or released) and every event up to then was sent. `tenant` is needed by "
        "providers; tenants follow their own clusters only."
    )
    async def cluster_events(
        self, info: Ctx, cluster: str, tenant: str | None = None, after: int = 0
    ) -> AsyncGenerator[ClusterEventView, None]:
        owner = acting_tenant(info, tenant)
        await visible_cluster(info, owner, cluster)
        explain = await explainer(info, keep_own=True)
        async for event in info.context.services.lifecycle.watch(owner, cluster, after):
            yield ClusterEventView.of(event, explain(event.message))
