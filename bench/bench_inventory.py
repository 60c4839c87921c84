"""Foundation benchmark: import the demo fabric, then time the nested node page through HTTP.

    python bench/bench_inventory.py --gpus 100000                 # embedded FalkorDB
    python bench/bench_inventory.py --gpus 100000 --neo4j         # a Neo4j 5.26 started from the test jars
    python bench/bench_inventory.py --gpus 100000 --store bolt://host:7687

Prints one JSON document of measurements; bench/RESULTS.md records them with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from metalgraph.server.inventory import service  # noqa: E402
from metalgraph.server.inventory.demo import generate_fabric  # noqa: E402
from metalgraph.server.inventory.records import to_records  # noqa: E402
from metalgraph.server.labels import KEYED_LABELS  # noqa: E402
from metalgraph.server.settings import Settings  # noqa: E402
from metalgraph.server.store import open_store  # noqa: E402

PAGE_QUERY = """
query Page($first: Int, $after: String) {
  nodes(first: $first, after: $after) {
    totalCount
    edges { node { name gpus { model } nics { name speedGbps port { name switch { name role } } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def import_fabric(settings: Settings, gpus: int, replan: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    started = time.perf_counter()
    inventory = generate_fabric(gpus=gpus, seed=0)
    out["generate_s"] = round(time.perf_counter() - started, 2)
    records = to_records(inventory)
    out["vertices"] = len(records.vertices)
    out["edges"] = len(records.edges)
    del records
    store = open_store(settings, KEYED_LABELS)
    await store.start()
    try:
        await store.clear()
        started = time.perf_counter()
        changes = await service.import_inventory(store, inventory)
        out["import_s"] = round(time.perf_counter() - started, 2)
        out["import_changes"] = changes.size
        if replan:
            started = time.perf_counter()
            again = await service.plan_import(store, inventory)
            out["reimport_plan_s"] = round(time.perf_counter() - started, 2)
            out["reimport_is_no_op"] = again.empty
    finally:
        await store.close()
    return out


def serve(settings_env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env, "METALGRAPH_PORT": str(port)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.app_factory:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )


def wait_until_healthy(client: httpx.Client, port: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("server did not become healthy")
        time.sleep(0.2)


def measure_pages(port: int, first: int, rounds: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/graphql"
    with httpx.Client(timeout=60) as client:
        wait_until_healthy(client, port)
        cursors: list[str | None] = [None]
        timings: list[float] = []
        trips_before = _round_trips(client, port)
        for i in range(rounds):
            after = cursors[i % len(cursors)]
            started = time.perf_counter()
            response = client.post(url, json={"query": PAGE_QUERY, "variables": {"first": first, "after": after}})
            timings.append((time.perf_counter() - started) * 1000)
            body = response.json()
            assert "errors" not in body, body
            assert len(body["data"]["nodes"]["edges"]) == first
            if len(cursors) < 20:
                cursors.append(body["data"]["nodes"]["pageInfo"]["endCursor"])
        trips = (_round_trips(client, port) - trips_before) / rounds
    timings.sort()
    return {
        "page_size": first,
        "requests": rounds,
        "p50_ms": round(statistics.median(timings), 1),
        "p90_ms": round(timings[int(len(timings) * 0.9)], 1),
        "round_trips_per_request": trips,
    }


def _round_trips(client: httpx.Client, port: int) -> float:
    text = client.get(f"http://127.0.0.1:{port}/metrics").text
    for line in text.splitlines():
        if line.startswith("metalgraph_store_round_trips_total"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpus", type=int, default=100_000)
    parser.add_argument("--store", default="embedded")
    parser.add_argument("--neo4j", action="store_true", help="start a Neo4j from the test jars")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    neo4j = None
    env: dict[str, str] = {}
    data_dir = Path(tempfile.mkdtemp(prefix="mgbench-"))
    if args.neo4j:
        from neo4j_server.runner import start_neo4j

        neo4j = start_neo4j()
        args.store = neo4j.uri
    env["METALGRAPH_STORE"] = args.store
    env["METALGRAPH_DATA_DIR"] = str(data_dir)
    settings = Settings(store=args.store, data_dir=data_dir)
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "store": "embedded" if args.store == "embedded" else "neo4j",
        "gpus": args.gpus,
    }
    try:
        result |= asyncio.run(import_fabric(settings, args.gpus))
        port = free_port()
        server = serve(env, port)
        try:
            for size in (100, 5):
                result[f"page_{size}"] = measure_pages(port, size, args.rounds)
            result["server_rss_mib"] = round(rss_mib(server.pid), 1)
            pidfile = data_dir / "falkordb.pid"
            if pidfile.exists():
                result["embedded_database_rss_mib"] = round(rss_mib(int(pidfile.read_text())), 1)
        finally:
            server.terminate()
            server.wait(30)
    finally:
        if neo4j is not None:
            result["neo4j_jvm_rss_mib"] = round(rss_mib(neo4j.process.pid), 1) if neo4j.process else None
            neo4j.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
