"""The Starlette application: GraphQL (with GraphiQL) at /graphql, over HTTP and, for subscriptions,
over websockets (graphql-transport-ws); /healthz and /metrics."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from metalgraph.schema.context import Context, new_context
from metalgraph.schema.http_request import BadRequest, from_http
from metalgraph.schema.schema import build_schema
from metalgraph.schema.subscription import CredentialWatch, SocketContext, authenticate_connection, socket_context

from .audit import AuditEvent, AuditLog, Outcome, register_secret
from .auth.authenticator import Authenticator, is_loopback
from .auth.errors import AuthenticationError
from .auth.oidc import OidcVerifier
from .auth.principal import Principal
from .labels import KEYED_LABELS
from .lifecycle.service import Lifecycle
from .lifecycle.setup import build_lifecycle
from .metrics import Metrics
from .rate_limit import RateLimiter
from .settings import Settings
from .store import GraphStore, StoreError, count_round_trips, open_store
from .tenancy.visibility import ScopeCache
from .topology.scope import EVERYTHING

log = logging.getLogger("metalgraph.server")

Seeder = Callable[[GraphStore], Awaitable[None]]


@dataclass
class Services:
    """What lives as long as the app: the audit log, the rate limiter, the authenticator."""

    audit: AuditLog
    rate_limiter: RateLimiter
    authenticator: Authenticator
    scopes: ScopeCache
    lifecycle: Lifecycle


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = CredentialWatch

    def __init__(self, store: GraphStore, settings: Settings, services: Services) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.store = store
        self.settings = settings
        self.services = services

    async def get_context(self, request: Any, response: Any) -> Context:
        client = request.client.host if request.client else None
        principal, auth_error = None, None
        try:
            principal = await self.services.authenticator.principal(request.headers.get("authorization"), client)
        except AuthenticationError as e:
            auth_error = str(e)
        request.state.principal = principal  # for RequestLimits, which audits a timeout under it
        scope = EVERYTHING
        if principal is not None and principal.tenant is not None:
            scope = await self.services.scopes.scope(principal.tenant)
        context = new_context(
            self.store,
            principal,
            scope,
            self.settings,
            self.services,
            auth_error=auth_error,
            client=client or "",
            request=request,
            response=response,
        )
        return socket_context(context) if request.scope["type"] == "websocket" else context

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        body = b"" if request.method == "GET" else await request.get_body()
        operation = from_http(
            request.method, request.content_type or "", request.query_params, body, self.settings.max_variable_values
        )
        transport = self._get_stream_transport_from_headers(request.headers)
        return GraphQLRequestData(
            query=operation.query,
            variables=operation.variables,
            operation_name=operation.operation_name,
            extensions=operation.extensions,
            protocol=transport.protocol if transport else "http",
        )

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Every request that is not a GraphQL request gets a typed error (never plain text or a 500)."""
        try:
            return await super().run(request, context, root_value)
        except BadRequest as e:
            return _graphql_error(400, "BAD_REQUEST", str(e))
        except HTTPException as e:
            return _graphql_error(e.status_code, "BAD_REQUEST", e.reason)

    def should_render_graphql_ide(self, request: Any) -> bool:
        return self.graphql_ide is not None and super().should_render_graphql_ide(request)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Credentials may also come in the `connection_init` payload (browsers cannot set headers)."""
        if isinstance(context, SocketContext):
            await authenticate_connection(context)
        return UNSET


def _graphql_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


class RequestLimits:
    """Refuses oversized bodies and bounds each GraphQL request's time; counts and times requests."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics, audit: AuditLog) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.audit = audit

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
        client = scope.get("client")
        principal = scope.get("state", {}).get("principal")  # set once the request authenticated (get_context)
        address = client[0] if client else None
        await _audit_refusal(self.audit, principal, address, "http", Outcome.LIMITED, code, message)
        await _graphql_error(status, code, message)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_request_bytes
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            self.metrics.requests.labels("refused").inc()
            await self._refuse(scope, receive, send, 413, "BODY_TOO_LARGE", f"request body larger than {limit} bytes")
            return
        received = 0

        async def bounded_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
            return message

        started = time.perf_counter()
        outcome = "ok"
        try:
            with count_round_trips() as trips:
                async with asyncio.timeout(self.settings.request_timeout_s):
                    await self.app(scope, bounded_receive, send)
        except _BodyTooLarge:
            outcome = "refused"
            await self._refuse(scope, receive, send, 413, "BODY_TOO_LARGE", f"request body larger than {limit} bytes")
        except TimeoutError:
            outcome = "timeout"
            message = f"request took longer than {self.settings.request_timeout_s:g} s"
            await self._refuse(scope, receive, send, 503, "TIMEOUT", message)
        finally:
            self.metrics.requests.labels(outcome).inc()
            self.metrics.latency.observe(time.perf_counter() - started)
            self.metrics.round_trips.observe(trips.count)


