"""A cluster lifecycle whose leaf switch and one node's BMC are driven by the real drivers.

Real: the `snmp` driver against snmpsim (the leaf `lab-leaf`: its node ports and its uplink to the
spine get their VLANs by SNMP SETs of Q-BRIDGE-MIB), and the `redfish` driver against a loopback
Redfish service on recorded HGX H100 documents (`node-rf`: boot override, power, secure erase). Both
are reached the way a server reaches hardware: the graph names driver, address and a credentials
reference, resolved from a secrets file. Simulated (`sim` driver): a second leaf, the spine and the
BMCs of the two other nodes. See `real_peers` for the peers and the inventory.

What is asserted is read back from the peers through fresh driver instances (not the graph): the
VLANs of the leaf's ports after `ready` and after `released`, power state and boot override of
`node-rf`, the erase actions its BMC received; plus the isolation report (which itself reads every
switch through its driver) and the graph invariants.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from metalgraph.drivers.redfish import RedfishBmc
from metalgraph.drivers.sim import SimLab
from metalgraph.drivers.snmp import SnmpSwitch
from metalgraph.drivers.types import (
    BootDevice,
    BootOverride,
    Credentials,
    DeviceConfig,
    PowerState,
    SwitchportMode,
    VlanState,
)
from metalgraph.server.devices.demo_lab import seed_lab
from metalgraph.server.lifecycle.states import ClusterState
from metalgraph.server.placement.spec import ClusterSpec
from metalgraph.server.store.base import GraphStore

from . import real_peers as peers
from .conftest import Lab, lifecycle_settings, run_lab, seed_store

pytestmark = pytest.mark.slow
TENANT, CLUSTER = "acme", "train"
MEMBERS = {peers.RF_NODE, peers.SIM_NODE_SNMP_LEAF, peers.SIM_NODE_SIM_LEAF}
QUARANTINED = VlanState(SwitchportMode.ACCESS, access_vlan=peers.QUARANTINE)
IN_NO_VLAN = VlanState(SwitchportMode.ACCESS, access_vlan=None)
"""How Q-BRIDGE shows a trunk that carries nothing: the uplink once the cluster's VLAN left it."""


@pytest.fixture
async def leaf_agent(tmp_path: Path) -> AsyncIterator[peers.Agent]:
    """A fresh snmpsim agent per test: SETs persist in it, and each store's run starts clean."""
    async for agent in peers.start_leaf_agent(tmp_path / "snmp"):
        yield agent


@pytest.fixture
def fake_bmc() -> Iterator[Any]:
    bmc = peers.start_fake_bmc()
    try:
        yield bmc
    finally:
        bmc.stop()


@pytest.fixture
async def real_lab(store: GraphStore, leaf_agent: peers.Agent, fake_bmc: Any, tmp_path: Path) -> AsyncIterator[Lab]:
    inventory = peers.lab_inventory(leaf_agent.address, fake_bmc.url)
    await seed_store(store, inventory, tenants=(TENANT,))
    sim = SimLab()
    seed_lab(inventory, sim)
    for node in sim.nodes():
        node.cleaning_steps = 1
    settings = lifecycle_settings(
        tmp_path, secrets_file=peers.write_secrets(tmp_path / "secrets.toml"), device_timeout_s=5.0
    )
    options = {
        "sim": {"lab": sim},
        "redfish": {"poll_interval_s": 0.05},
        "snmp": {"version": "2c", "retries": 1},
    }
    async for running in run_lab(store, sim, inventory, settings, options):
        yield running


async def leaf_states(agent: peers.Agent) -> dict[str, VlanState]:
    """The leaf's VLAN state as the SNMP agent has it now, through a driver of the test's own."""
    async with SnmpSwitch(agent.v2c(peers.LEAF_COMMUNITY)) as leaf:
        return await leaf.get_vlan_states()


async def rf_power_and_boot(bmc: Any) -> tuple[PowerState, BootOverride]:
    """`node-rf`'s power state and boot override as its BMC reports them, through a fresh driver."""
    credentials = Credentials(username=peers.BMC_USERNAME, password=peers.BMC_PASSWORD)
    config = DeviceConfig(bmc.url, credentials, {"poll_interval_s": 0.05}, timeout_s=5.0)
    async with RedfishBmc(config) as driver:
        return await driver.get_power_state(), await driver.get_boot_override()


def erased_drives(bmc: Any) -> list[str]:
    """The drives `Drive.SecureErase` was posted to, in order."""
    action = "/Actions/Drive.SecureErase"
    return [path.removesuffix(action) for path in bmc.calls("POST") if path.endswith(action)]


async def node_states(lab: Lab) -> dict[str, str]:
    rows = await lab.store.read("MATCH (n:Node) RETURN n.key AS node, n.state AS state")
    return {row["node"]: row["state"] for row in rows}


async def create_ready(lab: Lab) -> int:
    """Create the three-node cluster, wait for `ready`; its VLAN."""
    await lab.lifecycle.create(lab.store, TENANT, CLUSTER, ClusterSpec(nodes=3))
    ready = await lab.settle(TENANT, CLUSTER)
    assert ready.state is ClusterState.READY, ready.reason
    assert set(ready.members) == MEMBERS
    assert ready.vlan in peers.VLAN_POOL
    return ready.vlan


async def test_cluster_on_an_snmp_leaf_and_a_redfish_bmc(real_lab: Lab, leaf_agent: peers.Agent, fake_bmc: Any) -> None:
    lab = real_lab
    before = await leaf_states(leaf_agent)
    assert [before[port] for port in peers.NODE_PORTS.values()] == [QUARANTINED, QUARANTINED]

    vlan = await create_ready(lab)
    on_leaf = await leaf_states(leaf_agent)
    tenant_access = VlanState(SwitchportMode.ACCESS, access_vlan=vlan)
    assert [on_leaf[port] for port in peers.NODE_PORTS.values()] == [tenant_access, tenant_access]
    assert on_leaf[peers.UPLINK] == VlanState(SwitchportMode.TRUNK, allowed_vlans=(vlan,))
    assert await rf_power_and_boot(fake_bmc) == (PowerState.ON, BootOverride(BootDevice.PXE, persistent=False))
    assert lab.lab.node(peers.SIM_NODE_SNMP_LEAF).power is PowerState.ON
    assert erased_drives(fake_bmc) == []
    report = await lab.check()
    assert report.switches_read == 3  # the SNMP leaf among them: read through its driver, not skipped

    await lab.lifecycle.release(lab.store, TENANT, CLUSTER)
    released = await lab.settle(TENANT, CLUSTER)
    assert released.state is ClusterState.RELEASED, released.reason
    await lab.check()
    after = await leaf_states(leaf_agent)
    assert [after[port] for port in peers.NODE_PORTS.values()] == [QUARANTINED, QUARANTINED]
    assert after[peers.UPLINK] == IN_NO_VLAN
    assert (await rf_power_and_boot(fake_bmc))[0] is PowerState.OFF
    assert erased_drives(fake_bmc) == list(peers.ERASABLE_DRIVES)
    assert await node_states(lab) == dict.fromkeys(MEMBERS, "available")
    assert "sanitized" in await lab.kinds(TENANT, CLUSTER)
