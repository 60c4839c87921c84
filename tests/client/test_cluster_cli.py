"""`metalgraph cluster ...` end to end: the CLI (CliRunner) against a real server on loopback.

One server for the module: the app under uvicorn in a thread of the test process, on the embedded
store, with a 256-GPU demo fabric (32 nodes) whose devices live in a sim lab of the module's own; the
lifecycle polls fast so that jobs take a second or two. A gate in front of the app refuses websocket
upgrades on demand, which is how the polling fallback is exercised.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from typer.testing import CliRunner

from conftest import ADMIN_TOKEN
from metalgraph.client import MetalgraphClient, SubscriptionUnavailable
from metalgraph.client import config as cfg
from metalgraph.client.cluster_options import enum_value, spec_input
from metalgraph.drivers.sim import SimLab
from metalgraph.drivers.sim import lab as sim_lab
from metalgraph.server.app import create_app
from metalgraph.server.cli import app
from metalgraph.server.devices.demo_lab import seed_lab
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.inventory.service import import_inventory
from metalgraph.server.settings import Settings
from metalgraph.server.store.base import GraphStore

pytestmark = pytest.mark.slow

TENANT = "acme"
runner = CliRunner()


class WebsocketGate:
    """Passes everything to the app, except websocket upgrades while `refuse` is set (HTTP 403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.refuse = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and self.refuse:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


class LiveServer:
    def __init__(self, url: str, gate: WebsocketGate, lab: SimLab) -> None:
        self.url = url
        self.gate = gate
        self.lab = lab

    def cli(self, *args: str) -> Any:
        return runner.invoke(app, [*args, "--url", self.url, "--token", ADMIN_TOKEN])

    def cluster(self, *args: str) -> Any:
        return self.cli("cluster", *args)


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cfg.ENV_CONFIG, str(tmp_path / "config.toml"))
    monkeypatch.delenv(cfg.ENV_URL, raising=False)
    monkeypatch.delenv(cfg.ENV_TOKEN, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    fabric = generate_fabric(256)
    lab = SimLab()
    seed_lab(fabric, lab)
    for node in lab.nodes():
        node.cleaning_steps = 1
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("cluster-cli") / "data",
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        job_poll_s=0.05,
        job_lease_s=3.0,
        sanitize_poll_s=0.02,
        device_timeout_s=1.0,
    )

    async def seed(store: GraphStore) -> None:
        await import_inventory(store, fabric)
        await store.write_atomically([("MATCH (n:Node) SET n.health = 'ok', n.state = 'available'", {})])

    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    gate = WebsocketGate(create_app(settings, seed=seed))
    uv = uvicorn.Server(uvicorn.Config(gate, log_level="warning", lifespan="on", ws="websockets-sansio"))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(uv.serve(sockets=[sock]))
        except BaseException as e:  # shown by the fixture when the server never came up
            errors.append(e)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sim_lab, "_default", lab)  # the server's sim drivers use this lab, no other test's
        thread = threading.Thread(target=run, name="metalgraph test server", daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}/graphql"
        deadline = time.monotonic() + 120
        while not uv.started:
            if errors or not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {errors!r}")
            time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        MetalgraphClient(url, token=ADMIN_TOKEN).execute_sync(
            "mutation($n: String!) { createTenant(name: $n) { name } }", {"n": TENANT}
        )
        try:
            yield LiveServer(url, gate, lab)
        finally:
            uv.should_exit = True
            thread.join(timeout=60)
            sock.close()


@pytest.fixture
def no_websockets(server: LiveServer) -> Iterator[LiveServer]:
    server.gate.refuse = True
    try:
        yield server
    finally:
        server.gate.refuse = False


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def event_states(stdout: str) -> list[str]:
    """The state column of the event lines (`HH:MM:SS  state  message`)."""
    return [m.group(1) for m in re.finditer(r"^\d\d:\d\d:\d\d\s+(\S+)\s", stdout, re.M)]


# --- no server needed ----------------------------------------------------------------------


def test_spec_options_become_the_api_input() -> None:
    spec = spec_input(
        nodes=None,
        gpus=64,
        gpu_model="H100-SXM5-80GB",
        gpus_per_node=None,
        cpu_cores=None,
        memory_gb=512.0,
        storage_gb=None,
        backend_gbps=None,
        level="spine-pod",
        mode="Required",
        max_hops=4,
        site=["moc-mghpcc"],
        region=None,
        jurisdiction=[],
        certification=["HIPAA"],
        include_unhealthy=True,
        include_maintenance=False,
        include_link_errors=False,
    )
    assert spec == {
        "gpus": 64,
        "gpuModel": "H100-SXM5-80GB",
        "memoryGb": 512.0,
        "maxHops": 4,
        "level": "SPINE_POD",
        "mode": "REQUIRED",
        "sites": ["moc-mghpcc"],
        "certifications": ["HIPAA"],
        "excludeUnhealthy": False,
        "excludeMaintenance": True,
        "excludeLinkErrors": True,
    }
    assert enum_value("nvlink_domain", ("NVLINK_DOMAIN",), "level") == "NVLINK_DOMAIN"
    with pytest.raises(ValueError, match="expected one of nvlink-domain"):
        enum_value("rack", ("NVLINK_DOMAIN", "LEAF"), "level")


