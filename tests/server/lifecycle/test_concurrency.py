"""Many requests at once, on two servers sharing one store, never book a node or a VLAN twice.

50 creates of 1-4 nodes from four tenants (about twice the 64 nodes of the fabric) are split over
two `Lifecycle`s (two servers) and fired together; the two then run the jobs side by side. Some
requests end `failed` for want of nodes, the rest end `ready`. Then every ready cluster is
released at once. After each wave the invariants hold and the isolation report is clean. A request
fails only for want of nodes, never for losing races to the others.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from metalgraph.server.lifecycle.records import ClusterRecord, cluster_key, read_cluster
from metalgraph.server.lifecycle.reserve import CannotPlace
from metalgraph.server.lifecycle.service import Lifecycle
from metalgraph.server.lifecycle.states import ClusterState
from metalgraph.server.placement.spec import ClusterSpec
from metalgraph.server.tenancy.tenants import create_tenant

from .conftest import Lab
from .invariants import settle_all, used_vlans

TENANTS = ("acme", "bravo", "charlie", "delta")
REQUESTS = 50
FABRIC_NODES = 64


async def _sample_running(servers: tuple[Lifecycle, ...], seen: list[set[str]], stop: asyncio.Event) -> None:
    """Note which server runs which job, to show that both took part."""
    while not stop.is_set():
        for server, keys in zip(servers, seen, strict=True):
            keys.update(server.runner.running)
        await asyncio.sleep(0.01)


async def test_fifty_concurrent_creates_on_two_servers_never_double_book(lab: Lab) -> None:
    for tenant in TENANTS[2:]:
        await create_tenant(lab.store, tenant)
    await lab.lifecycle.close()  # both servers start working together once the requests are in:
    second = lab.make()  # otherwise the first one to look may claim every job alone
    servers = (lab.lifecycle, second)
    rng = random.Random(20250)
    wanted = {(TENANTS[i % len(TENANTS)], f"c{i:02d}"): rng.randint(1, 4) for i in range(REQUESTS)}
    assert sum(wanted.values()) > FABRIC_NODES, "more demand than supply"

    async def ask(i: int, tenant: str, name: str, size: int) -> str:
        try:
            await servers[i % 2].create(lab.store, tenant, name, ClusterSpec(nodes=size))
        except CannotPlace:
            return "refused"
        return "accepted"

    seen: list[set[str]] = [set(), set()]
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_running(servers, seen, stop))
    outcomes = await asyncio.gather(
        *(ask(i, tenant, name, size) for i, ((tenant, name), size) in enumerate(wanted.items()))
    )
    await asyncio.gather(*(server.start() for server in servers))
    await settle_all(lab.store, timeout_s=240)
    stop.set()
    await sampler

    records: dict[tuple[str, str], ClusterRecord] = {}
    for (tenant, name), outcome in zip(wanted, outcomes, strict=True):
        record = await read_cluster(lab.store, cluster_key(tenant, name))
        assert (record is None) == (outcome == "refused")
        if record is not None:
            records[(tenant, name)] = record
    states = Counter(r.state for r in records.values())
    assert set(states) <= {ClusterState.READY, ClusterState.FAILED}, states
    ready = {k: r for k, r in records.items() if r.state is ClusterState.READY}
    assert ready, "some clusters must be provisioned"
    assert outcomes.count("refused") + states[ClusterState.FAILED] > 0, "demand exceeded supply"
    for key, record in records.items():
        if record.state is ClusterState.READY:
            assert len(record.members) == wanted[key]
        else:
            assert record.reason and not record.members and record.vlan is None
    members = [n for r in ready.values() for n in r.members]
    assert len(members) == len(set(members)) <= FABRIC_NODES, "a node was booked twice"
    free = FABRIC_NODES - len(members)  # free nodes only became fewer during the wave
    for key, record in records.items():
        if record.state is ClusterState.FAILED:
            assert wanted[key] > free, f"{key} failed with {free} nodes free: {record.reason}"
    vlans = [(r.site, r.vlan) for r in ready.values()]
    assert len(vlans) == len(set(vlans)), "a VLAN was given twice"
    assert all(seen), f"both servers ran jobs: {[len(s) for s in seen]}"
    await lab.check()

    async def release(i: int, tenant: str, name: str) -> None:
        await servers[i % 2].release(lab.store, tenant, name)

    await asyncio.gather(*(release(i, tenant, name) for i, (tenant, name) in enumerate(ready)))
    await settle_all(lab.store, timeout_s=240)
    for tenant, name in ready:
        record = await read_cluster(lab.store, cluster_key(tenant, name))
        assert record is not None and record.state is ClusterState.RELEASED, record
    assert not await used_vlans(lab.store)
    rows = await lab.store.read("MATCH (n:Node) RETURN n.state AS state, count(n) AS n")
    assert {row["state"]: row["n"] for row in rows} == {"available": FABRIC_NODES}
    await lab.check()
