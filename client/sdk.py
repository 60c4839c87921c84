"""The Python SDK: run GraphQL documents against a metalgraph server.

    client = MetalgraphClient("http://127.0.0.1:8080/graphql", token="...")
    data = client.execute_sync("query($n: String!) { node(name: $n) { name state } }", {"n": "n1"})

    async with MetalgraphClient() as client:      # one HTTP session for many requests
        data = await client.execute("{ nodes(first: 5) { totalCount } }")

Without arguments the URL and token are those the CLI uses: `METALGRAPH_URL`/`METALGRAPH_TOKEN`,
else the config file `metalgraph login` wrote (see `metalgraph.client.config`), else
`DEFAULT_URL` and no token. `token=""` means "send no token".

Subscriptions run over a websocket (`graphql-transport-ws`) to the same endpoint (`ws://` for
`http://`, `wss://` for `https://`); the token goes both as the `Authorization` header of the
upgrade request and in the `connection_init` payload:

    async with contextlib.aclosing(client.subscribe(document, variables)) as results:
        async for data in results:
            ...

Every failure is one of `metalgraph.client.errors`: `ApiError` (GraphQL errors, with the server's
`extensions.code`), `ConnectionFailed` (server unreachable or too slow), `ProtocolError` (the URL
answers, but not with GraphQL), `SubscriptionUnavailable` (a subscription's websocket could not be
opened; a `ConnectionFailed`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from functools import lru_cache
from types import TracebackType
from typing import Any

from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import (
    TransportClosed,
    TransportConnectionFailed,
    TransportError,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.websockets import WebsocketsTransport
from graphql import DocumentNode, GraphQLError, Source, parse

from . import DEFAULT_URL
from .config import resolve
from .errors import ApiError, ConnectionFailed, ProtocolError, RequestTimeout, SubscriptionUnavailable

__all__ = ["DEFAULT_URL", "MetalgraphClient", "websocket_url"]

GRAPHQL_TRANSPORT_WS = "graphql-transport-ws"


@lru_cache(maxsize=256)
def _parse(document: str) -> DocumentNode:
    try:
        return parse(Source(document, "GraphQL request"))
    except GraphQLError as e:
        error = {**e.formatted, "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}
        raise ApiError("GRAPHQL_PARSE_FAILED", e.message, errors=[error]) from None


class MetalgraphClient:
    """A client of one metalgraph server's GraphQL API.

    Used as `async with`, it keeps one HTTP session open for all requests; otherwise each
    `execute` opens and closes its own. `timeout` bounds each request (seconds). A `url` or `token`
    left as None comes from the environment or the CLI's config file (`config.resolve`); the config
    file's token is only ever sent to the config file's URL. Raises `config.ConfigError` when the
    config file is needed but unreadable.
    """

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30) -> None:
        if url is None or token is None:
            resolved = resolve(url, token)
            url, token = resolved.url, resolved.token
        self.url: str = url
        self.token: str | None = token or None
        self.timeout = timeout
        self._client: Client | None = None
        self._session: AsyncClientSession | None = None

    def __repr__(self) -> str:
        return f"MetalgraphClient(url={self.url!r}, token={'***' if self.token else None}, timeout={self.timeout})"

    def _gql_client(self) -> Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        transport = AIOHTTPTransport(url=self.url, headers=headers, timeout=self.timeout)  # type: ignore[arg-type]
        return Client(transport=transport, execute_timeout=self.timeout)

    async def connect(self) -> None:
        """Open the HTTP session that later `execute` calls share (what `async with` does)."""
        if self._session is None:
            client = self._gql_client()
            session = await client.connect_async()
            assert isinstance(session, AsyncClientSession)
            self._client, self._session = client, session

    async def close(self) -> None:
        client, self._client, self._session = self._client, None, None
        if client is not None:
            await client.close_async()

    async def __aenter__(self) -> MetalgraphClient:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def execute(
        self, document: str, variables: dict[str, Any] | None = None, operation_name: str | None = None
    ) -> dict[str, Any]:
        """Run a query or mutation; return its `data`, or raise ApiError with the server's error code."""
        request = GraphQLRequest(_parse(document), variable_values=variables, operation_name=operation_name)
        if self._session is not None:
            return await self._run(self._session, request)
        async with self._gql_client() as session:
            assert isinstance(session, AsyncClientSession)
            return await self._run(session, request)

    def execute_sync(
        self, document: str, variables: dict[str, Any] | None = None, operation_name: str | None = None
    ) -> dict[str, Any]:
        """`execute` for code without an event loop (scripts, the CLI). Uses a session of its own."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("execute_sync cannot run inside an event loop; await execute() instead")
        one_shot = MetalgraphClient(self.url, self.token or "", self.timeout)
        return asyncio.run(one_shot.execute(document, variables, operation_name))

    async def subscribe(
        self, document: str, variables: dict[str, Any] | None = None, operation_name: str | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Run a subscription over a websocket of its own; yield the `data` of each result until the
        server completes it. Close the iterator (`contextlib.aclosing`) to stop early.

        Raises `SubscriptionUnavailable` when the websocket cannot be opened (nothing was yielded
        then), `ApiError` for GraphQL errors, `ConnectionFailed` when the connection drops midway.
        """
        request = GraphQLRequest(_parse(document), variable_values=variables, operation_name=operation_name)
        url = websocket_url(self.url)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        transport = WebsocketsTransport(
            url=url,
            headers=headers,
            init_payload={"Authorization": f"Bearer {self.token}"} if self.token else {},
            connect_timeout=self.timeout,
            ack_timeout=self.timeout,
            close_timeout=min(self.timeout, 5),
            subprotocols=[GRAPHQL_TRANSPORT_WS],
        )
        client = Client(transport=transport)
        try:
            session = await client.connect_async()
        except TransportError as e:
            raise SubscriptionUnavailable(url, _reason(e)) from None
        except (TimeoutError, OSError) as e:
            raise SubscriptionUnavailable(url, _short(str(e)) or type(e).__name__) from None
        assert isinstance(session, AsyncClientSession)
        try:
            async for result in session.subscribe(request, get_execution_result=True):
                yield dict(result.data or {})
        except TransportQueryError as e:
            raise ApiError.from_errors(e.errors or [{"message": str(e)}], e.data) from None
        except (TransportConnectionFailed, TransportClosed, TransportServerError) as e:
            raise ConnectionFailed(url, _reason(e) or "the websocket closed") from None
        except TransportProtocolError as e:
            raise ProtocolError(f"{url} did not follow {GRAPHQL_TRANSPORT_WS}: {_short(str(e))}") from None
        finally:
            with contextlib.suppress(TransportError, OSError, TimeoutError):  # the connection may be gone already
                await client.close_async()

    async def _run(self, session: AsyncClientSession, request: GraphQLRequest) -> dict[str, Any]:
        try:
            result = await session.execute(request, get_execution_result=True)
        except TransportQueryError as e:
            raise ApiError.from_errors(e.errors or [{"message": str(e)}], e.data) from None
        except TransportServerError as e:
            raise ProtocolError(f"{self.url} answered HTTP {e.code}, not a GraphQL response", e.code) from None
        except TransportProtocolError as e:
            raise ProtocolError(f"{self.url} did not answer with GraphQL: {_short(str(e))}") from None
        except TransportConnectionFailed as e:
            raise ConnectionFailed(self.url, _reason(e)) from None
        except TimeoutError:
            raise RequestTimeout(self.url, self.timeout) from None
        return dict(result.data or {})


def websocket_url(url: str) -> str:
    """The websocket URL of a GraphQL endpoint: `ws://` for `http://`, `wss://` for `https://`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    return {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme) + "://" + rest


def _reason(error: BaseException) -> str:
    cause = error.__cause__
    text = str(cause) if cause is not None and str(cause) else str(error)
    return _short(text) or type(cause or error).__name__


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
