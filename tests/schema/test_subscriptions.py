"""Subscriptions over a real websocket (uvicorn on 127.0.0.1, the `websockets` client, graphql-transport-ws):
a cluster's events until it rests, credentials from the upgrade request or from `connection_init`, another
tenant's cluster exactly like a missing one, and the access policy (credentials, rate limit, audit)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.schema.access import NOT_PARSED
from metalgraph.server.app import create_app
from metalgraph.server.audit import AuditLog
from metalgraph.server.inventory import service
from metalgraph.server.lifecycle import runner
from metalgraph.server.store.base import GraphStore

sys.path.append(str(Path(__file__).parent))  # the helpers next to this file

from lifecycle_fabric import SimFabric, sim_fabric

SETTINGS: dict[str, Any] = {"job_poll_s": 0.05, "sanitize_poll_s": 0.05, "loopback_reads": False}
EVENTS = """subscription($c: String!, $t: String, $after: Int) {
  clusterEvents(cluster: $c, tenant: $t, after: $after) { seq kind state message done total } }"""


@dataclass
class Server:
    url: str
    http: httpx.AsyncClient
    fabric: SimFabric
    tokens: dict[str, str]
    audit: AuditLog

    def token(self, who: str) -> str:
        return ADMIN_TOKEN if who == "admin" else self.tokens[who]

    async def ok(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token(who)}"}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def token_for(self, role: str, tenant: str, expires: str | None = None) -> str:
        query = (
            "mutation($r: Role!, $t: String, $e: String) { createApiToken(role: $r, tenant: $t, expiresIn: $e) "
            "{ token } }"
        )
        return str((await self.ok("admin", query, r=role, t=tenant, e=expires))["createApiToken"]["token"])

    async def revoke(self, token: str) -> None:
        await self.ok("admin", "mutation($id: ID!) { revokeApiToken(id: $id) { id } }", id=token.split("_")[1])

    async def subscribe(
        self,
        query: str,
        variables: dict[str, Any],
        *,
        header: str | None = None,
        init: dict[str, Any] | None = None,
        timeout_s: float = 60.0,
    ) -> list[dict[str, Any]]:
        """Every message of one operation, up to and including its `complete` (or `error`)."""
        headers = {"Authorization": header} if header else {}
        async with (
            asyncio.timeout(timeout_s),
            connect(self.url, subprotocols=["graphql-transport-ws"], additional_headers=headers) as ws,  # type: ignore[list-item]
        ):
            await ws.send(json.dumps({"type": "connection_init", "payload": init or {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            payload = {"query": query, "variables": variables}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            messages = []
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                    continue
                messages.append(message)
                if message["type"] in ("complete", "error"):
                    return messages


def codes(messages: list[dict[str, Any]]) -> list[str]:
    found = []
    for m in messages:
        errors = m["payload"] if m["type"] == "error" else (m.get("payload") or {}).get("errors") or []
        found += [e["extensions"]["code"] for e in errors]
    return found


@pytest.fixture
async def server(store: GraphStore, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    overrides = getattr(request, "param", {})
    fabric = sim_fabric()
    app = create_app(make_settings(tmp_path, **{**SETTINGS, **overrides}), store=store)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws="websockets")
    runner = uvicorn.Server(config)
    task = asyncio.create_task(runner.serve())
    try:
        async with asyncio.timeout(30):
            while not runner.started:
                await asyncio.sleep(0.02)
        port = runner.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            await service.import_inventory(store, fabric.inventory())
            found = Server(f"ws://127.0.0.1:{port}/graphql", http, fabric, {}, app.state.services.audit)
            for tenant in ("ws-a", "ws-b"):
                await found.ok("admin", "mutation($n: String!) { createTenant(name: $n) { name } }", n=tenant)
            for who, role, tenant in (
                ("a_admin", "TENANT_ADMIN", "ws-a"),
                ("a_member", "TENANT_MEMBER", "ws-a"),
                ("b_admin", "TENANT_ADMIN", "ws-b"),
            ):
                data = await found.ok(
                    "admin",
                    "mutation($r: Role!, $t: String) { createApiToken(role: $r, tenant: $t) { token } }",
                    r=role,
                    t=tenant,
                )
                found.tokens[who] = data["createApiToken"]["token"]
            yield found
    finally:
        runner.should_exit = True
        await asyncio.wait_for(task, 30)
        fabric.forget()


CREATE = 'mutation { createCluster(name: "train", spec: {nodes: 2}) { state } }'


async def test_a_tenant_follows_its_cluster_to_ready_over_a_websocket(server: Server) -> None:
    await server.ok("a_admin", CREATE)
    # Credentials in the upgrade request's header; then, as browsers must, in the connection_init payload.
    member, admin = f"Bearer {server.token('a_member')}", f"Bearer {server.token('a_admin')}"
    by_header = await server.subscribe(EVENTS, {"c": "train"}, header=member)
    by_payload = await server.subscribe(EVENTS, {"c": "train"}, init={"Authorization": admin})
    for messages in (by_header, by_payload):
        assert messages[-1]["type"] == "complete", messages
        events = [m["payload"]["data"]["clusterEvents"] for m in messages[:-1]]
        assert all(m["type"] == "next" and "errors" not in m["payload"] for m in messages[:-1]), messages
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["kind"] == "requested" and events[-1]["state"] == "READY"
    assert by_header == by_payload  # the stream is the log: both saw every event, in order
    # From a given event on; and a provider following it by naming the tenant.
    later = await server.subscribe(EVENTS, {"c": "train", "after": 2}, header=f"Bearer {ADMIN_TOKEN}")
    assert codes(later) == ["INVALID_INPUT"], "a provider names the tenant"
    later = await server.subscribe(EVENTS, {"c": "train", "t": "ws-a", "after": 2}, header=f"Bearer {ADMIN_TOKEN}")
    assert later[0]["payload"]["data"]["clusterEvents"]["seq"] == 3
    # A release is followed to its end too.
    await server.ok("a_admin", 'mutation { releaseCluster(name: "train") { state } }')
    seen = len(by_header) - 1
    released = await server.subscribe(EVENTS, {"c": "train", "after": seen}, header=member)
    assert released[-2]["payload"]["data"]["clusterEvents"]["state"] == "RELEASED"


async def test_another_tenant_s_cluster_is_exactly_a_missing_one(server: Server) -> None:
    await server.ok("a_admin", CREATE)
    b = f"Bearer {server.token('b_admin')}"
    answers = {}
    for name, tenant in (("train", None), ("never-was", None), ("train", "ws-a"), ("train", "no-such-tenant")):
        messages = await server.subscribe(EVENTS, {"c": name, "t": tenant}, header=b)
        text = json.dumps(messages)
        answers[(name, tenant)] = text.replace(name, "<name>").replace(str(tenant), "<tenant>")
        assert codes(messages) == ["NOT_FOUND"], messages
    assert answers[("train", None)] == answers[("never-was", None)]
    assert answers[("train", "ws-a")] == answers[("train", "no-such-tenant")]


async def test_bad_credentials_are_refused_and_audited(server: Server) -> None:
    before = (await server.ok("admin", "{ auditLog(first: 0) { totalCount } }"))["auditLog"]["totalCount"]
    for header, init in (
        (None, None),
        ("Bearer garbage", None),
        (None, {"Authorization": "Bearer garbage"}),
        (f"Bearer {server.token('a_admin')}", {"Authorization": "Bearer garbage"}),  # the payload's wins
        (None, {"Authorization": 42}),
    ):
        messages = await server.subscribe(EVENTS, {"c": "train"}, header=header, init=init)
        assert codes(messages) == ["UNAUTHENTICATED"], (header, init, messages)
    # One caller repeating one refusal: the first is written at once, the other four are counted.
    query = "{ auditLog(first: 5) { totalCount edges { node { operation outcome detail variables } } } }"
    entries = (await server.ok("admin", query))["auditLog"]
    assert entries["totalCount"] == before + 1
    first = entries["edges"][0]["node"]
    assert (first["operation"], first["outcome"]) == ("clusterEvents", "DENIED")
    assert first["detail"].startswith("UNAUTHENTICATED")
    await server.audit.refusals.flush(everything=True)
    entries = (await server.ok("admin", query))["auditLog"]
    assert entries["totalCount"] == before + 2
    count = entries["edges"][0]["node"]
    assert (count["operation"], count["outcome"]) == ("refusals", "DENIED")
    assert count["variables"]["refusals"] == 4


async def test_queries_and_mutations_stay_on_http(server: Server) -> None:
    messages = await server.subscribe("{ viewer { role } }", {}, header=f"Bearer {server.token('a_admin')}")
    assert codes(messages) == ["INVALID_INPUT"]
    messages = await server.subscribe(CREATE, {}, header=f"Bearer {server.token('a_admin')}")
    assert codes(messages) == ["INVALID_INPUT"]
    clusters = await server.ok("a_admin", "{ clusters { totalCount } }")
    assert clusters["clusters"]["totalCount"] == 0


@pytest.mark.parametrize("server", [{"rate_limit_per_s": 0.001, "rate_limit_burst": 8}], indirect=True)
async def test_subscriptions_spend_the_caller_s_rate_limit(server: Server) -> None:
    """Each subscription is a request of its caller (the setup's requests were the admin's)."""
    header = f"Bearer {server.token('a_member')}"
    got = [codes(await server.subscribe(EVENTS, {"c": "nope"}, header=header)) for _ in range(9)]
    assert got == [["NOT_FOUND"]] * 8 + [["RATE_LIMITED"]]
    entries = await server.ok("admin", "{ auditLog(first: 1) { edges { node { operation outcome } } } }")
    # Refused before its document is parsed (and written at once: the first refusal of its caller).
    assert entries["auditLog"]["edges"][0]["node"] == {"operation": NOT_PARSED, "outcome": "LIMITED"}


async def _open(server: Server, token: str) -> ClientConnection:
    ws = await connect(
        server.url, subprotocols=["graphql-transport-ws"], additional_headers={"Authorization": f"Bearer {token}"}  # type: ignore[list-item]
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    return ws


async def _start(ws: ClientConnection, operation_id: str) -> None:
    payload = {"query": EVENTS, "variables": {"c": "stuck"}}
    await ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))


async def _until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None, str]:
    """Every message until the server closes the connection; and its close code and reason."""
    messages = []
    try:
        while True:
            message = json.loads(await ws.recv())
            if message["type"] != "ping":
                messages.append(message)
    except ConnectionClosed as closed:
        received = closed.rcvd
        return messages, received.code if received else None, received.reason if received else ""


@pytest.fixture
def stuck_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cluster jobs hang in their network step: a cluster's event stream stays open."""

    async def hang(*args: Any, **kwargs: Any) -> Any:
        await asyncio.Event().wait()

    monkeypatch.setattr(runner, "converge", hang)


