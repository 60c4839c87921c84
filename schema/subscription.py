"""Subscriptions, over websockets (graphql-transport-ws at /graphql): a cluster's events as they happen.

One context serves a whole websocket connection, so:
- credentials come from the upgrade request's `Authorization` header, or from the `connection_init`
  payload (`{"Authorization": "Bearer ..."}`; browsers cannot set headers on a websocket), which wins
  when given (`authenticate_connection`, called by the view when the connection is initialised);
- each operation runs with its own copy of the context (`OperationContext`): its own DataLoaders, its
  own audit fields, the tenant's scope as it is when the operation starts, and the connection's
  credentials checked again (a token revoked since the connection opened starts nothing);
- while the connection is open its credentials are checked every `credential_recheck_s` and at their
  expiry (`CredentialWatch`); once they fail, every running subscription ends with UNAUTHENTICATED
  and the connection closes with code 4401;
- the access policy decides before each operation as it does over HTTP (`AccessPolicy`), and its
  refusal ends a subscription before it starts (`SubscriptionRefusals`), with its audit entry;
- only subscriptions run over the websocket: queries and mutations keep HTTP's limits (body size,
  request time), so they are refused here; and subscriptions are refused over HTTP;
- each message is checked as HTTP checks a request (`schema.http_request`): one that is not a JSON
  object, or is nested too deeply, closes the connection with 4400; a `subscribe` whose payload is not
  a GraphQL request is answered with a BAD_REQUEST `error`; of `connection_init`'s payload only its
  `Authorization` is kept, and a payload over `MAX_INIT_PAYLOAD_CHARS` closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import aclosing

from metalgraph.server.auth.errors import AuthenticationError
from metalgraph.server.auth.jwks import JwksUnavailable
from metalgraph.server.topology.reader import TopologyReader
from metalgraph.server.topology.scope import EVERYTHING, Scope

from .context import Context, Loaders
from .errors import Code
from .http_request import BadRequest, operation_request, payload_kind
from .lifecycle_scope import acting_tenant, cluster_explainer, refresh_scope, visible_cluster
from .lifecycle_types import ClusterEventView
from .types import Ctx

log = logging.getLogger("metalgraph.server")

CREDENTIALS_LAPSED = 4401
"""The close code of a connection whose credentials were revoked or expired (graphql-transport-ws's
"Unauthorized")."""

INVALID_MESSAGE = 4400
"""The close code of a connection that sent a message graphql-transport-ws does not have ("Bad Request")."""

MAX_INIT_PAYLOAD_CHARS = 16 * 1024
"""The longest `connection_init` payload (as JSON) a connection may send: it only carries credentials."""


@dataclass
class SocketContext(Context):
    """The context of a websocket connection; Strawberry puts the `connection_init` payload here."""

    connection_params: dict[str, Any] | None = None
    authorization: str | None = None
    """The credentials the connection presented (the upgrade request's header, or connection_init's)."""
    expires_at: datetime | None = None
    """When they expire by themselves; None: never (they may still be revoked)."""


def socket_context(context: Context) -> SocketContext:
    socket = SocketContext(**{f.name: getattr(context, f.name) for f in fields(Context)})
    headers = getattr(context.request, "headers", None)
    socket.authorization = headers.get("authorization") if headers is not None else None
    return socket


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
        if context.auth_error is not None:
            return
        header = context.authorization  # checked again for its expiry (and in case it was revoked since)
    context.principal, context.auth_error, context.expires_at = None, None, None
    if not isinstance(header, str | None):
        context.auth_error = "the Authorization of connection_init must be a string"
    else:
        context.authorization = header
        try:
            identity = await context.services.authenticator.identify(header, context.client or None)
            context.principal, context.expires_at = identity.principal, identity.expires_at
        except AuthenticationError as e:
            context.auth_error = str(e)
    context.reader = TopologyReader(context.reader.store, await _scope(context))
    context.loaders = Loaders(context.reader)


async def lapsed(context: SocketContext) -> str | None:
    """Why the connection's credentials no longer hold (expired, revoked, deleted); None while they do.
    A connection that never had valid credentials has nothing to lapse (its operations are refused)."""
    if context.principal is None or context.auth_error is not None:
        return None
    if context.expires_at is not None and context.expires_at <= datetime.now(UTC):
        return "credentials expired"
    try:
        await context.services.authenticator.identify(context.authorization, context.client or None)
    except JwksUnavailable:
        return None  # the identity provider's keys cannot be fetched: no news about the token
    except AuthenticationError as e:
        return str(e)
    return None


async def _fork(context: SocketContext) -> Context:
    fork = socket_context(context)
    fork.authorization, fork.expires_at = context.authorization, context.expires_at
    reason = await lapsed(context)
    if reason is not None:
        fork.principal, fork.auth_error = None, reason
    reader = TopologyReader(context.reader.store, await _scope(fork))
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
    subscription whatever result `on_execute` set, so the refusal is raised instead, and streamed.
    Refuses queries and mutations over the websocket, and subscriptions over HTTP."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        refused = ctx.result.errors if ctx.result is not None and ctx.result.errors else None
        over_socket = isinstance(ctx.context, SocketContext)
        if refused:
            if ctx.operation_type is OperationType.SUBSCRIPTION:
                raise refused[0]
        elif over_socket and ctx.operation_type is not OperationType.SUBSCRIPTION:
            raise _refusal(
                Code.INVALID_INPUT, "only subscriptions run over the websocket; send queries and mutations over HTTP"
            )
        elif not over_socket and ctx.operation_type is OperationType.SUBSCRIPTION:
            raise _refusal(Code.INVALID_INPUT, "subscriptions run over the websocket at /graphql")
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """An `operationName` the document does not have is the request's fault, as over HTTP (BAD_REQUEST)."""
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [
                _refusal(Code.BAD_REQUEST, str(e.original_error.as_http_error_reason()))
                if isinstance(e.original_error, CannotGetOperationTypeError)
                else e
                for e in errors
            ]
        yield


