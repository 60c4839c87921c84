"""What `metalgraph serve` exposes without credentials: with `--demo`, loopback reads and GraphiQL, said at
start; without it, neither (and it says that /metrics answers loopback); how large a websocket message may be."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

METALGRAPH = Path(sys.executable).parent / "metalgraph"


@contextmanager
def serving(tmp_path: Path, *options: str) -> Iterator[tuple[str, Path]]:
    """`metalgraph serve OPTIONS` on a free loopback port: its URL and its output file, until SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("METALGRAPH_")} | {"COLUMNS": "200"}
    output = tmp_path / "serve.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [str(METALGRAPH), "serve", "--port", "0", "--data-dir", str(tmp_path / "data"), *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while not (match := re.search(r"GraphQL: (http://\S+)/graphql", output.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        url = match.group(1)
        while httpx.get(f"{url}/healthz", timeout=5).status_code != 200:
            time.sleep(0.1)
        yield url, output
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _viewer(url: str) -> dict[str, object]:
    body: dict[str, object] = httpx.post(f"{url}/graphql", json={"query": "{ viewer { role } }"}, timeout=30).json()
    return body


@pytest.mark.slow
def test_serve_demo_opens_loopback_reads_and_graphiql_and_says_so(tmp_path: Path) -> None:
    with serving(tmp_path, "--demo", "--demo-gpus", "8") as (url, output):
        assert "Loopback reads: requests from this machine without credentials read as provider-viewer" in (
            output.read_text()
        )
        assert _viewer(url) == {"data": {"viewer": {"role": "PROVIDER_VIEWER"}}}
        page = httpx.get(f"{url}/graphql", headers={"accept": "text/html"}, timeout=30)
        assert page.status_code == 200 and "graphiql" in page.text.lower()


@pytest.mark.slow
def test_serve_without_demo_reads_nothing_without_a_token(tmp_path: Path) -> None:
    with serving(tmp_path) as (url, output):
        assert "Loopback reads" not in output.read_text()
        assert "GraphiQL" not in output.read_text()
        assert "Metrics: /metrics answers requests from this machine without credentials" in output.read_text()
        errors = _viewer(url)["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]  # type: ignore[attr-defined]
        page = httpx.get(f"{url}/graphql", headers={"accept": "text/html"}, timeout=30)
        assert page.status_code == 400 and "graphiql" not in page.text.lower()


@pytest.mark.slow
def test_serve_bounds_a_websocket_message_like_a_request_body(tmp_path: Path) -> None:
    with (
        serving(tmp_path) as (url, _),
        connect(f"{url.replace('http', 'ws')}/graphql", subprotocols=["graphql-transport-ws"], max_size=None) as ws,  # type: ignore[list-item]
    ):
        ws.send(json.dumps({"type": "ping", "payload": {"pad": "x" * 1_100_000}}))  # over max_request_bytes
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # "message too big"


def test_connections_to_serve_have_nagle_off() -> None:
    """Otherwise every answer after the first on a kept-alive connection waits ~40 ms for a delayed ACK."""
    from metalgraph.server.cli.serve_command import _listen

    listener = _listen("127.0.0.1", 0)
    with listener, socket.create_connection(listener.getsockname()[:2]):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