@pytest.mark.parametrize("server", [{"credential_recheck_s": 0.2}], indirect=True)
async def test_a_revoked_token_s_running_subscription_ends_and_its_connection_closes(
    server: Server, stuck_network: None
) -> None:
    await server.ok("a_admin", 'mutation { createCluster(name: "stuck", spec: {nodes: 2}) { state } }')
    member = await server.token_for("TENANT_MEMBER", "ws-a")
    async with asyncio.timeout(60):
        ws = await _open(server, member)
        await _start(ws, "1")
        first = json.loads(await ws.recv())
        assert first["type"] == "next" and first["payload"]["data"]["clusterEvents"]["kind"] == "requested", first
        await server.revoke(member)
        messages, code, reason = await _until_closed(ws)
    assert code == 4401 and "revoked" in reason, (code, reason)
    assert messages[-1]["type"] == "error" and messages[-1]["id"] == "1", messages
    assert codes([messages[-1]]) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("server", [{"credential_recheck_s": 3600}], indirect=True)
async def test_each_new_subscription_checks_the_connection_s_token_again(server: Server, stuck_network: None) -> None:
    await server.ok("a_admin", 'mutation { createCluster(name: "stuck", spec: {nodes: 2}) { state } }')
    member = await server.token_for("TENANT_MEMBER", "ws-a")
    async with asyncio.timeout(60):
        ws = await _open(server, member)
        await _start(ws, "1")
        assert json.loads(await ws.recv())["type"] == "next"
        await server.revoke(member)
        await _start(ws, "2")
        while (message := json.loads(await ws.recv()))["id"] != "2":
            pass
        await ws.close()
    assert codes([message]) == ["UNAUTHENTICATED"], message  # refused (and audited) like any bad credentials


