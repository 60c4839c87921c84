"""Topology queries for debugging: the path between two nodes and the neighborhood of a vertex."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

import strawberry

from metalgraph.server.inventory import model
from metalgraph.server.topology import neighborhood as nbh
from metalgraph.server.topology import paths

from .cost import max_items, unbounded
from .errors import ApiError, Code
from .types import Ctx, Nic, NicRole, Node, Port, Switch


@contextmanager
def _api_errors() -> Iterator[None]:
    """Domain errors of topology queries as typed API errors."""
    try:
        yield
    except paths.UnknownVertex as e:
        raise ApiError(Code.NOT_FOUND, str(e), kind=e.label, name=e.key) from e
    except paths.PathNotFound as e:
        raise ApiError(Code.NOT_FOUND, str(e), kind="Path", reason=e.reason) from e
    except paths.InvalidTopologyRequest as e:
        raise ApiError(Code.INVALID_INPUT, str(e)) from e


@strawberry.enum(description="What a hop of a path is.")
class HopKind(Enum):
    NODE = "node"
    SWITCH = "switch"


@strawberry.type(description="One device on a path between two nodes.")
class Hop:
    _hop: strawberry.Private[paths.Hop]

    def __init__(self, hop: paths.Hop) -> None:
        self._hop = hop

    @strawberry.field
    def kind(self) -> HopKind:
        return HopKind(self._hop.kind)

    @strawberry.field(description="The node or switch name.")
    def name(self) -> str:
        return self._hop.name

    @strawberry.field(description="Where the path enters: a switch port name, or the receiving NIC on the last node.")
    def ingress(self) -> str | None:
        return self._hop.ingress

    @strawberry.field(description="Where the path leaves: a switch port name, or the sending NIC on the first node.")
    def egress(self) -> str | None:
        return self._hop.egress

    @strawberry.field(description="Speed of the cable leaving this device towards the destination; null at the end.")
    def link_speed_gbps(self) -> float | None:
        return self._hop.link_speed_gbps

    @strawberry.field(description="The node, on the first and last hop.")
    async def node(self, info: Ctx) -> Node | None:
        if self._hop.kind != "node":
            return None
        props = await info.context.loaders.vertex("Node").load(self._hop.name)
        return Node(props) if props else None

    @strawberry.field(description="The switch, on the hops between.")
    async def switch(self, info: Ctx) -> Switch | None:
        if self._hop.kind != "switch":
            return None
        props = await info.context.loaders.vertex("Switch").load(self._hop.name)
        return Switch(props) if props else None

    @strawberry.field(description="The switch port the path enters by (switch hops).")
    async def ingress_port(self, info: Ctx) -> Port | None:
        return await self._port(info, self._hop.ingress_key)

    @strawberry.field(description="The switch port the path leaves by (switch hops).")
    async def egress_port(self, info: Ctx) -> Port | None:
        return await self._port(info, self._hop.egress_key)

    async def _port(self, info: Ctx, key: str | None) -> Port | None:
        if self._hop.kind != "switch" or key is None:
            return None
        props = await info.context.loaders.vertex("Port").load(key)
        return Port(props) if props else None


@strawberry.type(description="The path with the fewest cables between two nodes over NICs of one role.")
class Path:
    _path: strawberry.Private[paths.NodePath]

    def __init__(self, path: paths.NodePath) -> None:
        self._path = path

    @strawberry.field(
        description="Devices in order from `fromNode` to `toNode`, both included.",
        metadata=max_items(paths.MAX_SWITCH_LINKS + 3),  # two nodes and the switches of the longest path searched
    )
    def hops(self) -> list[Hop]:
        return [Hop(h) for h in self._path.hops]

    @strawberry.field(description="Cables traversed: 2 for two nodes on one leaf, 4 through a spine (switchCount + 1).")
    def hop_count(self) -> int:
        return self._path.hop_count

    @strawberry.field
    def switch_count(self) -> int:
        return self._path.switch_count

    @strawberry.field(description="Speed of the slowest cable on the path.")
    def bottleneck_gbps(self) -> float:
        return self._path.bottleneck_gbps

    @strawberry.field(description="The NIC of `fromNode` the path leaves by.")
    def from_nic(self) -> Nic:
        return Nic(self._path.from_nic)

    @strawberry.field(description="The NIC of `toNode` the path arrives at.")
    def to_nic(self) -> Nic:
        return Nic(self._path.to_nic)


@strawberry.type(description="A vertex of a neighborhood.")
class NeighborhoodVertex:
    label: str
    key: str
    name: str
    distance: int = strawberry.field(description="Relationships on the shortest chain from the center.")


@strawberry.type(description="A relationship of a neighborhood, in its stored direction.")
class NeighborhoodEdge:
    type: str
    source: str = strawberry.field(description="Key of the source vertex.")
    source_label: str
    target: str = strawberry.field(description="Key of the target vertex.")
    target_label: str
    speed_gbps: float | None = strawberry.field(default=None, description="Cable speed (CABLED).")
    u: int | None = strawberry.field(default=None, description="Rack unit (HOLDS).")
    links: int | None = strawberry.field(default=None, description="NVLink links (NVLINK).")
    pcie_path: str | None = strawberry.field(default=None, description="PCIe distance class (PCIE).")

    @classmethod
    def of(cls, edge: nbh.Edge) -> NeighborhoodEdge:
        p = edge.props
        speed = p.get("speed_gbps")
        return cls(
            type=edge.type,
            source=edge.source[1],
            source_label=edge.source[0],
            target=edge.target[1],
            target_label=edge.target[0],
            speed_gbps=float(speed) if speed is not None else None,
            u=p.get("u"),
            links=p.get("links"),
            pcie_path=p.get("path"),
        )


def _vertex(v: nbh.Vertex) -> NeighborhoodVertex:
    return NeighborhoodVertex(label=v.label, key=v.key, name=v.name, distance=v.distance)


@strawberry.type(description="The subgraph within `depth` relationships of a vertex, in both directions.")
class Neighborhood:
    center: NeighborhoodVertex
    depth: int
    vertices: list[NeighborhoodVertex] = strawberry.field(
        description="By distance, then label and key.", metadata=max_items(nbh.MAX_LIMIT)
    )
    edges: list[NeighborhoodEdge] = strawberry.field(
        description="Every relationship with at least one end closer than `depth`, both ends listed in `vertices`.",
        metadata=unbounded("as many as the relationships of `limit` vertices"),
    )
    truncated: bool = strawberry.field(description="True when `limit` vertices were reached and some were left out.")


@strawberry.type
class TopologyQuery:
    @strawberry.field(
        description="The path with the fewest cables between two nodes, over NICs of `role`; for debugging slow "
        "or hung jobs. Among equally short paths: same rail first, then the highest bottleneck, then names. "
        "NOT_FOUND for an unknown node, or with `reason` when no path exists."
    )
    async def path(
        self,
        info: Ctx,
        from_node: str,
        to_node: str,
        role: NicRole = model.NicRole.BACKEND,  # type: ignore[valid-type]
    ) -> Path | None:
        with _api_errors():
            reader = info.context.reader
            found = await paths.shortest_path(reader.store, from_node, to_node, model.NicRole(role), scope=reader.scope)
        return Path(found)

    @strawberry.field(
        description="Vertices within `depth` (1 to 4) relationships of the vertex keyed `name` (a node, switch, rack "
        "or site name, a GPU uuid, `node/nic`, `switch/port`), and the relationships between them. `label` picks "
        "one when several labels share the key."
    )
    async def neighborhood(
        self, info: Ctx, name: str, depth: int = 1, label: str | None = None, limit: int = 500
    ) -> Neighborhood | None:
        with _api_errors():
            reader = info.context.reader
            found = await nbh.neighborhood(reader.store, name, depth, limit=limit, label=label, scope=reader.scope)
        return Neighborhood(
            center=_vertex(found.center),
            depth=found.depth,
            vertices=[_vertex(v) for v in found.vertices],
            edges=[NeighborhoodEdge.of(e) for e in found.edges],
            truncated=found.truncated,
        )
