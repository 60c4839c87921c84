"""Planning through HTTP: `planCluster` on the 100,000-GPU demo fabric with half its nodes taken.

    python bench/bench_plan_http.py --gpus 100000

Imports the fabric into the embedded store, marks half the nodes (at random, seed 0) allocated,
starts the server as its own uvicorn process (`bench/app_factory.py`), and asks a provider's
`planCluster` for a 128-node (1,024-GPU) `preferred leaf` cluster `--rounds` times: the first call
is reported apart from the steady p50/p95. A server loads the placement index in the background as
it starts, so the first call waits for what is left of that load: the server is started twice,
asked at once and after `--idle-s` seconds. Server-side planning alone is `bench_plan.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_inventory import free_port, import_fabric, rss_mib, serve, wait_until_healthy  # noqa: E402
from metalgraph.server.labels import KEYED_LABELS  # noqa: E402
from metalgraph.server.settings import Settings  # noqa: E402
from metalgraph.server.store import open_store  # noqa: E402

TOKEN = "bench-plan-admin-token-4e1a9c07d2b5"
PLAN = """
query($spec: ClusterSpecInput!) {
  planCluster(spec: $spec) {
    feasible nodeCount gpuCount nodes site hopDiameter bottleneckGbps
    domains { level count names } fragmentation { level score } explanations
  }
}
"""
SPEC = {"nodes": 128, "level": "LEAF", "mode": "PREFERRED"}


async def take_half(settings: Settings, seed: int = 0) -> int:
    store = open_store(settings, KEYED_LABELS)
    await store.start()
    try:
        rows = await store.read("MATCH (n:Node) RETURN n.key AS k")
        keys = sorted(r["k"] for r in rows)
        taken = random.Random(seed).sample(keys, len(keys) // 2)
        for start in range(0, len(taken), 2000):
            await store.write(
                "UNWIND $k AS k MATCH (n:Node {key: k}) SET n.state = 'allocated'", {"k": taken[start : start + 2000]}
            )
        return len(taken)
    finally:
        await store.close()


def measure(port: int, rounds: int, idle_s: float = 0.0) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/graphql"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"query": PLAN, "variables": {"spec": SPEC}}
    with httpx.Client(timeout=300) as client:
        wait_until_healthy(client, port)
        time.sleep(idle_s)
        started = time.perf_counter()
        first = client.post(url, json=body, headers=headers).json()
        first_ms = (time.perf_counter() - started) * 1000
        if "errors" in first:
            raise SystemExit(f"planCluster failed: {first['errors']}")
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            answer = client.post(url, json=body, headers=headers).json()
            timings.append((time.perf_counter() - started) * 1000)
            assert answer["data"]["planCluster"]["feasible"]
    plan = first["data"]["planCluster"]
    timings.sort()
    return {
        f"first_ms ({idle_s:g} s after healthy)": round(first_ms, 1),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        "plan": {k: plan[k] for k in ("feasible", "nodeCount", "gpuCount", "site", "hopDiameter", "bottleneckGbps")}
        | {"domains": {d["level"]: d["count"] for d in plan["domains"]}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--idle-s", type=float, default=60.0, help="wait before the first call of the second start")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="mgbench-plan-http-"))
    settings = Settings(data_dir=data_dir)
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "store": "embedded",
        "gpus": args.gpus,
    }
    result |= asyncio.run(import_fabric(settings, args.gpus, replan=False))
    result["nodes_taken"] = asyncio.run(take_half(settings))
    port = free_port()
    env = {
        "METALGRAPH_DATA_DIR": str(data_dir),
        "METALGRAPH_ADMIN_TOKEN": TOKEN,
        "METALGRAPH_RATE_LIMIT_BURST": "100000",
        "METALGRAPH_REQUEST_TIMEOUT_S": "300",
    }
    for start, idle_s in enumerate((0.0, args.idle_s)):
        server = serve(env, port)
        try:
            result[f"start_{start}"] = measure(port, args.rounds, idle_s)
            result[f"start_{start}"]["server_rss_mib"] = round(rss_mib(server.pid), 1)
        finally:
            server.terminate()
            server.wait(30)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