@pytest.mark.parametrize("server", [{"credential_recheck_s": 3600}], indirect=True)
async def test_a_connection_closes_when_its_token_expires(server: Server, stuck_network: None) -> None:
    await server.ok("a_admin", 'mutation { createCluster(name: "stuck", spec: {nodes: 2}) { state } }')
    brief = await server.token_for("TENANT_MEMBER", "ws-a", expires="3s")
    async with asyncio.timeout(60):
        ws = await _open(server, brief)
        await _start(ws, "1")
        assert json.loads(await ws.recv())["type"] == "next"
        messages, code, reason = await _until_closed(ws)
    assert code == 4401 and "expired" in reason, (code, reason)
    assert codes([messages[-1]]) == ["UNAUTHENTICATED"]


@pytest.fixture
def tracebacks(server: Server, caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    """The server's log records of errors (uvicorn's own log does not reach the root logger)."""
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)

    def found() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]

    yield found
    uvicorn_log.removeHandler(caplog.handler)


async def _send_raw(server: Server, *texts: str) -> tuple[list[Any], int | None]:
    """Send `texts` on an initialised connection, then a ping: the messages until the pong (the connection
    still serves) and an operation's end, and None; or the messages and the code the server closed with."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    messages: list[Any] = []
    async with (
        asyncio.timeout(30),
        connect(server.url, subprotocols=["graphql-transport-ws"], additional_headers=headers) as ws,  # type: ignore[list-item]
    ):
        try:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for text in texts:
                await ws.send(text)
            await ws.send(json.dumps({"type": "ping"}))
            ponged = False
            while not (ponged and any(m["type"] in ("error", "complete") for m in messages)):
                message = json.loads(await ws.recv())
                if message["type"] == "pong":
                    ponged = True
                else:
                    messages.append(message)
        except ConnectionClosed as closed:
            return messages, closed.rcvd.code if closed.rcvd else None
    return messages, None


WATCH = {"query": EVENTS, "variables": {"c": "nope", "t": "ws-a"}}


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "x",
        {"query": 5},
        {**WATCH, "variables": [1]},
        {**WATCH, "operationName": "zz"},
        {**WATCH, "variables": {"c": ["x"] * 20_001}},
    ],
    ids=["null", "string", "query-number", "variables-array", "unknown-operation", "too-many-values"],
)
async def test_a_subscribe_that_is_no_graphql_request_is_answered_bad_request(
    server: Server, tracebacks: Callable[[], list[str]], payload: Any
) -> None:
    """As over HTTP; the connection goes on serving."""
    subscribe = json.dumps({"id": "1", "type": "subscribe", "payload": payload})
    messages, closed = await _send_raw(server, subscribe)
    assert closed is None and [m["type"] for m in messages] == ["error"], (closed, messages)
    assert messages[0]["id"] == "1" and codes(messages) == ["BAD_REQUEST"], messages
    assert tracebacks() == []


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({**WATCH, "variables": {"c": "["}}).replace('"["', "[" * 100_000 + "]" * 100_000),
        "[1]",
        '"subscribe"',
        json.dumps({"id": 1, "type": "subscribe", "payload": WATCH}),
        json.dumps({"id": ["1"], "type": "complete"}),
    ],
    ids=["deep-json", "deep-variables", "array", "string", "number-id", "array-id"],
)
async def test_a_message_outside_the_protocol_closes_the_connection_4400(
    server: Server, tracebacks: Callable[[], list[str]], text: str
) -> None:
    assert await _send_raw(server, text) == ([], 4400)
    assert tracebacks() == []


async def test_connection_init_carries_credentials_and_little_else(
    server: Server, tracebacks: Callable[[], list[str]]
) -> None:
    await server.ok("a_admin", CREATE)
    # Other members are dropped; the credentials still count.
    init = {"Authorization": f"Bearer {server.token('a_member')}", "note": "x" * 1000}
    messages = await server.subscribe(EVENTS, {"c": "train"}, init=init)
    assert messages[-1]["type"] == "complete" and codes(messages) == [], messages
    # A payload larger than credentials need is refused before anything keeps it.
    async with connect(server.url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"x": ["a" * 100] * 1000}}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert tracebacks() == []


async def test_a_subscription_over_http_is_refused(server: Server, tracebacks: Callable[[], list[str]]) -> None:
    """The converse of queries staying on HTTP: a subscription runs over the websocket only."""
    for who in ("admin", "a_member"):
        headers = {"Authorization": f"Bearer {server.token(who)}"}
        response = await server.http.post("/graphql", json=WATCH, headers=headers)
        errors = response.json()["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["INVALID_INPUT"], errors
        assert errors[0]["message"] == "subscriptions run over the websocket at /graphql"
    assert tracebacks() == []
