"""Isolation report benchmark: read every switch of the demo fabric through the sim driver (an
in-memory lab), and with `--full` run the whole report against an embedded store holding the fabric.

    python bench/bench_isolation.py --gpus 100000            # switch reads only (5,752 switches)
    python bench/bench_isolation.py --gpus 100000 --full     # + import into an embedded FalkorDB, full report
    python bench/bench_isolation.py --gpus 100000 --full --clusters 40   # with 40 ready 128-node clusters

`--clusters N` writes N ready clusters of 128 nodes (the first nodes of the biggest site, in order)
as the lifecycle leaves them (tests/schema/allocated.py), and gives the sim switches the same VLAN
state, so the report compares tenant ports and trunks carrying tenant VLANs, and reads their cables.

Prints one JSON document of measurements; bench/RESULTS.md records them with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from schema.allocated import allocate_cluster  # noqa: E402

from metalgraph.drivers.sim import SimLab  # noqa: E402
from metalgraph.drivers.types import SwitchportMode  # noqa: E402
from metalgraph.server.devices.access import DeviceAccess, switch_device  # noqa: E402
from metalgraph.server.devices.demo_lab import seed_lab, sim_options  # noqa: E402
from metalgraph.server.inventory import service  # noqa: E402
from metalgraph.server.inventory.demo import generate_fabric  # noqa: E402
from metalgraph.server.isolation import isolation_report  # noqa: E402
from metalgraph.server.isolation.devices import read_switches  # noqa: E402
from metalgraph.server.labels import KEYED_LABELS  # noqa: E402
from metalgraph.server.store.falkordb_store import FalkorStore  # noqa: E402
from metalgraph.server.tenancy.tenants import create_tenant  # noqa: E402

CLUSTER_NODES = 128
_STATED = (
    "MATCH (s:Switch)-[:HAS_PORT]->(p:Port) WHERE p.access_vlan IS NOT NULL OR size(p.allowed_vlans) > 0 "
    "RETURN s.mgmt_address AS switch, p.name AS port, p.mode AS mode, p.access_vlan AS access, "
    "p.allowed_vlans AS allowed"
)


async def add_clusters(store: FalkorStore, lab: SimLab, count: int) -> int:
    """`count` ready clusters, in the graph and on the sim switches; the trunk ports carrying a VLAN."""
    rows = await store.read("MATCH (r:Rack)-[:HOLDS]->(n:Node) RETURN n.key AS k, r.site AS site")
    biggest = Counter(r["site"] for r in rows).most_common(1)[0][0]  # a cluster lives in one site
    nodes = sorted(r["k"] for r in rows if r["site"] == biggest)
    await create_tenant(store, "bench")
    for i in range(count):
        members = nodes[i * CLUSTER_NODES : (i + 1) * CLUSTER_NODES]
        await allocate_cluster(store, "bench", f"c{i:03d}", members, vlan=1000 + i)
    trunks = 0
    for row in await store.read(_STATED):
        port = lab.switch(row["switch"]).ports[row["port"]]
        if row["mode"] == "trunk":
            port.mode, port.access_vlan, port.allowed_vlans = SwitchportMode.TRUNK, None, tuple(row["allowed"])
            trunks += 1
        else:
            port.access_vlan = row["access"]
    return trunks


async def main(gpus: int, full: bool, clusters: int) -> dict[str, Any]:
    out: dict[str, Any] = {"gpus": gpus, "machine": f"{platform.machine()} {os.cpu_count()} cpu"}
    started = time.perf_counter()
    fabric = generate_fabric(gpus)
    out["generate_s"] = round(time.perf_counter() - started, 2)
    lab = SimLab()
    started = time.perf_counter()
    seed_lab(fabric, lab)
    out["seed_lab_s"] = round(time.perf_counter() - started, 2)
    access = DeviceAccess(["switch:sim", "bmc:sim"], timeout_s=10, driver_options=sim_options(lab))
    refs = {
        sw.name: switch_device({"name": sw.name, "driver": sw.driver, "mgmt_address": sw.mgmt_address})
        for sw in fabric.switches
    }
    out["switches"] = len(refs)
    out["ports"] = sum(len(sw.ports) for sw in fabric.switches)
    for round_ in range(2):
        started = time.perf_counter()
        reads = await read_switches(access, refs)
        out[f"read_switches_s_{round_}"] = round(time.perf_counter() - started, 2)
    out["switches_read"] = len(reads.states)
    if full:
        with tempfile.TemporaryDirectory() as data:
            store = FalkorStore(Path(data), KEYED_LABELS)
            await store.start()
            try:
                started = time.perf_counter()
                await service.import_inventory(store, fabric)
                out["import_s"] = round(time.perf_counter() - started, 1)
                if clusters:
                    started = time.perf_counter()
                    out["trunk_ports_carrying_tenant_vlans"] = await add_clusters(store, lab, clusters)
                    out["clusters"] = clusters
                    out["add_clusters_s"] = round(time.perf_counter() - started, 1)
                for round_ in range(2):
                    report = await isolation_report(store, access)
                    out[f"report_{round_}"] = {
                        "duration_s": round(report.duration_s, 2),
                        "graph_s": round(report.graph_s, 2),
                        "devices_s": round(report.devices_s, 2),
                        "rules_s": round(report.duration_s - report.graph_s - report.devices_s, 2),
                        "switches_read": report.switches_read,
                        "ports_compared": report.ports_compared,
                        "cables_read": report.cables_read,
                        "violations": dict(Counter(str(v.kind) for v in report.violations)),
                        "example": report.violations[0].message if report.violations else None,
                    }
            finally:
                await store.close()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help="also import into an embedded store and run the report")
    parser.add_argument("--clusters", type=int, default=0, help="with --full: ready 128-node clusters to add first")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.gpus, args.full, args.clusters)), indent=2))
