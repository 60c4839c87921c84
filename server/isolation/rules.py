"""The isolation rules: pure functions of the graph's intent and the switches' state.

Only tenant VLANs matter: a site's pool VLANs and any VLAN a cluster holds there, never the
quarantine VLAN. VLANs are per site (a site is one layer-2 fabric). A port "carries" a VLAN: an
access port its access VLAN, a trunk its allowed VLANs (and on the device its native VLAN and any
other VLAN it sends untagged, `VlanState.untagged_vlans`, which also makes a port unsound). Each
rule looks at the graph's intent and at the device; `Violation.source` says where it saw the state.
One fault can show under several kinds (a node port in another cluster's VLAN on the device is a
`wrong_vlan` and an `orphan` port, and a `shared_vlan` when that cluster has nodes on it too).

- `wrong_vlan`: every port read from a device is compared with the graph when the graph states an
  intent (an access VLAN, or a trunk's allowed VLANs) or the device carries a tenant VLAN there.
  Access: same mode and VLAN. Trunk: same mode and allowed set; a native VLAN is allowed unless it
  is a tenant VLAN outside the intended set. A port the graph intends but the device lacks is one.
- `shared_vlan`: per site and tenant VLAN, the clusters whose member nodes' access ports carry it
  (graph or device); two or more is a violation.
- `trunk_leak`: for each switch port (not a node's) that carries a tenant VLAN (graph or device)
  and is cabled to another switch, or is a trunk in its stated intent or on the device, every such
  VLAN must be needed by each cluster holding that VLAN. (An uncabled port that is a trunk on
  neither side, an access port carrying a tenant VLAN say, is a `wrong_vlan`.) The
  link between switch X and its far end Y is needed by cluster C when, either way round:
  1. X and Y both hold ports of C's nodes; or
  2. X holds one and Y is a spine of X's pod (`Switch.pod`, not empty); or
  3. X holds one, Y is a core, and C spans X's plane; or
  4. X is a spine of one of C's pods, Y is a core, and C spans the backend plane.
  Planes: switches with a pod are the backend plane, where C spans when its switches are in two or
  more pods; switches without a pod (frontend leaves) are the other, where C spans when it holds
  ports on two or more of them. A VLAN no cluster holds, or a trunk with no cable in the graph, is
  always a leak. So a cluster's VLAN goes from its leaves up to their pods' spines, and on to the
  cores only when its nodes are in several pods (frontend leaves: to the cores only when its
  nodes are on several of them); never to a leaf, spine or core it does not need.
- `double_membership`: a node in two or more clusters.
- `orphan`: a node `allocated` in no cluster; a Network no cluster is `ON`; a node port (not BMC)
  carrying a tenant VLAN of no cluster its node is in (graph or device); a `ready` cluster without
  a VLAN or without an `ON` Network of that VLAN.
- `unreachable`: a switch that could not be read (see `devices.read_switches`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from metalgraph.drivers.types import SwitchportMode, VlanState

from .devices import SwitchReads
from .intent import Intent, PortIntent
from .model import Source, Violation, ViolationKind

RESTING_READY = "ready"
ALLOCATED = "allocated"
SPINE, CORE = "spine", "core"
Where = tuple[str, str]


def device_carried(state: VlanState) -> frozenset[int]:
    if state.mode is SwitchportMode.ACCESS:
        own: tuple[int, ...] = () if state.access_vlan is None else (state.access_vlan,)
    elif state.mode is SwitchportMode.TRUNK:
        own = (*state.allowed_vlans, *(() if state.native_vlan is None else (state.native_vlan,)))
    else:
        return frozenset()
    return frozenset((*own, *state.untagged_vlans))


def describe_intent(want: PortIntent | None) -> str:
    if want is None:
        return "no port in the graph"
    if want.mode == "access":
        return f"access {want.access_vlan}" if want.access_vlan is not None else "access, no VLAN intent"
    if want.mode == "trunk":
        return f"trunk {_vlans(want.allowed_vlans)}" if want.allowed_vlans else "trunk, no VLAN intent"
    return want.mode


def describe_state(state: VlanState | None) -> str:
    if state is None:
        return "no such port on the device"
    also = f" (also untagged in {_vlans(state.untagged_vlans)})" if state.untagged_vlans else ""
    if state.mode is SwitchportMode.ACCESS:
        return f"access {state.access_vlan}{also}"
    if state.mode is SwitchportMode.TRUNK:
        native = f" native {state.native_vlan}" if state.native_vlan is not None else ""
        return f"trunk {_vlans(state.allowed_vlans) or 'none'}{native}{also}"
    return str(state.mode)


def _vlans(vlans: Iterable[int]) -> str:
    return ",".join(str(v) for v in sorted(vlans))


def _source(in_graph: bool, on_device: bool) -> Source:
    return Source.BOTH if in_graph and on_device else Source.GRAPH if in_graph else Source.DEVICE


@dataclass(frozen=True)
class Context:
    intent: Intent
    reads: SwitchReads

    def state(self, where: Where) -> VlanState | None:
        states = self.reads.states.get(where[0])
        return None if states is None else states.get(where[1])

    def tenant_carried(self, where: Where, *, access_only: bool = False) -> dict[int, Source]:
        """The tenant VLANs the port carries, with where each was seen."""
        site = self.intent.site_of_port(where[0])
        want = self.intent.ports.get(where)
        graph = want.carried() if want is not None and (not access_only or want.mode == "access") else frozenset()
        state = self.state(where)
        device = (
            device_carried(state)
            if state is not None and (not access_only or state.mode is SwitchportMode.ACCESS)
            else frozenset()
        )
        return {
            vlan: _source(vlan in graph, vlan in device)
            for vlan in sorted(graph | device)
            if self.intent.is_tenant_vlan(site, vlan)
        }

    @cached_property
    def uplinks(self) -> frozenset[Where]:
        return tenant_uplinks(self)

    def who(self, clusters: Iterable[str]) -> dict[str, tuple[str, ...]]:
        keys = tuple(sorted(set(clusters)))
        return {"clusters": keys, "tenants": self.intent.tenants_of(keys)}


def check(ctx: Context, scope: Iterable[str]) -> tuple[list[Violation], int]:
    """Every violation, and how many device ports were compared. `ctx.intent.peers` must hold the
    cables of `ctx.uplinks`."""
    intent = ctx.intent
    wrong, compared = wrong_vlans(ctx)
    found = [
        *wrong,
        *shared_vlans(ctx),
        *trunk_leaks(ctx),
        *double_memberships(intent),
        *orphans(ctx),
        *unreachable(ctx.reads, scope),
    ]
    return found, compared


# --- wrong_vlan -----------------------------------------------------------------------------------


def _matches(intent: Intent, site: str | None, want: PortIntent, state: VlanState) -> bool:
    if state.untagged_vlans:
        return False
    if want.mode == "access":
        return state.mode is SwitchportMode.ACCESS and state.access_vlan == want.access_vlan
    if state.mode is not SwitchportMode.TRUNK or set(state.allowed_vlans) != set(want.allowed_vlans):
        return False
    native = state.native_vlan
    return native is None or native in want.allowed_vlans or not intent.is_tenant_vlan(site, native)


def wrong_vlans(ctx: Context) -> tuple[list[Violation], int]:
    intent, found, compared = ctx.intent, [], 0
    stated: defaultdict[str, list[PortIntent]] = defaultdict(list)
    for want in intent.ports.values():
        if want.stated:
            stated[want.switch].append(want)
    for switch, states in ctx.reads.states.items():
        site = intent.site_of_port(switch)
        for port, state in states.items():
            compared += 1
            want = intent.ports.get((switch, port))
            tenant_actual = {v for v in device_carried(state) if intent.is_tenant_vlan(site, v)}
            if want is not None and want.stated:
                if _matches(intent, site, want, state):
                    continue
            elif not tenant_actual:
                continue
            found.append(_wrong(ctx, switch, port, want, state, tenant_actual))
        for want in stated.get(switch, ()):
            if want.name not in states:
                found.append(_wrong(ctx, switch, want.name, want, None, set()))
    return found, compared


def _wrong(
    ctx: Context, switch: str, port: str, want: PortIntent | None, state: VlanState | None, tenant_actual: set[int]
) -> Violation:
    intent = ctx.intent
    site = intent.site_of_port(switch)
    wanted = want.carried() if want is not None and want.stated else frozenset()
    unexpected = sorted(tenant_actual - wanted)
    missing = sorted(wanted - (device_carried(state) if state is not None else frozenset()))
    vlan = (unexpected or missing or sorted(wanted) or [None])[0]
    owners = {c for v in (*tenant_actual, *wanted) for c in intent.vlan_owners(site, v)}
    expected = describe_intent(want) if want is not None and want.stated else "no tenant VLAN"
    actual = describe_state(state)
    return Violation(
        ViolationKind.WRONG_VLAN,
        f"{switch}/{port}: the device has {actual}, the graph intends {expected}",
        switch=switch,
        port=port,
        vlan=vlan,
        expected=expected,
        actual=actual,
        node=intent.node_ports.get((switch, port)),
        source=Source.DEVICE,
        **ctx.who(owners),  # type: ignore[arg-type]
    )


# --- shared_vlan ----------------------------------------------------------------------------------


def shared_vlans(ctx: Context) -> Iterator[Violation]:
    intent = ctx.intent
    seen: defaultdict[tuple[str | None, int], defaultdict[str, list[tuple[Where, Source]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for where, node in intent.node_ports.items():
        clusters = intent.memberships.get(node)
        if not clusters or (where not in intent.ports and where[0] not in ctx.reads.states):
            continue
        site = intent.site_of_port(where[0])
        for vlan, source in ctx.tenant_carried(where, access_only=True).items():
            for cluster in clusters:
                seen[(site, vlan)][cluster].append((where, source))
    for (site, vlan), by_cluster in sorted(seen.items(), key=lambda item: (item[0][0] or "", item[0][1])):
        if len(by_cluster) < 2:
            continue
        sources = {source for ports in by_cluster.values() for _, source in ports}
        in_graph = bool(sources & {Source.GRAPH, Source.BOTH})
        on_device = bool(sources & {Source.DEVICE, Source.BOTH})
        examples = "; ".join(
            f"{cluster}: {len(ports)} port(s), e.g. {ports[0][0][0]}/{ports[0][0][1]}"
            for cluster, ports in sorted(by_cluster.items())
        )
        yield Violation(
            ViolationKind.SHARED_VLAN,
            f"VLAN {vlan}{_at(site)} is on access ports of nodes of {len(by_cluster)} clusters ({examples})",
            vlan=vlan,
            source=_source(in_graph, on_device),
            **ctx.who(by_cluster),  # type: ignore[arg-type]
        )


def _at(site: str | None) -> str:
    return f" in site {site}" if site else ""


# --- trunk_leak -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """Where a cluster's VLAN may go: the switches holding its nodes' ports, by plane."""

    holding: frozenset[str]
    pods: frozenset[str]
    """The pods of the holding switches that have one (the backend plane)."""
    podless: int
    """How many holding switches have no pod (frontend leaves)."""

    def spans(self, backend: bool) -> bool:
        return len(self.pods) > 1 if backend else self.podless > 1


NO_REACH = Reach(frozenset(), frozenset(), 0)


def reaches(intent: Intent) -> dict[str, Reach]:
    holding: defaultdict[str, set[str]] = defaultdict(set)
    for (switch, _), node in intent.node_ports.items():
        for cluster in intent.memberships.get(node, ()):
            holding[cluster].add(switch)
    found = {}
    for cluster, switches in holding.items():
        pods = {_pod(intent, s) for s in switches}
        found[cluster] = Reach(frozenset(switches), frozenset(pods - {""}), sum(not _pod(intent, s) for s in switches))
    return found


def _pod(intent: Intent, switch: str) -> str:
    found = intent.switches.get(switch)
    return found.pod if found is not None else ""


def _role(intent: Intent, switch: str) -> str:
    found = intent.switches.get(switch)
    return found.role if found is not None else ""


def needed(intent: Intent, reach: Reach, near: str, far: str) -> bool:
    """The link near-far is on the way between the cluster's switches (see the module doc)."""

    def one_way(x: str, y: str) -> bool:
        x_pod, y_role = _pod(intent, x), _role(intent, y)
        if x in reach.holding:
            if y in reach.holding:
                return True
            if y_role == SPINE and x_pod and _pod(intent, y) == x_pod:
                return True
            return y_role == CORE and reach.spans(backend=bool(x_pod))
        return _role(intent, x) == SPINE and x_pod in reach.pods and y_role == CORE and reach.spans(backend=True)

    return one_way(near, far) or one_way(far, near)


