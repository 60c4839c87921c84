"""An inventory as graph records (vertices and edges) and back.

This is the one place that knows how the file format maps onto the graph model of
schema/MODEL.md. Import, export and the diff all work on records, so "export then import is a
no-op" holds by construction: `to_records(from_records(r)) == r` for the properties the file
format declares. The others, and the values the cluster lifecycle owns, are the subject of
`keep_owned` (see schema/MODEL.md, "Who owns a property").

Every vertex has a `key` unique within its label: the name for sites, racks, nodes and
switches, the uuid for GPUs, `node/nic` for NICs and `switch/port` for ports.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .model import (
    Bmc,
    Gpu,
    Inventory,
    Link,
    Nic,
    Node,
    NodeState,
    NvLink,
    PcieAffinity,
    Port,
    PortRef,
    Rack,
    Site,
    Switch,
)

Props = dict[str, Any]
VertexId = tuple[str, str]  # (label, key)
EdgeId = tuple[str, VertexId, VertexId]  # (type, source, target)

# Every edge kind of the model: (type, source label, target label).
EDGE_KINDS: tuple[tuple[str, str, str], ...] = (
    ("HAS_RACK", "Site", "Rack"),
    ("HOLDS", "Rack", "Node"),
    ("HOLDS", "Rack", "Switch"),
    ("HAS_GPU", "Node", "GPU"),
    ("HAS_NIC", "Node", "NIC"),
    ("HAS_PORT", "Switch", "Port"),
    ("CABLED", "NIC", "Port"),
    ("CABLED", "Port", "Port"),
    ("NVLINK", "GPU", "GPU"),
    ("PCIE", "GPU", "NIC"),
)
VERTEX_LABELS: tuple[str, ...] = ("Site", "Rack", "Switch", "Port", "Node", "GPU", "NIC")
"""Parents before children: the order in which new vertices are written."""

# The edge that attaches a vertex to its owner: label -> (type, owner label, owner-key property).
OWNER_EDGES: dict[str, tuple[str, str, str]] = {
    "Rack": ("HAS_RACK", "Site", "site"),
    "Switch": ("HOLDS", "Rack", "rack"),
    "Port": ("HAS_PORT", "Switch", "switch"),
    "Node": ("HOLDS", "Rack", "rack"),
    "GPU": ("HAS_GPU", "Node", "node"),
    "NIC": ("HAS_NIC", "Node", "node"),
}


BMC_PROPS: tuple[str, ...] = ("bmc_driver", "bmc_address", "bmc_credentials")
"""The node properties that hold its `Bmc`."""


def _declared(model: type[Any], drop: set[str], add: tuple[str, ...] = ()) -> frozenset[str]:
    return frozenset({"key", *(set(model.model_fields) - drop), *add})


DECLARED_PROPS: dict[str, frozenset[str]] = {
    "Site": _declared(Site, set()),
    "Rack": _declared(Rack, set()),
    "Switch": _declared(Switch, {"ports", "u"}),
    "Port": _declared(Port, set(), ("switch",)),
    "Node": _declared(Node, {"bmc", "gpus", "nics", "nvlinks", "pcie", "u"}, BMC_PROPS),
    "GPU": _declared(Gpu, set(), ("node",)),
    "NIC": _declared(Nic, {"port"}, ("node",)),
}
"""The vertex properties the file format declares, per label. Any other stored property (such as a
node's `failure_reason`) was written by a service and is neither exported nor touched by an import."""

LIFECYCLE_NODE_STATES: frozenset[str] = frozenset(
    {NodeState.ALLOCATED.value, NodeState.SANITIZING.value, NodeState.FAILED.value}
)
"""Node states only the cluster lifecycle sets; `available` and `maintenance` are the provider's."""

PORT_VLAN_PROPS: tuple[str, ...] = ("mode", "access_vlan", "allowed_vlans")
"""A port's VLAN settings: the lifecycle's once the port has a VLAN assignment."""


def vlan_assigned(port: Props) -> bool:
    """Whether a stored port carries any VLAN (an access VLAN or a trunk's allowed VLANs)."""
    return port.get("access_vlan") is not None or bool(port.get("allowed_vlans"))


def keep_owned_props(label: str, stored: Props, declared: Props, explicit: frozenset[str] = frozenset()) -> Props:
    """`declared` (the properties a file or a definition gives an existing vertex), with the stored
    values it does not own carried over:

    - properties the file format does not declare (a node's `failure_reason`, ...), always;
    - a node's `power_state`, always: the file's value only seeds a new node;
    - a node's `state` while it is one the lifecycle sets (allocated, sanitizing, failed);
    - a port's `mode`, `access_vlan` and `allowed_vlans` once the stored port has a VLAN assignment.

    Names in `explicit` are exempt (an API edit that sets a status field on purpose).
    """
    out = dict(declared)
    known = DECLARED_PROPS.get(label)
    if known is not None:
        out.update({k: v for k, v in stored.items() if k not in known})
    if label == "Node":
        if "power_state" in stored and "power_state" not in explicit:
            out["power_state"] = stored["power_state"]
        if stored.get("state") in LIFECYCLE_NODE_STATES and "state" not in explicit:
            out["state"] = stored["state"]
    elif label == "Port" and vlan_assigned(stored):
        for name in PORT_VLAN_PROPS:
            if name in stored:
                out[name] = stored[name]
            else:
                out.pop(name, None)
    return out


def keep_owned(current: Records, desired: Records, explicit: frozenset[str] = frozenset()) -> Records:
    """`desired` with `keep_owned_props` applied to every vertex `current` holds too."""
    out = Records(vertices=dict(desired.vertices), edges=dict(desired.edges))
    for vid, props in desired.vertices.items():
        stored = current.vertices.get(vid)
        if stored is not None:
            out.vertices[vid] = keep_owned_props(vid[0], stored, props, explicit)
    return out


def nic_key(node: str, nic: str) -> str:
    return f"{node}/{nic}"


def port_key(switch: str, port: str) -> str:
    return f"{switch}/{port}"


@dataclass
class Records:
    vertices: dict[VertexId, Props] = field(default_factory=dict)
    edges: dict[EdgeId, Props] = field(default_factory=dict)

    def vertex(self, label: str, key: str, props: Props) -> None:
        self.vertices[(label, key)] = {"key": key, **{k: v for k, v in props.items() if v is not None}}

    def edge(self, type_: str, src: VertexId, dst: VertexId, props: Props | None = None) -> None:
        self.edges[(type_, src, dst)] = {k: v for k, v in (props or {}).items() if v is not None}


def _plain(model: Any, exclude: set[str]) -> Props:
    """The scalar fields of a model as stored properties (models are frozen and hold plain values)."""
    return {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in model.__dict__.items()
        if v is not None and k not in exclude
    }


def to_records(inv: Inventory) -> Records:
    """Flatten a reference-checked inventory into graph records."""
    rec = Records()
    port_speed: dict[str, float] = {}
    for site in inv.sites:
        rec.vertex("Site", site.name, _plain(site, set()))
    for rack in inv.racks:
        rec.vertex("Rack", rack.name, _plain(rack, set()))
        rec.edge("HAS_RACK", ("Site", rack.site), ("Rack", rack.name))
    for sw in inv.switches:
        rec.vertex("Switch", sw.name, _plain(sw, {"ports", "u"}))
        rec.edge("HOLDS", ("Rack", sw.rack), ("Switch", sw.name), {"u": sw.u})
        for port in sw.ports:
            key = port_key(sw.name, port.name)
            port_speed[key] = port.speed_gbps
            rec.vertex("Port", key, {**_plain(port, set()), "switch": sw.name})
            rec.edge("HAS_PORT", ("Switch", sw.name), ("Port", key))
    for node in inv.nodes:
        _node_records(rec, node, port_speed)
    for link in inv.links:
        a, b = port_key(link.a.switch, link.a.port), port_key(link.b.switch, link.b.port)
        rec.edge("CABLED", ("Port", a), ("Port", b), {"speed_gbps": link.speed_gbps})
    return rec


def bmc_props(bmc: Bmc | None) -> Props:
    """How a node's BMC is stored: flat `bmc_*` properties of the node (a reference, never a secret)."""
    if bmc is None:
        return {}
    props = {"bmc_driver": bmc.driver, "bmc_address": bmc.address}
    if bmc.credentials is not None:
        props["bmc_credentials"] = bmc.credentials
    return props


def gpu_props(node: str, gpu: Gpu) -> Props:
    """The stored properties of a GPU vertex (its key is the uuid)."""
    return {"key": gpu.uuid, **_plain(gpu, set()), "node": node}


def nic_props(node: str, nic: Nic) -> Props:
    """The stored properties of a NIC vertex (its key is `node/nic`); the cable is an edge, not a property."""
    return {"key": nic_key(node, nic.name), **_plain(nic, {"port"}), "node": node}


def _node_records(rec: Records, node: Node, port_speed: dict[str, float]) -> None:
    props = _plain(node, {"bmc", "gpus", "nics", "nvlinks", "pcie", "u"}) | bmc_props(node.bmc)
    rec.vertex("Node", node.name, props)
    rec.edge("HOLDS", ("Rack", node.rack), ("Node", node.name), {"u": node.u})
    uuid_of = {gpu.index: gpu.uuid for gpu in node.gpus}
    for gpu in node.gpus:
        rec.vertex("GPU", gpu.uuid, gpu_props(node.name, gpu))
        rec.edge("HAS_GPU", ("Node", node.name), ("GPU", gpu.uuid))
    for nic in node.nics:
        key = nic_key(node.name, nic.name)
        rec.vertex("NIC", key, nic_props(node.name, nic))
        rec.edge("HAS_NIC", ("Node", node.name), ("NIC", key))
        if nic.port is not None:
            pk = port_key(nic.port.switch, nic.port.port)
            speed = min(nic.speed_gbps, port_speed.get(pk, nic.speed_gbps))
            rec.edge("CABLED", ("NIC", key), ("Port", pk), {"speed_gbps": speed})
    for link in node.nvlinks:
        a, b = sorted((link.a, link.b))
        rec.edge("NVLINK", ("GPU", uuid_of[a]), ("GPU", uuid_of[b]), {"links": link.links})
    for aff in node.pcie:
        rec.edge("PCIE", ("GPU", uuid_of[aff.gpu]), ("NIC", nic_key(node.name, aff.nic)), {"path": aff.path})


def _fields(props: Props, *drop: str, label: str = "") -> Props:
    """The model fields of stored properties: without `drop`, the key, and what the format does not declare."""
    known = DECLARED_PROPS.get(label)
    return {k: v for k, v in props.items() if k not in drop and k != "key" and (known is None or k in known)}


def from_records(rec: Records) -> Inventory:
    """Rebuild the inventory that `rec` holds, in a canonical order (export)."""
    by_label: dict[str, dict[str, Props]] = defaultdict(dict)
    for (label, key), props in rec.vertices.items():
        by_label[label][key] = props
    out: dict[tuple[str, str], dict[str, Props]] = defaultdict(dict)  # (type, src label) -> src key -> ...
    children: dict[tuple[str, str], list[str]] = defaultdict(list)  # (type, parent key) -> child keys
    rack_u: dict[VertexId, int | None] = {}  # (label, name) of a node or switch -> its rack unit
    for (type_, (src_label, src), (dst_label, dst)), props in rec.edges.items():
        children[(type_, src)].append(dst)
        out[(type_, src_label)].setdefault(src, {})[dst] = props
        if type_ == "HOLDS":
            rack_u[(dst_label, dst)] = props.get("u")
    sites = [Site(**_fields(p, label="Site")) for _k, p in sorted(by_label["Site"].items())]
    racks = [Rack(**_fields(p, label="Rack")) for _k, p in sorted(by_label["Rack"].items())]

    switches = []
    for name, props in sorted(by_label["Switch"].items()):
        ports = sorted(
            (Port(**_fields(by_label["Port"][pk], "switch", label="Port")) for pk in children[("HAS_PORT", name)]),
            key=lambda p: (p.index, p.name),
        )
        switches.append(Switch(**_fields(props, label="Switch"), u=rack_u.get(("Switch", name)), ports=tuple(ports)))

    def port_ref(pk: str) -> PortRef:
        port = by_label["Port"][pk]
        return PortRef(switch=port["switch"], port=port["name"])

    nodes = []
    for name, props in sorted(by_label["Node"].items()):
        gpu_keys = children[("HAS_GPU", name)]
        index_of = {k: by_label["GPU"][k]["index"] for k in gpu_keys}
        gpus = sorted(
            (Gpu(**_fields(by_label["GPU"][k], "node", label="GPU")) for k in gpu_keys), key=lambda g: g.index
        )
        nics = []
        for nk in sorted(children[("HAS_NIC", name)]):
            cabled = out[("CABLED", "NIC")].get(nk, {})
            port = port_ref(next(iter(cabled))) if cabled else None
            nics.append(Nic(**_fields(by_label["NIC"][nk], "node", label="NIC"), port=port))
        nvlinks = sorted(
            (
                NvLink(a=index_of[g], b=index_of[peer], links=p["links"])
                for g in gpu_keys
                for peer, p in out[("NVLINK", "GPU")].get(g, {}).items()
            ),
            key=lambda link: (link.a, link.b),
        )
        pcie = sorted(
            (
                PcieAffinity(gpu=index_of[g], nic=by_label["NIC"][nk]["name"], path=p["path"])
                for g in gpu_keys
                for nk, p in out[("PCIE", "GPU")].get(g, {}).items()
            ),
            key=lambda a: (a.gpu, a.nic),
        )
        bmc = None
        if "bmc_driver" in props:
            bmc = Bmc(
                driver=props["bmc_driver"], address=props["bmc_address"], credentials=props.get("bmc_credentials")
            )
        nodes.append(
            Node(
                **_fields(props, *BMC_PROPS, label="Node"),
                u=rack_u.get(("Node", name)),
                bmc=bmc,
                gpus=tuple(gpus),
                nics=tuple(nics),
                nvlinks=tuple(nvlinks),
                pcie=tuple(pcie),
            )
        )

    links = sorted(
        (
            Link(a=port_ref(a), b=port_ref(b), speed_gbps=p["speed_gbps"])
            for a, peers in out[("CABLED", "Port")].items()
            for b, p in peers.items()
        ),
        key=lambda link: (link.a.switch, link.a.port),
    )
    return Inventory(
        sites=tuple(sites), racks=tuple(racks), switches=tuple(switches), nodes=tuple(nodes), links=tuple(links)
    )
