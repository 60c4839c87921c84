"""Provisioning speed: a 128-node cluster from request to ready on simulated devices.

Every device call of the sim drivers takes `--latency-ms` (5 ms by default), as a switch or BMC
on a management network would. The lifecycle runs the calls in parallel with per-device limits
(`device_concurrency`, 2 by default); this prints the wall time of each step next to the serial
sum of the calls it made (calls x latency), which is what a one-call-at-a-time provisioner pays.

    .venv/bin/python bench/bench_provision.py --gpus 4096 --nodes 128
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from metalgraph.drivers.sim import SimLab
from metalgraph.server.audit import AuditLog
from metalgraph.server.devices.demo_lab import seed_lab
from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.labels import KEYED_LABELS
from metalgraph.server.lifecycle.records import cluster_key, read_cluster
from metalgraph.server.lifecycle.setup import build_lifecycle
from metalgraph.server.lifecycle.states import RESTING
from metalgraph.server.placement.spec import ClusterSpec
from metalgraph.server.settings import Settings
from metalgraph.server.store.falkordb_store import FalkorStore
from metalgraph.server.tenancy.tenants import create_tenant


def _calls(lab: SimLab) -> int:
    return sum(d.faults.calls for d in [*lab.switches(), *lab.nodes()])


async def run(gpus: int, nodes: int, latency_ms: float, concurrency: int) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="mg-bench-provision-"))
    store = FalkorStore(workdir / "data", KEYED_LABELS)
    await store.start()
    try:
        fabric = generate_fabric(gpus)
        await service.import_inventory(store, fabric)
        await store.write_atomically([("MATCH (n:Node) SET n.health = 'ok', n.state = 'available'", {})])
        await create_tenant(store, "bench")
        lab = SimLab()
        seed_lab(fabric, lab)
        for device in [*lab.switches(), *lab.nodes()]:
            device.faults.latency_s = latency_ms / 1000
            if hasattr(device, "cleaning_steps"):
                device.cleaning_steps = 1
        settings = Settings(
            data_dir=workdir / "data", job_poll_s=0.05, sanitize_poll_s=0.05, device_concurrency=concurrency
        )
        lifecycle = build_lifecycle(settings, store, AuditLog(store), driver_options={"sim": {"lab": lab}})
        await lifecycle.start()
        try:
            result: dict[str, object] = {
                "gpus": gpus,
                "nodes": nodes,
                "latency_ms": latency_ms,
                "per_device_concurrency": concurrency,
            }
            for phase, action in (("create", "create"), ("release", "release")):
                calls_before = _calls(lab)
                seen = len(await lifecycle.events("bench", "big"))
                started = time.perf_counter()
                if action == "create":
                    await lifecycle.create(store, "bench", "big", ClusterSpec(nodes=nodes))
                else:
                    await lifecycle.release(store, "bench", "big")
                while True:
                    record = await read_cluster(store, cluster_key("bench", "big"))
                    assert record is not None
                    if record.state in RESTING and record.job is None:
                        break
                    await asyncio.sleep(0.02)
                wall = time.perf_counter() - started
                calls = _calls(lab) - calls_before
                events = await lifecycle.events("bench", "big")
                result[phase] = {
                    "state": record.state.value,
                    "wall_s": round(wall, 2),
                    "device_calls": calls,
                    "serial_sum_s": round(calls * latency_ms / 1000, 2),
                    "speedup": round(calls * latency_ms / 1000 / wall, 1) if wall else None,
                    "events": [f"{e.at[11:23]} {e.kind}: {e.message}" for e in events if e.seq > seen],
                }
            return result
        finally:
            await lifecycle.close()
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", type=int, default=4096)
    parser.add_argument("--nodes", type=int, default=128)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=2, help="calls in flight per device")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.gpus, args.nodes, args.latency_ms, args.concurrency)), indent=2))


if __name__ == "__main__":
    main()
