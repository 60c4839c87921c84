"""Discovery fixtures: a 16-GPU demo fabric (2 nodes, 14 switches) in the store and in a sim lab of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from metalgraph.drivers.parallel import NO_RETRY, DevicePool
from metalgraph.drivers.sim import SimLab
from metalgraph.server.devices.access import DeviceAccess
from metalgraph.server.devices.demo_lab import seed_lab, sim_options
from metalgraph.server.discovery.service import DiscoveryResult, discover
from metalgraph.server.inventory.demo import generate_fabric
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.inventory.service import import_inventory
from metalgraph.server.store.base import GraphStore

Discover = Callable[..., Awaitable[DiscoveryResult]]
TIMEOUT_S = 0.3


@pytest.fixture(scope="session")
def fabric() -> Inventory:
    return generate_fabric(16)


@pytest.fixture
async def demo_store(store: GraphStore, fabric: Inventory) -> GraphStore:
    await import_inventory(store, fabric)
    return store


@pytest.fixture
def lab(fabric: Inventory) -> SimLab:
    lab = SimLab()
    seed_lab(fabric, lab)
    return lab


@pytest.fixture
def access(lab: SimLab) -> DeviceAccess:
    return DeviceAccess(["bmc:sim", "switch:sim"], timeout_s=TIMEOUT_S, driver_options=sim_options(lab))


RunOn = Callable[[GraphStore], Discover]


@pytest.fixture
def run_on(access: DeviceAccess) -> RunOn:
    """`run_on(store)`: discovery on `store` through the lab, without retries (a failure is final at once)."""

    def bind(store: GraphStore) -> Discover:
        async def run(**options: Any) -> DiscoveryResult:
            options.setdefault("pool", DevicePool(per_device=2, total=16, timeout_s=TIMEOUT_S * 4, retry=NO_RETRY))
            return await discover(store, options.pop("access", access), **options)

        return run

    return bind


@pytest.fixture
def run(demo_store: GraphStore, run_on: RunOn) -> Discover:
    """Discovery on the demo store through the lab."""
    return run_on(demo_store)
