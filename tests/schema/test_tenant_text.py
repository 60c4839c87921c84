"""What a tenant reads in the server's text about its cluster when a device fails: a switch's error names
every tenant's VLANs on a shared trunk and the switch's host; the tenant reads its own VLAN of the
cluster's site only, and no host."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from metalgraph.drivers.errors import ChangeRejected
from metalgraph.drivers.sim import default_lab
from metalgraph.drivers.sim.switch import SimSwitch
from metalgraph.server.devices.demo_lab import forget_sim_devices
from metalgraph.server.store.base import GraphStore

sys.path.append(str(Path(__file__).parent))  # the helpers next to this file

from tenant_world import A_VLANS, B_CLUSTERS, B_FAR_CLUSTER, B_VLAN, SHARED_LEAF, World, open_world, world_inventory

HOST = "leaf-shared.oob.example.net"
SEEN = f"trunk native 1 allowed [{B_VLAN}, {A_VLANS[0]}, {A_VLANS[1]}]"
"""A's VLANs of site 1 on the shared leaf's trunk, one of which B holds in site 2 (B_FAR_CLUSTER)."""
SAID = f"; VLANs {B_VLAN}, {A_VLANS[0]}, {A_VLANS[1]}; allowed vlans {A_VLANS[0]},{A_VLANS[1]}"


def _refusing(port: str) -> ChangeRejected:
    """What the SNMP driver raises when a switch did not keep a change (its read-back), with more
    lists of VLAN ids the way firmware writes them."""
    message = f"read-back of {port} shows {SEEN}, expected allowed [{B_VLAN}]{SAID}"
    return ChangeRejected(message, device=HOST)


@pytest.fixture
async def world(store: GraphStore, tmp_path: Path) -> AsyncIterator[World]:
    fresh = [f"sim://{s.name}" for s in world_inventory().switches]
    forget_sim_devices(default_lab(), fresh)  # the switches as the world's graph has them, not as tests left them
    async with open_world(store, tmp_path) as w:
        yield w
    forget_sim_devices(default_lab(), fresh)


async def _settled(world: World, name: str) -> dict[str, Any]:
    query = f'{{ cluster(name: "{name}") {{ state reason events {{ kind message }} }} }}'
    for _ in range(600):
        found = (await world.ok("b_member", query))["cluster"]
        if found["state"] in ("FAILED", "READY"):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} did not settle")


async def test_a_driver_error_in_a_cluster_s_reason_shows_b_its_own_vlan_of_the_site_and_no_host(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert B_CLUSTERS[B_FAR_CLUSTER][0] == A_VLANS[0], "B holds A's site-1 VLAN in site 2"
    real_access = SimSwitch.set_access_vlan

    async def not_kept(self: SimSwitch, port: str, vlan: int) -> None:
        if self.address.endswith(SHARED_LEAF):
            raise _refusing(port)
        await real_access(self, port, vlan)

    monkeypatch.setattr(SimSwitch, "set_access_vlan", not_kept)
    await world.ok("admin", 'mutation { setNodeStatus(name: "free-n1", health: OK) { name } }')
    await world.ok("b_admin", 'mutation { createCluster(name: "bravo-doomed", spec: {nodes: 1}) { name } }')
    found = await _settled(world, "bravo-doomed")
    assert found["state"] == "FAILED" and "read-back" in found["reason"], found
    log = await world.ok("b_admin", "{ auditLog(first: 100) { edges { node { operation detail } } } }")
    details = [e["node"]["detail"] for e in log["auditLog"]["edges"] if "read-back" in e["node"]["detail"]]
    assert details, log
    read = [found["reason"], *(e["message"] for e in found["events"]), *details]
    for text in read:
        assert "oob.example" not in text and str(A_VLANS[0]) not in text and str(A_VLANS[1]) not in text, text
    shown = f"an address: read-back of eth-free-1 shows trunk native (hidden) allowed [{B_VLAN}, (hidden)], "
    assert shown + f"expected allowed [{B_VLAN}]; VLANs {B_VLAN}, (hidden); allowed vlans (hidden)" in found["reason"]
    provider = await world.ok("admin", '{ cluster(name: "bravo-doomed", tenant: "bravo-co") { reason } }')
    assert str(_refusing("eth-free-1")) in provider["cluster"]["reason"], "providers read it as it is"