def tenant_uplinks(ctx: Context) -> frozenset[Where]:
    """The switch ports that are not node ports and carry a tenant VLAN (in the graph or on the
    device): the only ones that can leak, so the only ones whose cables the report reads."""
    intent, found = ctx.intent, set()
    for where in intent.ports:
        if where not in intent.node_ports and where not in intent.bmc_ports and ctx.tenant_carried(where):
            found.add(where)
    for switch, states in ctx.reads.states.items():
        site = intent.site_of_port(switch)
        for port, state in states.items():
            where = (switch, port)
            if where in found or where in intent.node_ports or where in intent.bmc_ports:
                continue
            if any(intent.is_tenant_vlan(site, vlan) for vlan in device_carried(state)):
                found.add(where)
    return frozenset(found)


def trunk_leaks(ctx: Context) -> Iterator[Violation]:
    """A port of `ctx.uplinks` with no cable is judged only when it is a trunk (an access port
    there is a `wrong_vlan` at most)."""
    intent = ctx.intent
    reach = reaches(intent)
    for where in sorted(ctx.uplinks):
        if where not in intent.peers and not _is_trunk(ctx, where):
            continue
        site = intent.site_of_port(where[0])
        far = sorted({sw for sw, _ in intent.peers.get(where, ())})
        for vlan, source in ctx.tenant_carried(where).items():
            owners = sorted(intent.vlan_owners(site, vlan))
            toward = ", ".join(far) or "no switch the graph knows"
            if not owners:
                reason = f"VLAN {vlan} belongs to no cluster"
                yield _leak(ctx, where, vlan, source, (), f"{reason}, yet {_port(where)} carries it toward {toward}")
                continue
            for cluster in owners:
                if far and all(needed(intent, reach.get(cluster, NO_REACH), where[0], f) for f in far):
                    continue
                yield _leak(
                    ctx,
                    where,
                    vlan,
                    source,
                    (cluster,),
                    f"{_port(where)} carries VLAN {vlan} of cluster {cluster} toward {toward}, "
                    "which the cluster does not need",
                )


