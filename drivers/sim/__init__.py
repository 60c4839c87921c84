"""Simulated BMCs and switches with fault injection, for tests, demos and the conformance kit.

lab = default_lab()                      # or SimLab() passed as DeviceConfig(options={"lab": lab})
leaf = lab.add_switch("leaf-01", ports=32)
leaf.port("swp1").neighbour = SimNeighbour("02:00:00:00:00:01", "node-01", "eth0")
node = lab.add_node("node-01")
leaf.faults.flapping_ports.add("swp2")
async with SimSwitch(DeviceConfig("sim://leaf-01")) as switch:
    ports = await switch.get_ports()

SimLab(state_dir=path) (or METALGRAPH_SIM_STATE_DIR for the default lab) keeps the devices in files
shared by processes; change them there inside `with lab.edit_switch("leaf-01") as leaf:`.
"""

from .bmc import SimBmc
from .faults import Faults
from .lab import STATE_DIR_ENV, SimLab, default_inventory, default_lab, new_node, new_switch, sim_address
from .state import NodeState, SimJob, SimNeighbour, SimPort, SwitchState, fake_mac
from .switch import SimSwitch

__all__ = [
    "STATE_DIR_ENV",
    "Faults",
    "NodeState",
    "SimBmc",
    "SimJob",
    "SimLab",
    "SimNeighbour",
    "SimPort",
    "SimSwitch",
    "SwitchState",
    "default_inventory",
    "default_lab",
    "fake_mac",
    "new_node",
    "new_switch",
    "sim_address",
]
