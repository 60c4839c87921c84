"""Planning speed at scale: the 100,000-GPU demo fabric with half its nodes taken at random.

    python bench/bench_plan.py --gpus 100000                  # import into the embedded store, load, plan
    python bench/bench_plan.py --gpus 100000 --no-store       # index built straight from the inventory

Measures the index load (all topology reads) and an occupancy refresh from the store, the RSS the
index adds to the process, and `plan()` for a 128-node (1,024-GPU) `preferred leaf` cluster (plus
a few other shapes), p50/p95 over `--rounds`, in process: this is the server-side cost.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from metalgraph.server.inventory import service  # noqa: E402
from metalgraph.server.inventory.demo import generate_fabric  # noqa: E402
from metalgraph.server.labels import KEYED_LABELS  # noqa: E402
from metalgraph.server.placement import ClusterSpec, PlacementIndex, index_from_inventory, plan  # noqa: E402
from metalgraph.server.placement.loader import load_index, load_occupancy  # noqa: E402
from metalgraph.server.settings import Settings  # noqa: E402
from metalgraph.server.store import open_store  # noqa: E402

SHAPES = {
    "128 nodes preferred leaf": ClusterSpec(nodes=128, level="leaf", mode="preferred"),
    "128 nodes unconstrained": ClusterSpec(nodes=128, mode="unconstrained"),
    "16 nodes required leaf": ClusterSpec(nodes=16, level="leaf", mode="required"),
    "128 nodes preferred leaf, max_hops 6": ClusterSpec(nodes=128, max_hops=6),
    "1024 nodes preferred spine_pod": ClusterSpec(nodes=1024, level="spine_pod"),
    "16 nodes B200 (infeasible, explained)": ClusterSpec(nodes=16, gpu_model="B200"),
}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(index: PlacementIndex, rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, spec in SHAPES.items():
        timings = []
        result = None
        for _ in range(rounds):
            started = time.perf_counter()
            result = plan(index, spec)
            timings.append((time.perf_counter() - started) * 1000)
        assert result is not None
        first = timings[0]
        timings.sort()
        out[label] = {
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
            "first_ms": round(first, 1),
            "feasible": result.feasible,
            "pods": len(result.domains.get("spine_pod", ())),
            "leaf_domains": len(result.domains.get("leaf", ())),
            "hop_diameter": result.hop_diameter,
        }
    return out


async def from_store(
    args: argparse.Namespace, taken: list[str], inventory: Any
) -> tuple[PlacementIndex, dict[str, Any]]:
    out: dict[str, Any] = {}
    data_dir = Path(tempfile.mkdtemp(prefix="mgplan-"))
    store = open_store(Settings(store=args.store, data_dir=data_dir), KEYED_LABELS)
    await store.start()
    try:
        await store.clear()
        started = time.perf_counter()
        await service.import_inventory(store, inventory)
        out["import_s"] = round(time.perf_counter() - started, 1)
        for start in range(0, len(taken), 5000):
            batch = taken[start : start + 5000]
            await store.write("UNWIND $k AS k MATCH (n:Node {key: k}) SET n.state = 'allocated'", {"k": batch})
        gc.collect()
        before = rss_mib()
        started = time.perf_counter()
        index = await load_index(store)
        out["index_load_s"] = round(time.perf_counter() - started, 2)
        gc.collect()
        out["index_rss_mib"] = round(rss_mib() - before, 1)
        started = time.perf_counter()
        await load_occupancy(store, index.topology)
        out["occupancy_refresh_ms"] = round((time.perf_counter() - started) * 1000, 1)
    finally:
        await store.close()
    return index, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpus", type=int, default=100_000)
    parser.add_argument("--store", default="embedded")
    parser.add_argument("--no-store", action="store_true")
    parser.add_argument("--rounds", type=int, default=41)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "gpus": args.gpus,
    }
    inventory = generate_fabric(args.gpus, seed=0)
    rng = random.Random(7)
    names = [n.name for n in inventory.nodes]
    taken = rng.sample(names, len(names) // 2)
    result["nodes"], result["taken"] = len(names), len(taken)
    if args.no_store:
        gc.collect()
        before = rss_mib()
        started = time.perf_counter()
        index = index_from_inventory(inventory, members=taken)
        result["index_from_inventory_s"] = round(time.perf_counter() - started, 2)
        gc.collect()
        result["index_rss_mib"] = round(rss_mib() - before, 1)
    else:
        result["store"] = args.store
        index, loaded = asyncio.run(from_store(args, taken, inventory))
        result |= loaded
    del inventory
    gc.collect()
    result["plans"] = measure(index, args.rounds)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
