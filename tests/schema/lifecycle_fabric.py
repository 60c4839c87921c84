"""A small fabric whose switches and BMCs are simulated, for running cluster jobs end to end.

Two leaves (two nodes each, 8 H100 each) under one spine, in one site. Every name carries a random
prefix: the sim lab is process-wide, and a test's devices must not be another test's. `forget` takes
them out of the lab again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from metalgraph.drivers.sim import default_lab
from metalgraph.server.devices.demo_lab import forget_sim_devices
from metalgraph.server.inventory import model

NODES_PER_LEAF = 2
GPUS = 8


def sim_node(name: str, rack: str, index: int, gpus: int, mac: str, port: model.PortRef) -> model.Node:
    """A node of `gpus` H100 (its own NVLink domain) whose BMC is simulated, with one backend NIC on `port`."""
    return model.Node(
        name=name,
        rack=rack,
        u=1 + index,
        serial=f"SN-{name}",
        cpu_cores=112,
        memory_gb=2048,
        storage_gb=30_000,
        health=model.Health.OK,
        bmc=model.Bmc(driver="sim", address=f"sim://{name}"),
        gpus=tuple(
            model.Gpu(index=g, uuid=f"GPU-{name}-{g}", model="H100", memory_gb=80, nvlink_domain=name)
            for g in range(gpus)
        ),
        nics=(model.Nic(name="ib0", mac=mac, speed_gbps=400, rail=0, port=port),),
    )


@dataclass(frozen=True)
class SimFabric:
    prefix: str
    site: str
    leaves: tuple[str, ...]
    spine: str
    nodes: tuple[str, ...]

    def inventory(self) -> model.Inventory:
        rack = f"{self.prefix}rack"
        switches = []
        links = []
        for li, leaf in enumerate(self.leaves):
            ports = [
                model.Port(name=f"swp{i + 1}", index=i + 1, speed_gbps=400, oper_status="up")
                for i in range(NODES_PER_LEAF)
            ]
            ports.append(model.Port(name="up1", index=49, speed_gbps=800, mode=model.PortMode.TRUNK, oper_status="up"))
            switches.append(self._switch(leaf, rack, model.SwitchRole.LEAF, ports))
            links.append(
                model.Link(
                    a=model.PortRef(switch=leaf, port="up1"),
                    b=model.PortRef(switch=self.spine, port=f"swp{li + 1}"),
                    speed_gbps=800,
                )
            )
        downs = [
            model.Port(name=f"swp{i + 1}", index=i + 1, speed_gbps=800, mode=model.PortMode.TRUNK, oper_status="up")
            for i in range(len(self.leaves))
        ]
        switches.append(self._switch(self.spine, rack, model.SwitchRole.SPINE, downs))
        nodes = []
        for i, name in enumerate(self.nodes):
            leaf = self.leaves[i // NODES_PER_LEAF]
            port = model.PortRef(switch=leaf, port=f"swp{i % NODES_PER_LEAF + 1}")
            nodes.append(sim_node(name, rack, i, GPUS, f"02:{0x5A:02x}:00:00:{i:02x}:00", port))
        return model.Inventory(
            sites=(model.Site(name=self.site, region="us-east", country="US", jurisdiction="US"),),
            racks=(model.Rack(name=rack, site=self.site, row="A"),),
            switches=tuple(switches),
            nodes=tuple(nodes),
            links=tuple(links),
        )

    def _switch(self, name: str, rack: str, role: model.SwitchRole, ports: list[model.Port]) -> model.Switch:
        return model.Switch(
            name=name, rack=rack, role=role, pod="pod-1", driver="sim", mgmt_address=f"sim://{name}", ports=tuple(ports)
        )

    def forget(self) -> None:
        names = (*self.leaves, self.spine, *self.nodes)
        forget_sim_devices(default_lab(), [f"sim://{n}" for n in names])


def sim_fabric() -> SimFabric:
    p = f"lc{secrets.token_hex(3)}-"
    leaves = (f"{p}leaf-1", f"{p}leaf-2")
    nodes = tuple(f"{p}n{i + 1}" for i in range(NODES_PER_LEAF * len(leaves)))
    return SimFabric(prefix=p, site=f"{p}site", leaves=leaves, spine=f"{p}spine", nodes=nodes)
