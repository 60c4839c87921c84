"""Servers as real processes (`metalgraph serve`), driven over HTTP GraphQL.

- A server killed with SIGKILL while it configures a cluster's network is started again on the
  same store and sim lab: the job resumes (after its lease runs out) and the cluster ends ready; its
  release then runs to the end. Embedded store (its data directory lock dies with the process) and
  Neo4j.
- Two servers on one Neo4j take 50 concurrent creates between them: no node or VLAN is booked twice.

After each, the graph invariants hold and the isolation report, read by the test through the same
persistent sim lab, is clean.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from metalgraph.drivers.sim import SimLab
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.labels import KEYED_LABELS
from metalgraph.server.lifecycle.records import cluster_key, read_cluster
from metalgraph.server.store.base import GraphStore
from metalgraph.server.store.falkordb_store import FalkorStore
from neo4j_server.runner import Neo4jServer

from .conftest import seed_store
from .invariants import assert_isolated, settle_all, used_vlans
from .processes import CLUSTER, CREATE, RELEASE, GraphQLError, Server, graphql, lab_access, persistent_lab

FRA_SWITCH_PREFIX = "sim://fra-"


@dataclass
class Deployment:
    """A seeded store and a persistent sim lab that server processes share."""

    kind: str
    env: dict[str, str]
    lab: SimLab
    workdir: Path
    neo4j: GraphStore | None = None

    @asynccontextmanager
    async def store(self) -> AsyncIterator[GraphStore]:
        """The store from the test process; for the embedded store, only while no server runs."""
        if self.neo4j is not None:
            yield self.neo4j
            return
        store = FalkorStore(self.workdir / "data", KEYED_LABELS)
        await store.start()
        try:
            yield store
        finally:
            await store.close()

    def server(self, name: str) -> Server:
        return Server(self.env, self.workdir / f"{name}.log")


@pytest.fixture
def workdir() -> Iterator[Path]:
    """Short: the embedded store's unix socket path must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="mg-lc-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


Backend = tuple[Neo4jServer, GraphStore] | None
"""A Neo4j server and the test's store on it; None for the embedded store."""


def _neo4j(request: pytest.FixtureRequest) -> Backend:
    server: Neo4jServer = request.getfixturevalue("neo4j_server")
    store: GraphStore = request.getfixturevalue("empty_neo4j_store")
    assert server.auth is None, "the serve processes connect without credentials"
    return server, store


