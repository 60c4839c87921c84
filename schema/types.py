"""GraphQL object types of the topology graph. Each wraps the stored properties of one vertex and
reaches its neighbours through the request's DataLoaders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from metalgraph.server.inventory import model
from metalgraph.server.inventory.model import (
    MAX_GPUS_PER_NODE,
    MAX_NICS_PER_NODE,
    MAX_NODES_PER_RACK,
    MAX_PORTS_PER_SWITCH,
    MAX_RACKS_PER_SITE,
    MAX_SWITCHES_PER_RACK,
)
from metalgraph.server.inventory.vlans import DEFAULT_QUARANTINE_VLAN, DEFAULT_VLAN_POOL
from metalgraph.server.topology.reader import Props, Related, Relation

from .context import Context
from .cost import max_items

if TYPE_CHECKING:
    from .tenancy_types import Cluster

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
    """A GraphQL object backed by the stored properties of one vertex.

    Scalar fields are plain attributes set at construction, so GraphQL reads them without a
    resolver call (a page of 100 nodes has thousands of them); only edges to other vertices
    have resolvers, which go through the request's DataLoaders.
    """

    _p: strawberry.Private[Props]

    @property
    def key(self) -> str:
        return str(self._p["key"])


@strawberry.type(description="A data centre site: the unit of data residency.")
class Site(Wrapped):
    name: str
    region: str
    country: str = strawberry.field(description="ISO 3166 country code.")
    jurisdiction: str = strawberry.field(description="Legal jurisdiction for data residency, e.g. `EU`.")
    certifications: list[str] = strawberry.field(description="Compliance certifications, e.g. `HIPAA`.")
    vlan_pool: str = strawberry.field(
        description="The VLAN ids clusters in this site get theirs from, as ranges: `1000-3999`, `100-199,300-399`."
    )
    quarantine_vlan: int = strawberry.field(description="The VLAN of node ports that are in no cluster.")

    def __init__(self, props: Props) -> None:
        self._p = props
        self.name = props["name"]
        self.region = props.get("region", "")
        self.country = props.get("country", "")
        self.jurisdiction = props.get("jurisdiction", "")
        self.certifications = list(props.get("certifications", []))
        self.vlan_pool = props.get("vlan_pool") or DEFAULT_VLAN_POOL
        quarantine = props.get("quarantine_vlan")
        self.quarantine_vlan = DEFAULT_QUARANTINE_VLAN if quarantine is None else int(quarantine)

    @strawberry.field(metadata=max_items(MAX_RACKS_PER_SITE, label="Rack"))
    async def racks(self, info: Ctx) -> list[Rack]:
        return [Rack(r.props) for r in await _many(info, Relation("Site", "HAS_RACK", "Rack"), self.key)]


@strawberry.type
class Rack(Wrapped):
    name: str
    row: str

    def __init__(self, props: Props) -> None:
        self._p = props
        self.name = props["name"]
        self.row = props.get("row", "")

    @strawberry.field
    async def site(self, info: Ctx) -> Site | None:
        props = await info.context.loaders.vertex("Site").load(self._p["site"])
        return Site(props) if props else None

    @strawberry.field(metadata=max_items(MAX_NODES_PER_RACK, label="Node"))
    async def nodes(self, info: Ctx) -> list[Node]:
        return [Node(r.props) for r in await _many(info, Relation("Rack", "HOLDS", "Node"), self.key)]

    @strawberry.field(metadata=max_items(MAX_SWITCHES_PER_RACK, label="Switch"))
    async def switches(self, info: Ctx) -> list[Switch]:
        return [Switch(r.props) for r in await _many(info, Relation("Rack", "HOLDS", "Switch"), self.key)]


@strawberry.type
class Bmc:
    driver: str
    address: str


@strawberry.type(description="A bare-metal server.")
class Node(Wrapped):
    name: str
    serial: str
    vendor: str
    model: str
    cpu_model: str
    cpu_cores: int = strawberry.field(description="CPU cores across all sockets.")
    memory_gb: float
    storage_gb: float
    state: NodeState  # type: ignore[valid-type]
    power_state: PowerState  # type: ignore[valid-type]
    health: Health  # type: ignore[valid-type]

    def __init__(self, props: Props) -> None:
        self._p = props
        self.name = props["name"]
        self.serial = props.get("serial", "")
        self.vendor = props.get("vendor", "")
        self.model = props.get("model", "")
        self.cpu_model = props.get("cpu_model", "")
        self.cpu_cores = int(props.get("cpu_cores", 0))
        self.memory_gb = float(props.get("memory_gb", 0))
        self.storage_gb = float(props.get("storage_gb", 0))
        self.state = model.NodeState(props.get("state", "available"))
        self.power_state = model.PowerState(props.get("power_state", "unknown"))
        self.health = model.Health(props.get("health", "unknown"))

    @strawberry.field(
        description="How the BMC is reached (driver and address; never credentials). Providers only: null for tenants."
    )
    def bmc(self, info: Ctx) -> Bmc | None:
        principal = info.context.principal
        if principal is None or not principal.is_provider or "bmc_driver" not in self._p:
            return None
        return Bmc(driver=self._p["bmc_driver"], address=self._p["bmc_address"])

    @strawberry.field(description="The cluster the node is in; null when it is in none (or in one you cannot see).")
    async def cluster(self, info: Ctx) -> Annotated[Cluster, strawberry.lazy("metalgraph.schema.tenancy_types")] | None:
        from .tenancy_types import Cluster

        held = await _one(info, Relation("Node", "MEMBER", "Cluster", "in"), self.key)
        return Cluster(held.props) if held else None

    @strawberry.field
    async def rack(self, info: Ctx) -> Rack | None:
        props = await info.context.loaders.vertex("Rack").load(self._p["rack"])
        return Rack(props) if props else None

    @strawberry.field(description="Rack unit position.")
    async def u(self, info: Ctx) -> int | None:
        held = await _one(info, Relation("Node", "HOLDS", "Rack", "in"), self.key)
        return held.edge.get("u") if held else None

    @strawberry.field(metadata=max_items(MAX_GPUS_PER_NODE, label="GPU"))
    async def gpus(self, info: Ctx) -> list[Gpu]:
        return [Gpu(r.props) for r in await _many(info, Relation("Node", "HAS_GPU", "GPU"), self.key)]

    @strawberry.field(metadata=max_items(MAX_NICS_PER_NODE, label="NIC"))
    async def nics(self, info: Ctx, role: NicRole | None = None) -> list[Nic]:  # type: ignore[valid-type]
        items = await _many(info, Relation("Node", "HAS_NIC", "NIC"), self.key)
        return [Nic(r.props) for r in items if role is None or r.props.get("role") == _value(role)]


def _value(enum_member: Any) -> Any:
    return getattr(enum_member, "value", enum_member)


@strawberry.type(description="A GPU and its place in the NVLink and PCIe topology.")
class Gpu(Wrapped):
    uuid: str
    index: int
    model: str
    memory_gb: float
    nvlink_domain: str = strawberry.field(
        description="The NVLink clique this GPU belongs to (a node, or an NVL72 rack)."
    )

    def __init__(self, props: Props) -> None:
        self._p = props
        self.uuid = props["uuid"]
        self.index = int(props["index"])
        self.model = props["model"]
        self.memory_gb = float(props["memory_gb"])
        self.nvlink_domain = props.get("nvlink_domain", "")

    @strawberry.field
    async def node(self, info: Ctx) -> Node | None:
        props = await info.context.loaders.vertex("Node").load(self._p["node"])
        return Node(props) if props else None

    @strawberry.field(
        description="GPUs this one reaches over NVLink, with the number of links.",
        metadata=max_items(MAX_GPUS_PER_NODE - 1),  # NVLinks join GPUs of one node, each pair once
    )
    async def nvlink_peers(self, info: Ctx) -> list[NvLinkPeer]:
        out = await _many(info, Relation("GPU", "NVLINK", "GPU"), self.key)
        inn = await _many(info, Relation("GPU", "NVLINK", "GPU", "in"), self.key)
        peers = [NvLinkPeer(gpu=Gpu(r.props), links=int(r.edge.get("links", 1))) for r in out + inn]
        return sorted(peers, key=lambda p: p.gpu.index)

    @strawberry.field(
        description="NICs by PCIe distance, nearest first (PIX < PXB < PHB < NODE < SYS).",
        metadata=max_items(MAX_NICS_PER_NODE),  # the NICs of its node, each once
    )
    async def nics(self, info: Ctx) -> list[PcieAffinity]:
        items = await _many(info, Relation("GPU", "PCIE", "NIC"), self.key)
        order = [p.value for p in model.PciePath]
        found = [PcieAffinity(nic=Nic(r.props), path=model.PciePath(r.edge["path"])) for r in items]
        return sorted(found, key=lambda a: (order.index(_value(a.path)), a.nic.name))


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
    name: str
    mac: str
    speed_gbps: float
    role: NicRole  # type: ignore[valid-type]
    rail: int | None = strawberry.field(description="The rail of a backend NIC (rail-optimized fabrics).")

    def __init__(self, props: Props) -> None:
        self._p = props
        self.name = props["name"]
        self.mac = props["mac"]
        self.speed_gbps = float(props["speed_gbps"])
        self.role = model.NicRole(props.get("role", "backend"))
        self.rail = props.get("rail")

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
    name: str
    role: SwitchRole  # type: ignore[valid-type]
    model: str | None = strawberry.field(description="The switch model. Providers only: null for tenants.")
    mgmt_address: str | None = strawberry.field(
        description="Where the switch is managed. Providers only: null for tenants."
    )
    driver: str | None = strawberry.field(
        description="Name of the driver that manages this switch. Providers only: null for tenants."
    )
    pod: str | None = strawberry.field(
        description="The spine pod (block) of a leaf or spine. Providers only: null for tenants."
    )

    def __init__(self, props: Props) -> None:
        self._p = props  # as the caller may read them (`tenancy.disclosure`): a tenant's lack what it may not
        self.name = props["name"]
        self.role = model.SwitchRole(props["role"])
        self.model = props.get("model")
        self.mgmt_address = props.get("mgmt_address")
        self.driver = props.get("driver")
        self.pod = props.get("pod")

    @strawberry.field
    async def rack(self, info: Ctx) -> Rack | None:
        props = await info.context.loaders.vertex("Rack").load(self._p["rack"])
        return Rack(props) if props else None

    @strawberry.field(metadata=max_items(MAX_PORTS_PER_SWITCH, label="Port"))
    async def ports(self, info: Ctx) -> list[Port]:
        return [Port(r.props) for r in await _many(info, Relation("Switch", "HAS_PORT", "Port"), self.key)]


@strawberry.type(description="A switch port.")
class Port(Wrapped):
    name: str
    index: int
    speed_gbps: float
    mode: PortMode  # type: ignore[valid-type]
    access_vlan: int | None
    allowed_vlans: list[int]
    oper_status: str

    def __init__(self, props: Props) -> None:
        self._p = props
        self.name = props["name"]
        self.index = int(props["index"])
        self.speed_gbps = float(props["speed_gbps"])
        self.mode = model.PortMode(props.get("mode", "access"))
        self.access_vlan = props.get("access_vlan")
        self.allowed_vlans = list(props.get("allowed_vlans", []))
        self.oper_status = props.get("oper_status", "unknown")

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
