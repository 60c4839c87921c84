"""Placement quality: the planner against the exact optimum (OR-Tools CP-SAT) on random instances.

    python bench/bench_placement_quality.py --instances 400 --out bench/placement_quality.md

Each instance is one site of 1 to 5 spine pods, each of 1 to 6 leaf domains of 2 to 32 nodes (at
most ~300 nodes), built as a switch graph (leaf per domain, spine per pod, one core) and loaded
into a PlacementIndex; each node is taken with a per-instance random probability. The request is
`preferred leaf` for a random number of nodes that fits in the free capacity. CP-SAT minimises
spine pods, then leaf domains (lexicographically, one weighted objective). Needs the `bench`
extra (`pip install -e .[bench]`).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from ortools.sat.python import cp_model

from metalgraph.server.placement import ClusterSpec, Level, plan
from metalgraph.server.placement.build import IndexBuilder
from metalgraph.server.placement.index import PlacementIndex


def instance(rng: random.Random) -> tuple[PlacementIndex, list[list[int]], int]:
    """An index and the free nodes of each leaf domain, grouped by pod."""
    b = IndexBuilder()
    b.site("s1")
    b.rack("r1", "s1")
    b.switch("core-1", "core", "", "r1")
    pods = rng.randint(1, 5)
    taken_p = rng.uniform(0.1, 0.8)
    shape: list[list[int]] = []
    budget = 300
    for p in range(pods):
        spine = f"spine-p{p}"
        b.switch(spine, "spine", f"pod-{p}", "r1")
        b.cable(spine, "up", "core-1", f"p{p}", 400)
        free_per_leaf = []
        for s in range(rng.randint(1, 6)):
            size = min(rng.randint(2, 32), budget)
            if size <= 0:
                break
            budget -= size
            leaf = f"leaf-p{p}-su{s}"
            b.switch(leaf, "leaf", f"pod-{p}", "r1")
            b.cable(leaf, "up", spine, f"d{s}", 400)
            free = 0
            for k in range(size):
                name = f"n-{p}-{s}-{k}"
                b.node(name, "r1", 64, 512, 1000, "available", "ok")
                b.gpus(name, "H100", name, 8)
                b.nic_cable(name, "backend", 400, leaf, f"swp{k}", "up")
                if rng.random() < taken_p:
                    b.member(name)
                else:
                    free += 1
            free_per_leaf.append(free)
        shape.append(free_per_leaf)
    total_free = sum(map(sum, shape))
    n = rng.randint(1, max(1, total_free))
    return b.build(), shape, n


def optimum(shape: list[list[int]], n: int, timeout_s: float = 10.0) -> tuple[int, int] | None:
    model = cp_model.CpModel()
    leaves_used, pods_used = [], []
    total = []
    for pod in shape:
        z = model.new_bool_var("pod")
        pods_used.append(z)
        for cap in pod:
            x = model.new_int_var(0, cap, "x")
            y = model.new_bool_var("leaf")
            model.add(x <= cap * y)
            model.add_implication(y, z)
            leaves_used.append(y)
            total.append(x)
    model.add(sum(total) == n)
    big = len(leaves_used) + 1
    model.minimize(big * sum(pods_used) + sum(leaves_used))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = timeout_s
    solver.parameters.num_workers = 1
    if solver.solve(model) != cp_model.OPTIMAL:
        return None
    return (sum(int(solver.value(z)) for z in pods_used), sum(int(solver.value(y)) for y in leaves_used))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=400)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows: list[dict[str, Any]] = []
    plan_ms, cp_ms = [], []
    for i in range(args.instances):
        index, shape, n = instance(rng)
        started = time.perf_counter()
        result = plan(index, ClusterSpec(nodes=n, level="leaf", mode="preferred", exclude_unhealthy=False))
        plan_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        best = optimum(shape, n)
        cp_ms.append((time.perf_counter() - started) * 1000)
        if best is None or not result.feasible:
            rows.append({"instance": i, "n": n, "feasible": result.feasible, "optimum": best})
            continue
        got = (len(result.domains[Level.SPINE_POD]), len(result.domains[Level.LEAF]))
        rows.append(
            {
                "instance": i,
                "nodes": index.topology.size,
                "free": sum(map(sum, shape)),
                "n": n,
                "planner": got,
                "optimum": best,
                "pod_gap": got[0] - best[0],
                "leaf_gap": got[1] - best[1],
            }
        )
    solved = [r for r in rows if "planner" in r]
    optimal = [r for r in solved if r["pod_gap"] == 0 and r["leaf_gap"] == 0]
    summary = {
        "instances": len(rows),
        "compared": len(solved),
        "not_compared": [r for r in rows if "planner" not in r],
        "max_nodes": max(r["nodes"] for r in solved),
        "optimal": len(optimal),
        "optimal_share": round(len(optimal) / len(solved), 4),
        "worst_pod_gap": max(r["pod_gap"] for r in solved),
        "worst_leaf_gap": max(r["leaf_gap"] for r in solved),
        "planner_ms_p50": round(statistics.median(plan_ms), 2),
        "planner_ms_max": round(max(plan_ms), 2),
        "cp_sat_ms_p50": round(statistics.median(cp_ms), 2),
    }
    print(json.dumps(summary, indent=2))
    if args.out is not None:
        lines = [
            "| instance | nodes | free | n | planner (pods, leaves) | CP-SAT optimum | gap |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in solved:
            gap = f"{r['pod_gap']}, {r['leaf_gap']}"
            lines.append(
                f"| {r['instance']} | {r['nodes']} | {r['free']} | {r['n']} | {r['planner']} | {r['optimum']} | {gap} |"
            )
        args.out.write_text("```json\n" + json.dumps(summary, indent=2) + "\n```\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
