"""The Starlette application: GraphQL (with GraphiQL) at /graphql, /healthz and /metrics."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from metalgraph.schema.context import Caller, Context, new_context
from metalgraph.schema.schema import build_schema

from .inventory.records import VERTEX_LABELS
from .metrics import Metrics
from .settings import Settings
from .store import GraphStore, StoreError, count_round_trips, open_store

log = logging.getLogger("metalgraph.server")

Seeder = Callable[[GraphStore], Awaitable[None]]


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, store: GraphStore, settings: Settings, metrics: Metrics) -> None:
        super().__init__(build_schema(settings.max_query_depth), graphql_ide="graphiql")
        self.store = store
        self.settings = settings
        self.metrics = metrics

    def _caller(self, request: Any) -> Caller:
        expected = self.settings.admin_token.get_secret_value() if self.settings.admin_token else None
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        is_admin = bool(expected) and hmac.compare_digest(token.encode(), expected.encode())  # type: ignore[union-attr]
        client = request.client.host if request.client else None
        return Caller(is_admin=is_admin, from_loopback=_is_loopback(client))

    async def get_context(self, request: Any, response: Any) -> Context:
        return new_context(self.store, self._caller(request), self.settings, request, response)


def _graphql_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


class RequestLimits:
    """Refuses oversized bodies and bounds each GraphQL request's time; counts and times requests."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_request_bytes
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            self.metrics.requests.labels("refused").inc()
            await _graphql_error(413, "LIMIT_EXCEEDED", f"request body larger than {limit} bytes")(scope, receive, send)
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
            await _graphql_error(413, "LIMIT_EXCEEDED", f"request body larger than {limit} bytes")(scope, receive, send)
        except TimeoutError:
            outcome = "timeout"
            message = f"request took longer than {self.settings.request_timeout_s:g} s"
            await _graphql_error(503, "TIMEOUT", message)(scope, receive, send)
        finally:
            self.metrics.requests.labels(outcome).inc()
            self.metrics.latency.observe(time.perf_counter() - started)
            self.metrics.round_trips.observe(trips.count)


class _BodyTooLarge(Exception):
    pass


def create_app(settings: Settings, store: GraphStore | None = None, seed: Seeder | None = None) -> Starlette:
    """The application; it opens (and at shutdown closes) the store the settings name unless one is given."""
    owned = store is None
    the_store = store if store is not None else open_store(settings, VERTEX_LABELS)
    metrics = Metrics(the_store)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owned:
            await the_store.start()
        try:
            if seed is not None:
                await seed(the_store)
            yield
        finally:
            if owned:
                await the_store.close()

    async def healthz(request: Request) -> Response:
        try:
            await the_store.ping()
        except StoreError as e:
            return JSONResponse({"status": "unavailable", "store": the_store.kind, "reason": str(e)}, status_code=503)
        return JSONResponse({"status": "ok", "store": the_store.kind})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    graphql = RequestLimits(GraphQLView(the_store, settings, metrics), settings, metrics)
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.store = the_store
    app.state.metrics = metrics
    return app
