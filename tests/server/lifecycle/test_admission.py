"""A check added to `Admission` refuses an allocation, and then nothing at all is reserved: at the
request (no cluster is made), or in the job when it reserves (the cluster ends `failed`, a grow is
undone)."""

from __future__ import annotations

import pytest

from metalgraph.server.lifecycle.admission import Admission, AdmissionRefused, AdmissionRequest
from metalgraph.server.lifecycle.records import cluster_key, read_cluster
from metalgraph.server.lifecycle.states import ClusterState
from metalgraph.server.placement.spec import ClusterSpec
from metalgraph.server.store.base import GraphStore

from .conftest import Lab
from .invariants import used_vlans

GPU_LIMIT = 16


async def at_most_16_gpus(store: GraphStore, request: AdmissionRequest) -> None:
    """A quota of the kind the provider plugs in: GPUs per cluster."""
    rows = await store.read(
        "MATCH (c:Cluster {key: $key})-[:MEMBER]->(:Node)-[:HAS_GPU]->(g:GPU) RETURN count(g) AS gpus",
        {"key": f"{request.tenant}/{request.cluster}"},
    )
    held = int(rows[0]["gpus"]) if rows else 0
    if held + request.gpus > GPU_LIMIT:
        raise AdmissionRefused(
            f"tenant {request.tenant} may hold {GPU_LIMIT} GPUs per cluster, not {held + request.gpus}"
        )


ALLOCATED = "MATCH (n:Node) WHERE n.state <> 'available' OR (n)<-[:MEMBER]-() RETURN count(n) AS n"


async def test_a_refusing_check_leaves_nothing_reserved(lab: Lab) -> None:
    await lab.lifecycle.close()  # the first server keeps taking requests (default checks) but runs no job
    strict = lab.make(admission=Admission((*Admission.default().checks, at_most_16_gpus)))
    await strict.start()

    with pytest.raises(AdmissionRefused, match="not 24"):  # refused at the request: no cluster at all
        await strict.create(lab.store, "acme", "big", ClusterSpec(nodes=3))
    assert await read_cluster(lab.store, cluster_key("acme", "big")) is None

    # accepted by a server without the rule, refused by the one that runs the job when it reserves
    await lab.lifecycle.create(lab.store, "acme", "late", ClusterSpec(nodes=3))
    late = await lab.settle("acme", "late")
    assert late.state is ClusterState.FAILED
    assert "may hold 16 GPUs per cluster, not 24" in late.reason
    assert not late.members and late.vlan is None
    events = await strict.events("acme", "late")
    assert [e.kind for e in events] == ["requested", "reserving", "failed", "detached", "rolled_back"]
    assert "not 24" in events[-1].message
    assert (await lab.store.read(ALLOCATED))[0]["n"] == 0
    assert not await used_vlans(lab.store)
    await lab.check()

    await strict.create(lab.store, "acme", "small", ClusterSpec(nodes=2))  # 16 GPUs: admitted
    small = await lab.settle("acme", "small")
    assert small.state is ClusterState.READY, small.reason
    await strict.grow(lab.store, "acme", "small", 1)
    refused = await lab.settle("acme", "small")
    assert refused.state is ClusterState.READY and refused.members == small.members
    last = (await strict.events("acme", "small"))[-1]
    assert last.kind == "rolled_back" and "grow undone" in last.message and "not 24" in last.message
    assert (await lab.store.read(ALLOCATED))[0]["n"] == 2
    await lab.check()