async def _audit_refusal(
    audit: AuditLog,
    principal: Principal | None,
    client: str | None,
    operation: str,
    outcome: Outcome,
    code: str,
    detail: str,
) -> None:
    event = AuditEvent(
        actor=principal.subject if principal else f"anonymous@{client or 'unknown'}",
        role=principal.role.value if principal else "",
        tenant=principal.tenant if principal else None,
        operation=operation,
        variables={},
        outcome=outcome,
        detail=f"{code}: {detail}",
    )
    try:
        await audit.refused(event, code)
    except StoreError:
        log.warning("could not audit a refused %s request: %s", operation, detail)


class _BodyTooLarge(Exception):
    pass


def create_app(settings: Settings, store: GraphStore | None = None, seed: Seeder | None = None) -> Starlette:
    """The application; it opens (and at shutdown closes) the store the settings name unless one is given."""
    owned = store is None
    the_store = store if store is not None else open_store(settings, KEYED_LABELS)
    metrics = Metrics(the_store)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owned:
            await the_store.start()
        try:
            if seed is not None:
                await seed(the_store)
            if settings.run_jobs:
                await services.lifecycle.start()
            yield
        finally:
            await services.lifecycle.close()
            await services.audit.close()  # the refusals counted but not yet written
            if owned:
                await the_store.close()

    async def healthz(request: Request) -> Response:
        try:
            await the_store.ping()
        except StoreError as e:
            return JSONResponse({"status": "unavailable", "store": the_store.kind, "reason": str(e)}, status_code=503)
        return JSONResponse({"status": "ok", "store": the_store.kind})

    async def metrics_endpoint(request: Request) -> Response:
        client = request.client.host if request.client else None
        if not (settings.metrics_loopback and is_loopback(client)):
            refusal = await _metrics_refusal(services, request.headers.get("authorization"), client)
            if refusal is not None:
                return refusal
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if settings.admin_token is not None:
        register_secret(settings.admin_token.get_secret_value())  # any string: redacted by its exact value
    audit = AuditLog(
        the_store,
        refusal_window_s=settings.audit_refusal_window_s,
        anonymous_refusals_per_window=settings.audit_anonymous_refusals_per_window,
    )
    services = Services(
        audit=audit,
        rate_limiter=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
        authenticator=Authenticator(the_store, settings.admin_token, _oidc_verifier(settings), settings.loopback_reads),
        scopes=ScopeCache(the_store),
        lifecycle=build_lifecycle(settings, the_store, audit),
    )
    graphql = RequestLimits(GraphQLView(the_store, settings, services), settings, metrics, services.audit)
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.store = the_store
    app.state.metrics = metrics
    app.state.services = services
    return app


METRICS_NEED_A_PROVIDER = "/metrics needs a provider token (Authorization: Bearer <token>)"
"""The one answer to any credentials that do not open /metrics: it tells no token's state (unknown, revoked,
expired, a tenant's) apart; the audit entry says which it was."""


async def _metrics_refusal(services: Services, authorization: str | None, client: str | None) -> Response | None:
    """Why a request for /metrics is refused (rate limited, or not a provider's), audited; None if it is not."""
    principal, reason = None, "no credentials"
    try:
        principal = await services.authenticator.principal(authorization, client)
    except AuthenticationError as e:
        reason = f"authentication failed: {e}"
    key = principal.subject if principal is not None else f"client:{client}"  # as GraphQL requests are limited
    wait = services.rate_limiter.take(key)
    if wait is not None:
        message = f"too many requests; retry in {wait:.1f} s"
        await _audit_refusal(services.audit, principal, client, "metrics", Outcome.LIMITED, "RATE_LIMITED", message)
        response = _graphql_error(429, "RATE_LIMITED", message)
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    if principal is not None and principal.tenant is None:
        return None
    if principal is not None:
        reason = f"a token of tenant {principal.tenant!r}"
    await _audit_refusal(services.audit, principal, client, "metrics", Outcome.DENIED, "UNAUTHENTICATED", reason)
    return _graphql_error(401, "UNAUTHENTICATED", METRICS_NEED_A_PROVIDER)


def _oidc_verifier(settings: Settings) -> OidcVerifier | None:
    return OidcVerifier(settings.oidc) if settings.oidc is not None else None
