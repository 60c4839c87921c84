"""What authorization costs: the nested 100-node page of the foundation benchmark, timed through HTTP
for three callers on the same server and data:

- `none`: no credentials from loopback (provider-viewer; no token lookup, no scope);
- `provider`: a provider-viewer API token (token lookup);
- `tenant`: a tenant-member API token whose cluster holds 128 nodes (token lookup, the tenant's
  visibility scope, and every read filtered by it).

Also the time to compute that tenant's scope from nothing (`cold_tenant_scope_ms_p50`), which the first
tenant request after a change pays; later requests reuse it.

    python bench/bench_authz.py --gpus 100000 [--rounds 60]

Requests of the three kinds are interleaved so that drift hits them alike. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from bench_inventory import PAGE_QUERY, free_port, import_fabric, serve, wait_until_healthy  # type: ignore[import-not-found]

from metalgraph.drivers.sim import SimLab
from metalgraph.server.audit import AuditLog
from metalgraph.server.auth.principal import Role
from metalgraph.server.auth.tokens import new_token
from metalgraph.server.devices.demo_lab import seed_lab
from metalgraph.server.inventory.service import export_inventory
from metalgraph.server.labels import KEYED_LABELS
from metalgraph.server.lifecycle.records import cluster_key, read_cluster
from metalgraph.server.lifecycle.setup import build_lifecycle
from metalgraph.server.lifecycle.states import ClusterState
from metalgraph.server.placement.spec import ClusterSpec
from metalgraph.server.settings import Settings
from metalgraph.server.store import open_store
from metalgraph.server.store.base import GraphStore
from metalgraph.server.tenancy import tenants
from metalgraph.server.tenancy.visibility import tenant_scope

CLUSTER_NODES = 128
COLD_SCOPE_MS: list[float] = []


async def provision(store: GraphStore, settings: Settings, nodes: int) -> None:
    """The tenant's cluster, made by the lifecycle on simulated devices, as a tenant would get it."""
    lab = SimLab()
    seed_lab(await export_inventory(store), lab)
    lifecycle = build_lifecycle(settings, store, AuditLog(store), driver_options={"sim": {"lab": lab}})
    await lifecycle.start()
    try:
        await lifecycle.create(store, "bench", "train", ClusterSpec(nodes=nodes, exclude_unhealthy=False))
        while (record := await read_cluster(store, cluster_key("bench", "train"))) and record.job is not None:
            await asyncio.sleep(0.2)
        assert record is not None and record.state is ClusterState.READY, record
    finally:
        await lifecycle.close()


async def tenant_and_tokens(settings: Settings) -> dict[str, str]:
    store = open_store(settings, KEYED_LABELS)
    await store.start()
    try:
        await tenants.create_tenant(store, "bench")
        await provision(store, settings, CLUSTER_NODES)
        cold = []
        for _ in range(7):  # what the first tenant request after a change pays
            started = time.perf_counter()
            await tenant_scope(store, "bench")
            cold.append((time.perf_counter() - started) * 1000)
        COLD_SCOPE_MS.append(round(statistics.median(cold), 1))
        issued = {}
        for label, role, tenant in (("provider", Role.PROVIDER_VIEWER, None), ("tenant", Role.TENANT_MEMBER, "bench")):
            token, statement = new_token(tenant, role, "bench", None)
            await store.write_atomically([statement])
            issued[label] = token.secret
        return issued
    finally:
        await store.close()


def measure(port: int, tokens: dict[str, str], rounds: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/graphql"
    callers = {"none": {}, **{k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}}
    timings: dict[str, list[float]] = {k: [] for k in callers}
    with httpx.Client(timeout=120) as client:
        wait_until_healthy(client, port)
        for i in range(rounds + 3):
            for caller, headers in callers.items():
                started = time.perf_counter()
                response = client.post(url, json={"query": PAGE_QUERY, "variables": {"first": 100}}, headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                body = response.json()
                assert "errors" not in body, body
                assert len(body["data"]["nodes"]["edges"]) == 100, caller
                if i >= 3:  # warm-up
                    timings[caller].append(elapsed)
    p50 = {caller: statistics.median(t) for caller, t in timings.items()}
    return {
        "requests_per_caller": rounds,
        "p50_ms": {caller: round(v, 1) for caller, v in p50.items()},
        "tenant_overhead_pct": round(100 * (p50["tenant"] - p50["none"]) / p50["none"], 1),
        "provider_token_overhead_pct": round(100 * (p50["provider"] - p50["none"]) / p50["none"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpus", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="mgbench-authz-"))
    settings = Settings(data_dir=data_dir)
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "store": "embedded",
        "gpus": args.gpus,
    }
    result |= asyncio.run(import_fabric(settings, args.gpus, replan=False))
    tokens = asyncio.run(tenant_and_tokens(settings))
    port = free_port()
    env = {"METALGRAPH_DATA_DIR": str(data_dir), "METALGRAPH_RATE_LIMIT_BURST": "100000"}
    server = serve(env | {"METALGRAPH_LOOPBACK_READS": "true"}, port)  # the `none` caller reads by loopback
    try:
        result["page_100"] = measure(port, tokens, args.rounds)
        result["cold_tenant_scope_ms_p50"] = COLD_SCOPE_MS[0]
    finally:
        server.terminate()
        server.wait(30)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