class CredentialWatch(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the connection's credentials checked while it is open: every
    `credential_recheck_s` and at their expiry. Once they fail, each running operation ends with an
    UNAUTHENTICATED error and the connection closes with `CREDENTIALS_LAPSED`."""

    _watch: asyncio.Task[None] | None = None

    async def handle(self) -> None:
        try:
            await super().handle()
        except RecursionError:  # raised by the JSON decoder, and the connection is shut down already
            with contextlib.suppress(Exception):
                await self.websocket.close(code=INVALID_MESSAGE, reason="WebSocket message is nested too deeply")

    async def handle_message(self, message: Message) -> None:
        if not isinstance(message, dict):
            await self.handle_invalid_message(f"WebSocket message must be a JSON object, not {payload_kind(message)}")
        elif message.get("type") in ("subscribe", "complete") and not isinstance(message.get("id"), str):
            await self.handle_invalid_message(f"the `id` of {message['type']} must be a string")
        else:
            await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload")
        if payload is None:
            message = {"type": "connection_init", "payload": {}}
        elif isinstance(payload, dict):
            if _json_length(payload) > MAX_INIT_PAYLOAD_CHARS:
                reason = f"the connection_init payload is larger than {MAX_INIT_PAYLOAD_CHARS} characters"
                await self.websocket.close(code=INVALID_MESSAGE, reason=reason)
                return
            # Only the credentials: the payload stays in the context as long as the connection.
            kept = {k: v for k, v in payload.items() if k.lower() == "authorization"}
            message = {"type": "connection_init", "payload": kept}
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._watch is None and isinstance(self.context, SocketContext):
            self._watch = asyncio.create_task(self._watch_credentials(self.context), name="websocket credentials")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """A subscribe's payload is checked as an HTTP request is; a bad one is answered with BAD_REQUEST."""
        if not self.connection_acknowledged or message["id"] in self.operations:
            await super().handle_subscribe(message)  # closes the connection, as the protocol says
            return
        payload: Any = message.get("payload")
        try:
            if not isinstance(payload, dict):
                kind = payload_kind(payload)
                raise BadRequest(f"the payload of subscribe must be a JSON object with a `query`, not {kind}")
            operation = operation_request(payload, int(self.context.settings.max_variable_values))
        except BadRequest as e:
            error = _refusal(Code.BAD_REQUEST, str(e))
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        checked: Any = {"query": operation.query, "variables": operation.variables}
        if operation.operation_name is not None:
            checked["operationName"] = operation.operation_name
        await super().handle_subscribe({"id": message["id"], "type": "subscribe", "payload": checked})

    async def _send_result_stream(self, operation: Operation[Context, None], result_source: Any) -> None:
        async with aclosing(_ended_before_refusal(result_source)) as results:
            await super()._send_result_stream(operation, results)

    async def shutdown(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await super().shutdown()

    async def _watch_credentials(self, context: SocketContext) -> None:
        interval = float(context.settings.credential_recheck_s)
        while context.principal is not None and context.auth_error is None:
            delay = interval
            if context.expires_at is not None:
                delay = min(delay, max(0.0, (context.expires_at - datetime.now(UTC)).total_seconds()))
            await asyncio.sleep(delay)
            try:
                reason = await lapsed(context)
            except Exception:  # the store did not answer: try again at the next check
                log.warning("could not check the credentials of a websocket", exc_info=True)
                continue
            if reason is not None:
                await self._end(reason)
                return

    async def _end(self, reason: str) -> None:
        """End every running operation with UNAUTHENTICATED, then close the connection."""
        ids = list(self.operations)
        tasks = [self.operations[i].task for i in ids if self.operations[i].task is not None]
        for operation_id in ids:
            await self.cleanup_operation(operation_id)
        for task in tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task  # type: ignore[misc]
        error = _refusal(Code.UNAUTHENTICATED, f"authentication failed: {reason}")
        with contextlib.suppress(Exception):  # the client may be gone already
            for operation_id in ids:
                await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})
            await self.websocket.close(code=CREDENTIALS_LAPSED, reason=f"authentication failed: {reason}"[:120])


async def _ended_before_refusal(results: AsyncIterator[Any]) -> AsyncGenerator[Any, None]:
    """`results`, but an error before execution (a limit, validation, the rate limit) only once the
    operation has ended: Strawberry stops reading there, and the operation's end audits its refusal
    (AuditTrail), which must be written before the caller hears of it."""
    async for result in results:
        if isinstance(result, PreExecutionError):
            async for _ in results:
                pass
        yield result


def _json_length(payload: dict[str, Any]) -> int:
    try:
        return len(json.dumps(payload))
    except (RecursionError, ValueError, TypeError):
        return MAX_INIT_PAYLOAD_CHARS + 1


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
        async for event in info.context.services.lifecycle.watch(owner, cluster, after):
            # Read with the tenant's scope as it is now: the cluster may have got its nodes and VLAN since.
            await refresh_scope(info)
            explain = await cluster_explainer(info, owner, cluster)
            yield ClusterEventView.of(event, explain(event.message))