def test_bad_options_are_exit_2_before_any_request() -> None:
    closed = "http://127.0.0.1:9/graphql"
    both = runner.invoke(app, ["cluster", "plan", "--nodes", "2", "--gpus", "8", "--url", closed])
    assert both.exit_code == 2
    assert both.stderr.strip() == "error: give exactly one of --nodes and --gpus"
    level = runner.invoke(app, ["cluster", "create", "x", "--nodes", "2", "--level", "rack", "--url", closed])
    assert level.exit_code == 2
    assert "unknown level 'rack'" in level.stderr
    resize = runner.invoke(app, ["cluster", "resize", "x", "--add", "1", "--remove-count", "1", "--url", closed])
    assert resize.exit_code == 2
    assert "exactly one of --add, --remove and --remove-count" in resize.stderr


def test_an_unreachable_server_is_exit_4() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = runner.invoke(app, ["cluster", "status", "x", "--url", f"http://127.0.0.1:{port}/graphql"])
    assert result.exit_code == 4
    assert result.stderr.startswith("error: cannot reach")
    assert len(lines(result.stderr)) == 1


def test_the_subscription_sends_the_token_as_header_and_in_connection_init() -> None:
    """A loopback websocket server speaking graphql-transport-ws records what the SDK sends."""
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.typing import Subprotocol

    seen: dict[str, Any] = {}

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen["authorization"] = ws.request.headers.get("Authorization")
        seen["subprotocol"] = ws.subprotocol
        seen["init"] = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "connection_ack"}))
        subscribe = json.loads(await ws.recv())
        seen["subscribe"] = subscribe
        for seq in (1, 2):
            event = {"seq": seq, "state": "READY"}
            await ws.send(json.dumps({"type": "next", "id": subscribe["id"], "payload": {"data": {"e": event}}}))
        await ws.send(json.dumps({"type": "complete", "id": subscribe["id"]}))
        with contextlib.suppress(Exception):
            await ws.recv()  # the client closes

    async def main() -> list[dict[str, Any]]:
        async with serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws_server:
            port = next(iter(ws_server.sockets)).getsockname()[1]
            client = MetalgraphClient(f"http://127.0.0.1:{port}/graphql", token="sekrit", timeout=10)
            return [d async for d in client.subscribe("subscription { e { seq state } }")]

    got = asyncio.run(main())
    assert got == [{"e": {"seq": 1, "state": "READY"}}, {"e": {"seq": 2, "state": "READY"}}]
    assert seen["authorization"] == "Bearer sekrit"
    assert seen["subprotocol"] == "graphql-transport-ws"
    assert seen["init"] == {"type": "connection_init", "payload": {"Authorization": "Bearer sekrit"}}
    assert seen["subscribe"]["type"] == "subscribe"


def test_websocket_url() -> None:
    from metalgraph.client.sdk import websocket_url

    assert websocket_url("http://h:8080/graphql") == "ws://h:8080/graphql"
    assert websocket_url("HTTPS://h/graphql") == "wss://h/graphql"
    assert websocket_url("ws://h/graphql") == "ws://h/graphql"


# --- plan --------------------------------------------------------------------------------------


def test_plan_prints_where_the_cluster_would_go(server: LiveServer) -> None:
    result = server.cluster("plan", "--nodes", "4", "--level", "leaf", "--mode", "required")
    assert result.exit_code == 0, result.output
    assert re.search(r"^Feasible: 4 node\(s\), 32 GPU\(s\) at \S+$", result.stdout, re.M), result.stdout
    assert "hop diameter" in result.stdout
    assert re.search(r"^nodes: \S+", result.stdout, re.M)

    as_json = server.cluster("plan", "--gpus", "16", "--json")
    assert as_json.exit_code == 0, as_json.output
    found = json.loads(as_json.stdout)
    assert found["feasible"] is True
    assert (found["nodeCount"], found["gpuCount"]) == (2, 16)
    assert len(found["nodes"]) == 2


