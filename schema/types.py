"""GraphQL object types of the topology graph. Each wraps the stored properties of one vertex and
reaches its neighbours through the request's DataLoaders."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from metalgraph.server.inventory import model
from metalgraph.server.topology.reader import Props, Related, Relation

from .context import Context

NodeState = strawberry.enum(model.NodeState)
PowerState = strawberry.enum(model.PowerState)
Health = strawberry.enum(model.Health)
NicRole = strawberry.enum(model.NicRole)
SwitchRole = strawberry.enum(model.SwitchRole)
PortMode = strawberry.enum(model.PortMode)
PciePath = strawberry.enum(model.PciePath)

Ctx = Info[Context, None]


async def _one(info: Ctx, relation: Relation, key: str) -> Related | None:
    items = await info.context.loaders.related(relation).load(key)
    return items[0] if items else None


async def _many(info: Ctx, relation: Relation, key: str) -> list[Related]:
    return await info.context.loaders.related(relation).load(key)


class Wrapped:
    """A GraphQL object backed by stored properties."""

    _p: strawberry.Private[Props]

    @property
    def key(self) -> str:
        return str(self._p["key"])


@strawberry.type(description="A data centre site: the unit of data residency.")
class Site(Wrapped):
    def __init__(self, props: Props) -> None:
        self._p = props

    @strawberry.field
    def name(self) -> str:
        return self._p["name"]

    @strawberry.field
    def region(self) -> str:
        return self._p.get("region", "")

    @strawberry.field(description="ISO 3166 country code.")
    def country(self) -> str:
        return self._p.get("country", "")

    @strawberry.field(description="Legal jurisdiction for data residency, e.g. `EU`.")
    def jurisdiction(self) -> str:
        return self._p.get("jurisdiction", "")

    @strawberry.field(description="Compliance certifications, e.g. `HIPAA`.")
    def certifications(self) -> list[str]:
        return list(self._p.get("certifications", []))

    @strawberry.field
    async def racks(self, info: Ctx) -> list[Rack]:
        return [Rack(r.props) for r in await _many(info, Relation("Site", "HAS_RACK", "Rack"), self.key)]


@strawberry.type
class Rack(Wrapped):
    def __init__(self, props: Props) -> None:
        self._p = props

    @strawberry.field
    def name(self) -> str:
        return self._p["name"]

    @strawberry.field
    def row(self) -> str:
        return self._p.get("row", "")

    @strawberry.field
    async def site(self, info: Ctx) -> Site | None:
        props = await info.context.loaders.vertex("Site").load(self._p["site"])
        return Site(props) if props else None

    @strawberry.field
    async def nodes(self, info: Ctx) -> list[Node]:
        return [Node(r.props) for r in await _many(info, Relation("Rack", "HOLDS", "Node"), self.key)]

    @strawberry.field
    async def switches(self, info: Ctx) -> list[Switch]:
        return [Switch(r.props) for r in await _many(info, Relation("Rack", "HOLDS", "Switch"), self.key)]


@strawberry.type
class Bmc:
    driver: str
    address: str


@strawberry.type(description="A bare-metal server.")
class Node(Wrapped):
    def __init__(self, props: Props) -> None:
        self._p = props

    @strawberry.field
    def name(self) -> str:
        return self._p["name"]

    @strawberry.field
    def serial(self) -> str:
        return self._p.get("serial", "")

    @strawberry.field
    def vendor(self) -> str:
        return self._p.get("vendor", "")

    @strawberry.field
    def model(self) -> str:
        return self._p.get("model", "")

    @strawberry.field
    def cpu_model(self) -> str:
        return self._p.get("cpu_model", "")

    @strawberry.field
    def cpu_cores(self) -> int:
        return int(self._p.get("cpu_cores", 0))

    @strawberry.field
    def memory_gb(self) -> float:
        return float(self._p.get("memory_gb", 0))

    @strawberry.field
    def storage_gb(self) -> float:
        return float(self._p.get("storage_gb", 0))

    @strawberry.field
    def state(self) -> NodeState:  # type: ignore[valid-type]
        return model.NodeState(self._p.get("state", "available"))

    @strawberry.field
    def power_state(self) -> PowerState:  # type: ignore[valid-type]
        return model.PowerState(self._p.get("power_state", "unknown"))

    @strawberry.field
    def health(self) -> Health:  # type: ignore[valid-type]
        return model.Health(self._p.get("health", "unknown"))

    @strawberry.field(description="How the BMC is reached (driver and address; never credentials).")
    def bmc(self) -> Bmc | None:
        if "bmc_driver" not in self._p:
            return None
        return Bmc(driver=self._p["bmc_driver"], address=self._p["bmc_address"])

    @strawberry.field
    async def rack(self, info: Ctx) -> Rack | None:
        props = await info.context.loaders.vertex("Rack").load(self._p["rack"])
        return Rack(props) if props else None

    @strawberry.field(description="Rack unit position.")
    async def u(self, info: Ctx) -> int | None:
        held = await _one(info, Relation("Node", "HOLDS", "Rack", "in"), self.key)
        return held.edge.get("u") if held else None

    @strawberry.field
    async def gpus(self, info: Ctx) -> list[Gpu]:
        return [Gpu(r.props) for r in await _many(info, Relation("Node", "HAS_GPU", "GPU"), self.key)]

    @strawberry.field
    async def nics(self, info: Ctx, role: NicRole | None = None) -> list[Nic]:  # type: ignore[valid-type]
        items = await _many(info, Relation("Node", "HAS_NIC", "NIC"), self.key)
        return [Nic(r.props) for r in items if role is None or r.props.get("role") == _value(role)]


def _value(enum_member: Any) -> Any:
    return getattr(enum_member, "value", enum_member)


@strawberry.type(description="A GPU and its place in the NVLink and PCIe topology.")
class Gpu(Wrapped):
    def __init__(self, props: Props) -> None:
        self._p = props

    @strawberry.field
    def uuid(self) -> str:
        return self._p["uuid"]

    @strawberry.field
    def index(self) -> int:
        return int(self._p["index"])

    @strawberry.field
    def model(self) -> str:
        return self._p["model"]

    @strawberry.field
    def memory_gb(self) -> float:
        return float(self._p["memory_gb"])

    @strawberry.field(description="The NVLink clique this GPU belongs to (a node, or an NVL72 rack).")
    def nvlink_domain(self) -> str:
        return self._p.get("nvlink_domain", "")

    @strawberry.field
    async def node(self, info: Ctx) -> Node | None:
        props = await info.context.loaders.vertex("Node").load(self._p["node"])
        return Node(props) if props else None

    @strawberry.field(description="GPUs this one reaches over NVLink, with the number of links.")
    async def nvlink_peers(self, info: Ctx) -> list[NvLinkPeer]:
        out = await _many(info, Relation("GPU", "NVLINK", "GPU"), self.key)
        inn = await _many(info, Relation("GPU", "NVLINK", "GPU", "in"), self.key)
        peers = [NvLinkPeer(gpu=Gpu(r.props), links=int(r.edge.get("links", 1))) for r in out + inn]
        return sorted(peers, key=lambda p: p.gpu.index())

    @strawberry.field(description="NICs by PCIe distance, nearest first (PIX < PXB < PHB < NODE < SYS).")
    async def nics(self, info: Ctx) -> list[PcieAffinity]:
        items = await _many(info, Relation("GPU", "PCIE", "NIC"), self.key)
        order = [p.value for p in model.PciePath]
        found = [PcieAffinity(nic=Nic(r.props), path=model.PciePath(r.edge["path"])) for r in items]
        return sorted(found, key=lambda a: (order.index(_value(a.path)), a.nic.name()))


@strawberry.type
class NvLinkPeer:
    gpu: Gpu
    links: int


@strawberry.type
class PcieAffinity:
    nic: Nic
    path: PciePath  # type: ignore[valid-type]


@strawberry.type(description="A network interface of a node.")
class Nic(Wrapped):
    def __init__(self, props: Props) -> None:
        self._p = props

    @strawberry.field
    def name(self) -> str:
        return self._p["name"]

    @strawberry.field
    def mac(self) -> str:
        return self._p["mac"]

    @strawberry.field
    def speed_gbps(self) -> float:
        return float(self._p["speed_gbps"])

    @strawberry.field
    def role(self) -> NicRole:  # type: ignore[valid-type]
        return model.NicRole(self._p.get("role", "backend"))

    @strawberry.field(description="The rail of a backend NIC (rail-optimized fabrics).")
    def rail(self) -> int | None:
        return self._p.get("rail")

    @strawberry.field
    async def node(self, info: Ctx) -> Node | None:
        props = await info.context.loaders.vertex("Node").load(self._p["node"])
        return Node(props) if props else None

    @strawberry.field(description="The switch port this NIC is cabled to.")
    async def port(self, info: Ctx) -> Port | None:
        cable = await _one(info, Relation("NIC", "CABLED", "Port"), self.key)
        return Port(cable.props) if cable else None

    @strawberry.field(description="Speed of the cable to the switch: the slower of NIC and port.")
    async def link_speed_gbps(self, info: Ctx) -> float | None:
        cable = await _one(info, Relation("NIC", "CABLED", "Port"), self.key)
        return float(cable.edge["speed_gbps"]) if cable else None


@strawberry.type(description="A switch in the backend, frontend or management network.")
class Switch(Wrapped):
    def __init__(self, props: Props) -> None:
        self._p = props

    @strawberry.field
    def name(self) -> str:
        return self._p["name"]

    @strawberry.field
    def role(self) -> SwitchRole:  # type: ignore[valid-type]
        return model.SwitchRole(self._p["role"])

    @strawberry.field
    def model(self) -> str:
        return self._p.get("model", "")

    @strawberry.field
    def mgmt_address(self) -> str:
        return self._p.get("mgmt_address", "")

    @strawberry.field(description="Name of the driver that manages this switch.")
    def driver(self) -> str:
        return self._p.get("driver", "")

    @strawberry.field(description="The spine pod (block) of a leaf or spine.")
    def pod(self) -> str:
        return self._p.get("pod", "")

    @strawberry.field
    async def rack(self, info: Ctx) -> Rack | None:
        props = await info.context.loaders.vertex("Rack").load(self._p["rack"])
        return Rack(props) if props else None

    @strawberry.field
    async def ports(self, info: Ctx) -> list[Port]:
        return [Port(r.props) for r in await _many(info, Relation("Switch", "HAS_PORT", "Port"), self.key)]


@strawberry.type(description="A switch port.")
class Port(Wrapped):
    def __init__(self, props: Props) -> None:
        self._p = props

    @strawberry.field
    def name(self) -> str:
        return self._p["name"]

    @strawberry.field
    def index(self) -> int:
        return int(self._p["index"])

    @strawberry.field
    def speed_gbps(self) -> float:
        return float(self._p["speed_gbps"])

    @strawberry.field
    def mode(self) -> PortMode:  # type: ignore[valid-type]
        return model.PortMode(self._p.get("mode", "access"))

    @strawberry.field
    def access_vlan(self) -> int | None:
        return self._p.get("access_vlan")

    @strawberry.field
    def allowed_vlans(self) -> list[int]:
        return list(self._p.get("allowed_vlans", []))

    @strawberry.field
    def oper_status(self) -> str:
        return self._p.get("oper_status", "unknown")

    @strawberry.field
    async def switch(self, info: Ctx) -> Switch | None:
        props = await info.context.loaders.vertex("Switch").load(self._p["switch"])
        return Switch(props) if props else None

    @strawberry.field(description="The NIC cabled to this port, if a node is attached.")
    async def nic(self, info: Ctx) -> Nic | None:
        cable = await _one(info, Relation("Port", "CABLED", "NIC", "in"), self.key)
        return Nic(cable.props) if cable else None

    @strawberry.field(description="The switch port at the other end of this port's cable, if it is a fabric link.")
    async def peer(self, info: Ctx) -> Port | None:
        cable = await _one(info, Relation("Port", "CABLED", "Port"), self.key) or await _one(
            info, Relation("Port", "CABLED", "Port", "in"), self.key
        )
        return Port(cable.props) if cable else None


@strawberry.type(description="A cable between two switch ports.")
class Link:
    a: Port
    b: Port
    speed_gbps: float