@pytest.fixture(params=["embedded", "neo4j"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return _neo4j(request) if request.param == "neo4j" else None


@pytest.fixture
def neo4j_backend(request: pytest.FixtureRequest) -> Backend:
    return _neo4j(request)


async def _deploy(backend: Backend, fabric: Inventory, workdir: Path) -> Deployment:
    env = {"METALGRAPH_SIM_STATE_DIR": str(workdir / "sim")}
    lab = persistent_lab(workdir / "sim", fabric)
    tenants = ("acme", "bravo", "charlie", "delta")
    if backend is None:
        env |= {"METALGRAPH_STORE": "embedded", "METALGRAPH_DATA_DIR": str(workdir / "data")}
        deployment = Deployment("embedded", env, lab, workdir)
        async with deployment.store() as store:
            await seed_store(store, fabric, tenants)
        return deployment
    server, store = backend
    await seed_store(store, fabric, tenants)
    env |= {"METALGRAPH_STORE": server.uri}
    return Deployment("neo4j", env, lab, workdir, store)


@pytest.fixture
async def deployment(backend: Backend, fabric: Inventory, workdir: Path) -> Deployment:
    return await _deploy(backend, fabric, workdir)


@pytest.fixture
async def neo4j_deployment(neo4j_backend: Backend, fabric: Inventory, workdir: Path) -> Deployment:
    return await _deploy(neo4j_backend, fabric, workdir)


def set_switch_latency(lab: SimLab, prefix: str, latency_s: float) -> None:
    for address in sorted(a for a in lab.addresses() if a.startswith(prefix)):
        try:
            with lab.edit_switch(address) as switch:
                switch.faults.latency_s = latency_s
        except KeyError:
            continue  # a node


async def wait_state(server: Server, name: str, tenant: str, states: set[str], timeout_s: float = 120.0) -> dict:  # type: ignore[type-arg]
    async with server.client() as client, asyncio.timeout(timeout_s):
        while True:
            cluster = (await graphql(client, CLUSTER, name=name, tenant=tenant))["cluster"]
            if cluster["state"] in states:
                return cluster  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)


async def wait_progress(server: Server, name: str, tenant: str, timeout_s: float = 60.0) -> dict:  # type: ignore[type-arg]
    """The cluster once a progress event says that part, not all, of its switch ports are configured."""
    async with server.client() as client, asyncio.timeout(timeout_s):
        while True:
            cluster = (await graphql(client, CLUSTER, name=name, tenant=tenant))["cluster"]
            assert cluster["state"] in ("REQUESTED", "RESERVING", "CONFIGURING_NETWORK"), cluster
            if any(e["kind"] == "network" for e in cluster["events"]):
                return cluster  # type: ignore[no-any-return]
            await asyncio.sleep(0.02)


def carrying(lab: SimLab, vlan: int) -> int:
    """Ports of the EU site's switches that carry `vlan` on the device."""
    found = 0
    for address in sorted(a for a in lab.addresses() if a.startswith(FRA_SWITCH_PREFIX)):
        try:
            ports = lab.switch(address).ports.values()
        except KeyError:
            continue
        found += sum(p.access_vlan == vlan or vlan in p.allowed_vlans for p in ports)
    return found


async def test_a_server_killed_while_configuring_the_network_resumes_after_restart(deployment: Deployment) -> None:
    set_switch_latency(deployment.lab, FRA_SWITCH_PREFIX, 0.1)  # the network step takes a few seconds
    server = deployment.server("serve")
    await server.start()
    try:
        async with server.client() as client:
            await graphql(client, CREATE, name="slow", tenant="acme", nodes=2, sites=["eu-fra1"])
        half_way = await wait_progress(server, "slow", "acme")
        assert half_way["state"] == "CONFIGURING_NETWORK", "the kill must come in the middle of the network step"
        server.kill9()
        vlan = half_way["vlan"]
        assert vlan is not None
        carried_at_kill = carrying(deployment.lab, vlan)
        assert carried_at_kill > 0, "some ports were configured before the kill"

        await server.start()  # same store or data directory, same sim lab
        ready = await wait_state(server, "slow", "acme", {"READY", "FAILED"})
        assert ready["state"] == "READY", ready["reason"]
        assert ready["vlan"] == vlan
        assert carrying(deployment.lab, vlan) > carried_at_kill
        kinds = [e["kind"] for e in ready["events"]]
        assert kinds[0] == "requested" and kinds[-1] == "ready" and kinds.count("reserved") == 1

        set_switch_latency(deployment.lab, FRA_SWITCH_PREFIX, 0.0)
        async with server.client() as client:
            await graphql(client, RELEASE, name="slow", tenant="acme")
        released = await wait_state(server, "slow", "acme", {"RELEASED", "FAILED"})
        assert released["state"] == "RELEASED", released["reason"]
    finally:
        server.stop()
    async with deployment.store() as store:
        await assert_isolated(store, lab_access(deployment.lab))
        assert not await used_vlans(store)
        rows = await store.read("MATCH (n:Node) WHERE n.state <> 'available' RETURN count(n) AS n")
        assert rows[0]["n"] == 0


TENANTS = ("acme", "bravo", "charlie", "delta")


async def _owners(store: GraphStore, seen: set[str], stop: asyncio.Event) -> None:
    """Which server processes hold job leases (owner ids are `host:pid:random`)."""
    while not stop.is_set():
        rows = await store.read("MATCH (c:Cluster) WHERE coalesce(c.job_owner, '') <> '' RETURN c.job_owner AS o")
        seen.update(row["o"].split(":")[1] for row in rows)
        await asyncio.sleep(0.05)


async def test_two_server_processes_on_one_neo4j_never_double_book(neo4j_deployment: Deployment) -> None:
    deployment = neo4j_deployment
    store = deployment.neo4j
    assert store is not None
    servers = [deployment.server("serve-1"), deployment.server("serve-2")]
    await asyncio.gather(*(s.start() for s in servers))
    rng = random.Random(7)
    wanted = {(TENANTS[i % len(TENANTS)], f"c{i:02d}"): rng.randint(1, 4) for i in range(50)}
    try:
        clients = [s.client() for s in servers]

        async def create(i: int, tenant: str, name: str, size: int) -> str:
            try:
                await graphql(clients[i % 2], CREATE, name=name, tenant=tenant, nodes=size, sites=[])
            except GraphQLError as e:
                assert e.codes == {"INSUFFICIENT_CAPACITY"}, e
                return "refused"
            return "accepted"

        owners: set[str] = set()
        stop = asyncio.Event()
        sampler = asyncio.create_task(_owners(store, owners, stop))
        outcomes = await asyncio.gather(*(create(i, t, n, size) for i, ((t, n), size) in enumerate(wanted.items())))
        await settle_all(store, timeout_s=300)
        stop.set()
        await sampler
        assert len(owners) == 2, f"jobs ran in {len(owners)} server process(es)"

        ready = []
        booked: list[str] = []
        for (tenant, name), outcome in zip(wanted, outcomes, strict=True):
            record = await read_cluster(store, cluster_key(tenant, name))
            assert (record is None) == (outcome == "refused")
            if record is not None and record.state.value == "ready":
                assert len(record.members) == wanted[(tenant, name)]
                ready.append((tenant, name))
                booked += record.members
            elif record is not None:
                assert record.state.value == "failed" and record.reason and not record.members
        assert ready and len(booked) == len(set(booked)), "a node was booked twice"
        assert len(ready) < len(wanted), "demand exceeded supply"
        await assert_isolated(store, lab_access(deployment.lab))

        await asyncio.gather(*(graphql(clients[i % 2], RELEASE, name=n, tenant=t) for i, (t, n) in enumerate(ready)))
        await settle_all(store, timeout_s=300)
        for tenant, name in ready:
            record = await read_cluster(store, cluster_key(tenant, name))
            assert record is not None and record.state.value == "released", record
        await assert_isolated(store, lab_access(deployment.lab))
        assert not await used_vlans(store)
        for client in clients:
            await client.aclose()
    finally:
        for server in servers:
            server.stop()