def test_an_infeasible_plan_exits_1_with_the_explanations(server: LiveServer) -> None:
    result = server.cluster("plan", "--nodes", "4", "--gpu-model", "NO-SUCH-GPU")
    assert result.exit_code == 1
    assert "Not feasible:" in result.stdout
    explained = [line for line in lines(result.stdout) if line.lstrip().startswith("- ")]
    assert explained, result.stdout

    as_json = server.cluster("plan", "--nodes", "1000", "--level", "site", "--mode", "required", "--json")
    assert as_json.exit_code == 1
    found = json.loads(as_json.stdout)
    assert found["feasible"] is False
    assert found["explanations"]


# --- the lifecycle -----------------------------------------------------------------------------


def test_create_wait_shows_progress_and_ends_ready_then_release_wait_ends_released(server: LiveServer) -> None:
    created = server.cluster("create", "train", "--nodes", "4", "--tenant", TENANT, "--wait")
    assert created.exit_code == 0, created.output
    states = event_states(created.stdout)
    assert states[0] == "requested"
    for state in ("reserving", "configuring-network", "powering-on"):
        assert state in states, created.stdout
    assert states[-1] == "ready"
    assert re.search(r"\d+ of \d+ switch ports configured", created.stdout)
    assert re.search(r"\d+ of 4 nodes powered on", created.stdout)
    assert re.search(r"^cluster train is ready: 4 node\(s\) on VLAN \d+$", created.stdout, re.M)
    assert "websocket" not in created.stderr  # followed over the subscription

    status = server.cluster("status", "train", "--tenant", TENANT)
    assert status.exit_code == 0, status.output
    assert re.search(r"^state\s+ready\s*$", status.stdout, re.M)
    assert re.search(r"^vlan\s+\d+\s*$", status.stdout, re.M)
    assert re.search(r"^nodes\s+4: ", status.stdout, re.M)
    assert "latest events" in status.stdout

    listed = server.cluster("list", "--tenant", TENANT, "--json")
    assert listed.exit_code == 0, listed.output
    assert [(c["name"], c["state"]) for c in json.loads(listed.stdout)] == [("train", "READY")]

    busy = server.cluster("delete", "train", "--tenant", TENANT)
    assert busy.exit_code == 1
    assert len(lines(busy.stderr)) == 1 and re.match(r"error: \[[A-Z_]+\] ", busy.stderr)

    released = server.cluster("release", "train", "--tenant", TENANT, "--wait")
    assert released.exit_code == 0, released.output
    states = event_states(released.stdout)
    assert states[0] == "releasing" and states[-1] == "released"
    assert "sanitizing" in states
    assert "requested" not in states  # only the release job's events
    assert "cluster train is released" in released.stdout

    deleted = server.cluster("delete", "train", "--tenant", TENANT)
    assert deleted.exit_code == 0, deleted.output
    assert "Deleted cluster train." in deleted.stdout
    gone = server.cluster("status", "train", "--tenant", TENANT)
    assert gone.exit_code == 1
    assert "[NOT_FOUND]" in gone.stderr


def test_create_without_wait_returns_at_once_and_watch_follows(server: LiveServer) -> None:
    created = server.cluster("create", "quick", "--gpus", "16", "--tenant", TENANT, "--no-wait")
    assert created.exit_code == 0, created.output
    assert "Requested cluster quick (requested)." in created.stdout
    assert "metalgraph cluster watch quick" in created.stdout

    watched = server.cluster("watch", "quick", "--tenant", TENANT, "--json")
    assert watched.exit_code == 0, watched.output
    events = [json.loads(line) for line in lines(watched.stdout)]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["kind"] == "requested" and events[-1]["state"] == "READY"
    assert any(e["total"] for e in events)

    resized = server.cluster("resize", "quick", "--add", "1", "--tenant", TENANT, "--wait")
    assert resized.exit_code == 0, resized.output
    assert event_states(resized.stdout)[0] == "resizing"
    assert "cluster quick is ready: 3 node(s)" in resized.stdout
    shrunk = server.cluster("resize", "quick", "--remove-count", "1", "--tenant", TENANT, "--wait")
    assert shrunk.exit_code == 0, shrunk.output
    assert "cluster quick is ready: 2 node(s)" in shrunk.stdout

    assert server.cluster("release", "quick", "--tenant", TENANT, "--wait").exit_code == 0
    assert server.cluster("delete", "quick", "--tenant", TENANT).exit_code == 0


