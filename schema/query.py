"""Root query fields: lookups by name and filtered connections over the inventory."""

from __future__ import annotations

import strawberry

from metalgraph.server.inventory.records import nic_key, port_key
from metalgraph.server.topology.node_filter import NodeFilter as NodeFilterSpec
from metalgraph.server.topology.node_filter import node_selection
from metalgraph.server.topology.pages import Selection, count_links, fetch_links_page

from .connection import Connection, check_page_size, connection_of, decode_cursor, paginate
from .types import Ctx, Gpu, Health, Link, Nic, Node, NodeState, Port, Rack, Site, Switch, SwitchRole, _value


@strawberry.input(description="Narrows a node listing; all given conditions must hold.")
class NodeFilter:
    site: str | None = None
    rack: str | None = None
    state: NodeState | None = None  # type: ignore[valid-type]
    health: Health | None = None  # type: ignore[valid-type]
    gpu_model: str | None = strawberry.field(default=None, description="Nodes with GPUs of this model.")
    min_gpu_count: int | None = strawberry.field(
        default=None, description="Nodes with at least this many GPUs (of `gpuModel`, when given)."
    )
    min_memory_gb: float | None = None
    min_cpu_cores: int | None = None
    name_prefix: str | None = None

    def spec(self) -> NodeFilterSpec:
        return NodeFilterSpec(
            site=self.site,
            rack=self.rack,
            state=_value(self.state),
            health=_value(self.health),
            gpu_model=self.gpu_model,
            min_gpu_count=self.min_gpu_count,
            min_memory_gb=self.min_memory_gb,
            min_cpu_cores=self.min_cpu_cores,
            name_prefix=self.name_prefix,
        )


@strawberry.input
class SwitchFilter:
    role: SwitchRole | None = None  # type: ignore[valid-type]
    pod: str | None = None
    rack: str | None = None
    name_prefix: str | None = None


async def _lookup(info: Ctx, label: str, key: str) -> dict | None:
    return await info.context.loaders.vertex(label).load(key)


@strawberry.type
class InventoryQuery:
    @strawberry.field(description="One node by name; null when there is none.")
    async def node(self, info: Ctx, name: str) -> Node | None:
        props = await _lookup(info, "Node", name)
        return Node(props) if props else None

    @strawberry.field(description="Nodes in name order.")
    async def nodes(
        self, info: Ctx, first: int | None = 100, after: str | None = None, filter: NodeFilter | None = None
    ) -> Connection[Node]:
        selection = node_selection(filter.spec() if filter else NodeFilterSpec())
        return await paginate(info.context.reader, selection, first, after, Node, info.context.settings.max_page_size)

    @strawberry.field
    async def switch(self, info: Ctx, name: str) -> Switch | None:
        props = await _lookup(info, "Switch", name)
        return Switch(props) if props else None

    @strawberry.field(description="Switches in name order.")
    async def switches(
        self, info: Ctx, first: int | None = 100, after: str | None = None, filter: SwitchFilter | None = None
    ) -> Connection[Switch]:
        f = filter or SwitchFilter()
        selection = (
            Selection("Switch")
            .equals("role", _value(f.role))
            .equals("pod", f.pod)
            .equals("rack", f.rack)
            .starts_with("name", f.name_prefix)
        )
        return await paginate(info.context.reader, selection, first, after, Switch, info.context.settings.max_page_size)

    @strawberry.field
    async def site(self, info: Ctx, name: str) -> Site | None:
        props = await _lookup(info, "Site", name)
        return Site(props) if props else None

    @strawberry.field
    async def sites(self, info: Ctx, first: int | None = 100, after: str | None = None) -> Connection[Site]:
        return await paginate(
            info.context.reader, Selection("Site"), first, after, Site, info.context.settings.max_page_size
        )

    @strawberry.field
    async def rack(self, info: Ctx, name: str) -> Rack | None:
        props = await _lookup(info, "Rack", name)
        return Rack(props) if props else None

    @strawberry.field
    async def racks(
        self, info: Ctx, first: int | None = 100, after: str | None = None, site: str | None = None
    ) -> Connection[Rack]:
        selection = Selection("Rack").equals("site", site)
        return await paginate(info.context.reader, selection, first, after, Rack, info.context.settings.max_page_size)

    @strawberry.field(description="One GPU by uuid.")
    async def gpu(self, info: Ctx, uuid: str) -> Gpu | None:
        props = await _lookup(info, "GPU", uuid)
        return Gpu(props) if props else None

    @strawberry.field(description="One switch port.")
    async def port(self, info: Ctx, switch: str, name: str) -> Port | None:
        props = await _lookup(info, "Port", port_key(switch, name))
        return Port(props) if props else None

    @strawberry.field(description="One NIC of a node.")
    async def nic(self, info: Ctx, node: str, name: str) -> Nic | None:
        props = await _lookup(info, "NIC", nic_key(node, name))
        return Nic(props) if props else None

    @strawberry.field(description="Cables between switch ports (the fabric), in port order.")
    async def links(self, info: Ctx, first: int | None = 100, after: str | None = None) -> Connection[Link]:
        store, scope = info.context.reader.store, info.context.scope
        size = check_page_size(first, info.context.settings.max_page_size)
        rows, more = await fetch_links_page(store, scope, size, decode_cursor(after) if after else None)

        def wrap(row: dict) -> Link:
            return Link(a=Port(row["a"]), b=Port(row["b"]), speed_gbps=float(row["speed"]))

        async def total() -> int:
            return await count_links(store, scope)

        return connection_of(rows, more, after, wrap, total)