def _is_trunk(ctx: Context, where: Where) -> bool:
    want, state = ctx.intent.ports.get(where), ctx.state(where)
    return (want is not None and want.mode == "trunk") or (state is not None and state.mode is SwitchportMode.TRUNK)


def _port(where: Where) -> str:
    return f"{where[0]}/{where[1]}"


def _leak(ctx: Context, where: Where, vlan: int, source: Source, clusters: tuple[str, ...], message: str) -> Violation:
    far = sorted({f"{sw}/{p}" for sw, p in ctx.intent.peers.get(where, ())})
    return Violation(
        ViolationKind.TRUNK_LEAK,
        message,
        switch=where[0],
        port=where[1],
        vlan=vlan,
        expected=f"VLAN {vlan} not carried",
        actual=f"carried toward {', '.join(far) or 'nothing cabled'}",
        source=source,
        **ctx.who(clusters),  # type: ignore[arg-type]
    )


# --- double membership, orphans, unreachable ------------------------------------------------------


def double_memberships(intent: Intent) -> Iterator[Violation]:
    for node, clusters in sorted(intent.memberships.items()):
        if len(clusters) > 1:
            keys = tuple(sorted(clusters))
            yield Violation(
                ViolationKind.DOUBLE_MEMBERSHIP,
                f"node {node} is a member of {len(keys)} clusters: {', '.join(keys)}",
                node=node,
                clusters=keys,
                tenants=intent.tenants_of(keys),
            )