def test_watch_falls_back_to_polling_without_websockets(no_websockets: LiveServer) -> None:
    server = no_websockets
    created = server.cluster("create", "polled", "--nodes", "2", "--tenant", TENANT, "--no-wait")
    assert created.exit_code == 0, created.output

    watched = server.cluster("watch", "polled", "--tenant", TENANT)
    assert watched.exit_code == 0, watched.output
    assert "cannot open the websocket" in watched.stderr
    assert "polling for events every 1 s instead" in watched.stderr
    states = event_states(watched.stdout)
    assert states[0] == "requested" and states[-1] == "ready"
    assert "cluster polled is ready: 2 node(s)" in watched.stdout

    released = server.cluster("release", "polled", "--tenant", TENANT, "--wait")
    assert released.exit_code == 0, released.output
    assert "polling" in released.stderr
    assert event_states(released.stdout)[-1] == "released"
    assert server.cluster("delete", "polled", "--tenant", TENANT).exit_code == 0


def test_sdk_subscription_unavailable_is_a_typed_error(no_websockets: LiveServer) -> None:
    async def first() -> None:
        client = MetalgraphClient(no_websockets.url, token=ADMIN_TOKEN, timeout=10)
        async for _ in client.subscribe(
            "subscription($c: String!, $t: String) { clusterEvents(cluster: $c, tenant: $t) { seq } }",
            {"c": "none", "t": TENANT},
        ):
            pass

    with pytest.raises(SubscriptionUnavailable):
        asyncio.run(first())


def test_a_failed_create_exits_1_with_the_reason(server: LiveServer) -> None:
    for node in server.lab.nodes():
        node.faults.unreachable = True  # every BMC: powering on fails, the job rolls back
    try:
        result = server.cluster("create", "doomed", "--nodes", "2", "--tenant", TENANT, "--wait")
    finally:
        for node in server.lab.nodes():
            node.faults.clear()
    assert result.exit_code == 1, result.output
    states = event_states(result.stdout)
    assert "rolling-back" in states and states[-1] == "failed"
    assert re.match(r"error: cluster doomed failed: .*could not be powered on", result.stderr)
    assert len(lines(result.stderr)) == 1

    status = server.cluster("status", "doomed", "--tenant", TENANT)
    assert re.search(r"^state\s+failed\s*$", status.stdout, re.M)
    assert re.search(r"^reason\s+.*powered on", status.stdout, re.M)
    assert server.cluster("delete", "doomed", "--tenant", TENANT).exit_code == 0


def test_api_errors_are_one_line_with_the_code(server: LiveServer) -> None:
    missing = server.cluster("release", "nope", "--tenant", TENANT)
    assert missing.exit_code == 1
    assert re.fullmatch(r"error: \[NOT_FOUND\] .*nope.*\n", missing.stderr)
    too_big = server.cluster("create", "huge", "--nodes", "1000", "--tenant", TENANT, "--no-wait")
    assert too_big.exit_code == 1
    assert len(lines(too_big.stderr)) == 1 and re.match(r"error: \[[A-Z_]+\] ", too_big.stderr)


def test_every_document_is_valid_against_the_published_sdl() -> None:
    from graphql import build_schema, parse, validate

    from metalgraph.client import cluster_api

    schema = build_schema((Path(__file__).parents[2] / "schema" / "schema.graphql").read_text())
    for name in ("PLAN", "CREATE", "RELEASE", "RESIZE", "REPLACE", "DELETE", "CLUSTER", "CLUSTERS", "EVENTS"):
        assert validate(schema, parse(getattr(cluster_api, name))) == [], name
    assert validate(schema, parse(cluster_api.SUBSCRIBE)) == []


def test_a_tenant_token_works_without_tenant_and_sees_counts_only(server: LiveServer) -> None:
    admin = MetalgraphClient(server.url, token=ADMIN_TOKEN)
    issued = admin.execute_sync(
        'mutation { createApiToken(role: TENANT_ADMIN, tenant: "acme", description: "cli test") { token } }'
    )["createApiToken"]["token"]

    def as_tenant(*args: str) -> Any:
        return runner.invoke(app, ["cluster", *args, "--url", server.url, "--token", issued])

    planned = as_tenant("plan", "--nodes", "2", "--json")
    assert planned.exit_code == 0, planned.output
    found = json.loads(planned.stdout)
    assert found["nodeCount"] == 2 and found["nodes"] == []
    assert "nodes:" not in as_tenant("plan", "--nodes", "2").stdout

    # over the websocket the token authenticates the subscription (loopback without it is a provider
    # viewer, which would have to name the tenant)
    created = as_tenant("create", "mine", "--nodes", "2", "--wait")
    assert created.exit_code == 0, created.output
    assert "websocket" not in created.stderr
    assert event_states(created.stdout)[-1] == "ready"
    listed = as_tenant("list")
    assert re.search(r"^ *acme +mine +ready ", listed.stdout, re.M), listed.stdout
    assert as_tenant("release", "mine", "--wait").exit_code == 0
    assert as_tenant("delete", "mine").exit_code == 0
