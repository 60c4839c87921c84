"""A lifecycle on a small demo fabric whose devices are simulated in a lab of the test's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from metalgraph.drivers.sim import SimLab
from metalgraph.server.audit import AuditLog
from metalgraph.server.devices.demo_lab import seed_lab
from metalgraph.server.inventory import service
from metalgraph.server.inventory.demo import FabricParams, generate_fabric
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.isolation import IsolationReport
from metalgraph.server.lifecycle.admission import Admission
from metalgraph.server.lifecycle.records import ClusterRecord, cluster_key, read_cluster
from metalgraph.server.lifecycle.service import Lifecycle
from metalgraph.server.lifecycle.setup import build_lifecycle
from metalgraph.server.lifecycle.states import RESTING
from metalgraph.server.settings import Settings
from metalgraph.server.store.base import GraphStore
from metalgraph.server.tenancy.tenants import create_tenant

from .invariants import assert_isolated

FABRIC_GPUS = 512
"""64 nodes in 2 scalable units of one spine pod, plus the small EU site."""
FABRIC = FabricParams(spines_per_pod=4, leaf_uplinks=4, spine_uplinks=8)
"""The demo's shape with 4 uplinks per leaf instead of 32 (104 cables instead of 776): a cluster's
VLAN reaches a few dozen trunk ports rather than 500, which keeps the many-cluster tests quick."""


@dataclass
class Lab:
    store: GraphStore
    lab: SimLab
    inventory: Inventory
    lifecycle: Lifecycle
    make: Callable[..., Lifecycle]
    """Another lifecycle on the same store and lab: a second server (`make(admission=...)`)."""

    async def settle(self, tenant: str, name: str, timeout_s: float = 60.0) -> ClusterRecord:
        """Wait until the cluster's job is over; its record then."""
        key = cluster_key(tenant, name)
        async with asyncio.timeout(timeout_s):
            while True:
                record = await read_cluster(self.store, key)
                assert record is not None
                if record.state in RESTING and record.job is None:
                    return record
                await asyncio.sleep(0.05)

    async def check(self, *, unreachable: Iterable[str] = ()) -> IsolationReport:
        """Once every job has settled: the graph invariants hold and the isolation report is clean
        (see `invariants`); switches in `unreachable` are known to be down."""
        return await assert_isolated(self.store, self.lifecycle.ctx.access, unreachable=unreachable)

    async def kinds(self, tenant: str, name: str) -> list[str]:
        return [e.kind for e in await self.lifecycle.events(tenant, name)]


def lifecycle_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "job_lease_s": 2.0,
        "job_poll_s": 0.05,
        "sanitize_poll_s": 0.02,
        "device_timeout_s": 1.0,
        "held_vlan_retry_s": 3600.0,  # tests that want the retry turn it up (`lifecycle.held.retry_s`)
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def fabric() -> Inventory:
    return generate_fabric(FABRIC_GPUS, params=FABRIC)


async def seed_store(store: GraphStore, fabric: Inventory, tenants: tuple[str, ...] = ("acme", "bravo")) -> None:
    """The fabric with every node healthy and free, and the tenants."""
    await service.import_inventory(store, fabric)
    await store.write_atomically([("MATCH (n:Node) SET n.health = 'ok', n.state = 'available'", {})])
    for tenant in tenants:
        await create_tenant(store, tenant)


@pytest.fixture
async def lab(store: GraphStore, fabric: Inventory, tmp_path: Path) -> AsyncIterator[Lab]:
    await seed_store(store, fabric)
    sim = SimLab()
    seed_lab(fabric, sim)
    for node in sim.nodes():
        node.cleaning_steps = 1
    async for running in run_lab(store, sim, fabric, lifecycle_settings(tmp_path), {"sim": {"lab": sim}}):
        yield running


async def run_lab(
    store: GraphStore, sim: SimLab, inventory: Inventory, settings: Settings, driver_options: dict[str, dict[str, Any]]
) -> AsyncIterator[Lab]:
    """A started lifecycle on `store`, and the means to start more (`Lab.make`); all closed at the end."""
    started: list[Lifecycle] = []

    def make(admission: Admission | None = None) -> Lifecycle:
        made = build_lifecycle(settings, store, AuditLog(store), driver_options=driver_options, admission=admission)
        started.append(made)
        return made

    first = make()
    await first.start()
    try:
        yield Lab(store, sim, inventory, first, make)
    finally:
        for made in started:
            await made.close()