def orphans(ctx: Context) -> Iterator[Violation]:
    intent = ctx.intent
    for node, state in sorted(intent.node_state.items()):
        if state == ALLOCATED and not intent.memberships.get(node):
            yield Violation(
                ViolationKind.ORPHAN, f"node {node} is allocated but in no cluster", node=node, subject="node"
            )
    for network in sorted(intent.networks.values(), key=lambda n: n.key):
        if not network.linked:
            named = f" (it names cluster {network.cluster})" if network.cluster else ""
            yield Violation(
                ViolationKind.ORPHAN,
                f"network {network.key} (VLAN {network.vlan}) belongs to no cluster{named}",
                vlan=network.vlan,
                subject="network",
                **ctx.who([network.cluster] if network.cluster else []),  # type: ignore[arg-type]
            )
    for where, node in sorted(intent.node_ports.items()):
        if where not in intent.ports and where[0] not in ctx.reads.states:
            continue
        site = intent.site_of_port(where[0])
        mine = intent.memberships.get(node, set())
        for vlan, source in ctx.tenant_carried(where).items():
            owners = intent.vlan_owners(site, vlan)
            if owners & mine:
                continue
            whose = f"cluster {', '.join(sorted(owners))}" if owners else "no cluster"
            membership = f"is in {', '.join(sorted(mine))}" if mine else "is in no cluster"
            yield Violation(
                ViolationKind.ORPHAN,
                f"{_port(where)} of node {node} is in VLAN {vlan} of {whose}, but the node {membership}",
                switch=where[0],
                port=where[1],
                vlan=vlan,
                node=node,
                subject="port",
                source=source,
                **ctx.who(owners),  # type: ignore[arg-type]
            )
    for cluster in sorted(intent.clusters.values(), key=lambda c: c.key):
        if cluster.state != RESTING_READY:
            continue
        networks = [n for n in intent.networks.values() if cluster.key in n.linked and n.vlan == cluster.vlan]
        if cluster.vlan is None or not networks:
            what = "has no VLAN" if cluster.vlan is None else f"has no network for its VLAN {cluster.vlan}"
            yield Violation(
                ViolationKind.ORPHAN,
                f"cluster {cluster.key} is ready but {what}",
                vlan=cluster.vlan,
                subject="cluster",
                clusters=(cluster.key,),
                tenants=(cluster.tenant,),
            )


def unreachable(reads: SwitchReads, scope: Iterable[str]) -> Iterator[Violation]:
    for switch in sorted(scope):
        failure = reads.failures.get(switch)
        if failure is not None:
            address, why = failure
            yield Violation(
                ViolationKind.UNREACHABLE,
                f"switch {switch} could not be read, nothing on it was verified: {why}",
                switch=switch,
                subject=address or None,
                source=Source.DEVICE,
            )
