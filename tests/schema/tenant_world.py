"""A two-tenant world for the cross-tenant tests, and the checker that finds tenant A's data in a response.

Tenant A (`acme-corp`) is the victim: every identifier it owns contains the marker `acme` (tenant,
clusters, nodes, serials, GPU uuids, NIC names, BMC addresses, its leaf ports `eth-acme-*`, its racks,
the leaf only its nodes use, its audit entries), except what cannot hold letters: its MACs and API
token ids are collected in sets, its VLANs are recognised in `vlan` fields (see `Forbidden`). Tenant B
(`bravo-co`) is the attacker: a cluster with one node on the same leaf switch as A's nodes (shared
switch, shared spine uplinks) and one on another leaf, so that B has a path through the spines.
Free nodes sit on both of B's leaves.

Two sites draw VLANs from overlapping pools, and each tenant has a cluster in both: in site 2, a leaf
both tenants use, with a trunk uplink carrying both tenants' VLANs, and VLAN ids swapped: A's 2001 there
is B's VLAN in site 1, B's 3917 there is A's in site 1. A VLAN is owned per site, so B may read 3917 on
ports of site 2 and never on those of site 1, and 2001 the other way round.

The inventory is loaded with the pydantic models; tenants and tokens are made through the API with the
bootstrap admin token; the clusters are written ready, as the lifecycle leaves them (`allocated.py`:
placement would not pick these exact nodes and VLANs, and the walk depends on who owns what); A's
admin makes a few changes of its own so that A has audit entries.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from graphql import (
    GraphQLError,
    GraphQLSchema,
    IntValueNode,
    StringValueNode,
    build_client_schema,
    get_introspection_query,
    parse,
    visit,
)
from graphql.language import Visitor

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.server.app import create_app
from metalgraph.server.inventory import model, service
from metalgraph.server.store.base import GraphStore

sys.path.append(str(Path(__file__).parent))  # the helper next to this file

from allocated import allocate_cluster

MARKER = "acme"
"""Every string identifier of tenant A contains this (case-insensitive)."""
GHOST = "acmq"
"""Replaces MARKER in a never-existing identifier of the same shape; sorts like MARKER against every other key."""

A_TENANT, B_TENANT = "acme-corp", "bravo-co"
A_VLANS = (3917, 3918)
"""A's VLANs in site 1."""
B_VLAN = 2001
"""B's VLAN in site 1; A's in site 2."""
SITE = "site-1"
SITE2 = "site-2"
SITE2_POOL = "2000-3999"
"""Overlaps site 1's (the default pool, 1000-3999)."""
SHARED_LEAF2 = "leaf-shared2"
"""Site 2's leaf: one node of each tenant, and a trunk uplink carrying both tenants' VLANs."""
SPINE2 = "spine-3"
SITE2_PORTS = ("s2-up1", "s2-swp1")
"""The trunk between SHARED_LEAF2 and SPINE2 (port names are unique per site: a port's name says its site)."""
SHARED_LEAF = "leaf-shared"
B_LEAF = "leaf-b"
A_LEAF = "leaf-acme2"
"""A leaf switch cabled to A's nodes only."""
SPINES = ("spine-1", "spine-2")
LEAVES = (SHARED_LEAF, B_LEAF, A_LEAF)
"""Site 1's leaves."""
A_NODES = ("acme-n1", "acme-n2", "acme-n3", "acme-n4")
B_NODES = ("bravo-n1", "bravo-n2", "bravo-n3")
FREE_NODES = ("free-n1", "free-n2")
A_CLUSTERS = {
    "acme-train": (A_VLANS[0], ("acme-n1", "acme-n2")),
    "acme-eval": (A_VLANS[1], ("acme-n3",)),
    "acme-far": (B_VLAN, ("acme-n4",)),
}
B_CLUSTER = "bravo-train"
B_FAR_CLUSTER = "bravo-far"
B_CLUSTERS = {B_CLUSTER: (B_VLAN, ("bravo-n1", "bravo-n2")), B_FAR_CLUSTER: (A_VLANS[0], ("bravo-n3",))}
CLUSTER_SITES = {"acme-far": SITE2, B_FAR_CLUSTER: SITE2}
"""The clusters in site 2; the others are in site 1."""
A_PORTS = {  # node -> (switch, port)
    "acme-n1": (SHARED_LEAF, "eth-acme-1"),
    "acme-n2": (SHARED_LEAF, "eth-acme-2"),
    "acme-n3": (A_LEAF, "eth-acme-3"),
    "acme-n4": (SHARED_LEAF2, "eth-acme-4"),
}
B_PORTS = {
    "bravo-n1": (SHARED_LEAF, "eth-bravo-1"),
    "bravo-n2": (B_LEAF, "eth-bravo-2"),
    "bravo-n3": (SHARED_LEAF2, "eth-bravo-3"),
}
NODE_RACKS = {"acme-n4": "rack-acme-far", "bravo-n3": "rack-bravo2"}
"""Racks of site 2; other nodes are in `rack-acme`, `rack-bravo` and `rack-free` of site 1."""
FREE_PORTS = {"free-n1": (SHARED_LEAF, "eth-free-1"), "free-n2": (B_LEAF, "eth-free-2")}
A_NIC, B_NIC, FREE_NIC = "ib-acme-0", "ib0", "ib0"
CLIENT = ("198.51.100.20", 43210)
"""Not a loopback address: a request without a token is anonymous, never a loopback reader."""


def _mac(group: int, node: int, nic: int) -> str:
    return f"02:{group:02x}:00:00:{node:02x}:{nic:02x}"


def _nic_port(node: str) -> tuple[str, str]:
    return {**A_PORTS, **B_PORTS, **FREE_PORTS}[node]


def a_macs() -> frozenset[str]:
    return frozenset(_mac(0xAC, i, j) for i in range(len(A_NODES)) for j in range(2))


def site_vlans(clusters: dict[str, tuple[int, tuple[str, ...]]]) -> dict[str, frozenset[int]]:
    """Site -> the VLANs of `clusters` there."""
    found: dict[str, set[int]] = {}
    for name, (vlan, _) in clusters.items():
        found.setdefault(CLUSTER_SITES.get(name, SITE), set()).add(vlan)
    return {site: frozenset(vlans) for site, vlans in found.items()}


def port_sites() -> dict[str, str]:
    """Every switch port's name -> its site (names are unique per site)."""
    site1 = {p for _, p in (*A_PORTS.values(), *B_PORTS.values(), *FREE_PORTS.values())} | {
        "up1",
        "up2",
        *(f"swp{i + 1}" for i in range(len(LEAVES))),
    }
    site2 = {p for s, p in (*A_PORTS.values(), *B_PORTS.values()) if s == SHARED_LEAF2} | set(SITE2_PORTS)
    return {**dict.fromkeys(site1 - site2, SITE), **dict.fromkeys(site2, SITE2)}


def _node(name: str, rack: str, group: int, index: int, nic_name: str, vlan_owner: str) -> model.Node:
    switch, port = _nic_port(name)
    tag = name.upper()
    return model.Node(
        name=name,
        rack=rack,
        u=10 + index,
        serial=f"SN-{tag}",
        vendor="Supermicro",
        model="SYS-821GE",
        cpu_model="Xeon 8480",
        cpu_cores=112,
        memory_gb=2048,
        storage_gb=30_000,
        bmc=model.Bmc(driver="sim", address=f"sim://{name}"),
        gpus=tuple(
            model.Gpu(index=g, uuid=f"GPU-{name}-{g}", model="H100", memory_gb=80, nvlink_domain=f"nvl-{name}")
            for g in range(2)
        ),
        nics=(
            model.Nic(
                name=nic_name,
                mac=_mac(group, index, 0),
                speed_gbps=400,
                rail=0,
                port=model.PortRef(switch=switch, port=port),
            ),
            model.Nic(name=f"{nic_name}-fe", mac=_mac(group, index, 1), speed_gbps=100, role=model.NicRole.FRONTEND),
        ),
        nvlinks=(model.NvLink(a=0, b=1, links=18),),
        pcie=(model.PcieAffinity(gpu=0, nic=nic_name, path=model.PciePath.PIX),),
    )


def world_inventory(*, trunk_uplinks: bool = True) -> model.Inventory:
    """The fabric. With `trunk_uplinks` (the harder case, and the default), leaf-to-spine cables are 802.1Q
    trunks carrying the VLANs of the clusters behind each leaf (the way a layer-2 fabric stretches a
    cluster's VLAN over the spines), so the uplinks B sees also carry A's VLAN; otherwise they are routed
    (a layer-3 leaf-spine fabric)."""
    behind = {SHARED_LEAF: (B_VLAN, A_VLANS[0]), B_LEAF: (B_VLAN,), A_LEAF: (A_VLANS[1],)}

    def uplink(name: str, index: int, vlans: tuple[int, ...]) -> model.Port:
        if trunk_uplinks:
            return model.Port(
                name=name, index=index, speed_gbps=800, mode=model.PortMode.TRUNK, allowed_vlans=vlans, oper_status="up"
            )
        return model.Port(name=name, index=index, speed_gbps=800, mode=model.PortMode.ROUTED, oper_status="up")

    def access(name: str, index: int, vlan: int | None) -> model.Port:
        return model.Port(name=name, index=index, speed_gbps=400, access_vlan=vlan, oper_status="up")

    leaf_ports: dict[str, list[model.Port]] = {leaf: [] for leaf in LEAVES}
    vlans = {node: vlan for vlan, members in (*A_CLUSTERS.values(), *B_CLUSTERS.values()) for node in members}
    leaf_ports[SHARED_LEAF2] = []
    for i, node in enumerate((*A_NODES, *B_NODES, *FREE_NODES)):
        switch, port = _nic_port(node)
        leaf_ports[switch].append(access(port, i + 1, vlans.get(node)))

    def managed(name: str, rack: str, role: model.SwitchRole, pod: str, ports: Iterable[model.Port]) -> model.Switch:
        """Managed like a real one: what a tenant may not read of it is there to be read."""
        return model.Switch(
            name=name,
            rack=rack,
            role=role,
            pod=pod,
            model="SN5600",
            mgmt_address=f"sim://{name}",
            driver="sim",
            ports=tuple(ports),
        )

    switches = []
    for leaf in LEAVES:
        ports = [*leaf_ports[leaf], uplink("up1", 49, behind[leaf]), uplink("up2", 50, behind[leaf])]
        switches.append(managed(leaf, "rack-net", model.SwitchRole.LEAF, "pod-1", ports))
    for spine in SPINES:
        downs = tuple(uplink(f"swp{i + 1}", i + 1, behind[leaf]) for i, leaf in enumerate(LEAVES))
        switches.append(managed(spine, "rack-net", model.SwitchRole.SPINE, "pod-1", downs))
    both = (B_VLAN, A_VLANS[0])  # in site 2: A's and B's
    up, down = SITE2_PORTS
    switches.append(
        managed(
            SHARED_LEAF2, "rack-net2", model.SwitchRole.LEAF, "pod-2", [*leaf_ports[SHARED_LEAF2], uplink(up, 49, both)]
        )
    )
    switches.append(managed(SPINE2, "rack-net2", model.SwitchRole.SPINE, "pod-2", [uplink(down, 1, both)]))
    links = (
        *(
            model.Link(
                a=model.PortRef(switch=leaf, port=f"up{s + 1}"),
                b=model.PortRef(switch=spine, port=f"swp{i + 1}"),
                speed_gbps=800,
            )
            for i, leaf in enumerate(LEAVES)
            for s, spine in enumerate(SPINES)
        ),
        model.Link(
            a=model.PortRef(switch=SHARED_LEAF2, port=up), b=model.PortRef(switch=SPINE2, port=down), speed_gbps=800
        ),
    )
    nodes = (
        *(_node(n, NODE_RACKS.get(n, "rack-acme"), 0xAC, i, A_NIC, A_TENANT) for i, n in enumerate(A_NODES)),
        *(_node(n, NODE_RACKS.get(n, "rack-bravo"), 0xB0, i, B_NIC, B_TENANT) for i, n in enumerate(B_NODES)),
        *(_node(n, "rack-free", 0xF0, i, FREE_NIC, "") for i, n in enumerate(FREE_NODES)),
    )
    return model.Inventory(
        sites=(
            model.Site(name=SITE, region="us-east", country="US", jurisdiction="US", certifications=("HIPAA",)),
            model.Site(name=SITE2, region="us-west", country="US", jurisdiction="US", vlan_pool=SITE2_POOL),
        ),
        racks=(
            *(model.Rack(name=r, site=SITE, row="A") for r in ("rack-net", "rack-acme", "rack-bravo", "rack-free")),
            *(model.Rack(name=r, site=SITE2, row="B") for r in ("rack-net2", *NODE_RACKS.values())),
        ),
        switches=tuple(switches),
        nodes=nodes,
        links=links,
    )


# --- the leak checker -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forbidden:
    """What a response to tenant B may never hold."""

    substrings: frozenset[str]
    """Lower-case: the marker, A's MACs, A's API token ids."""
    vlans: frozenset[int]
    """VLAN ids that are A's and never B's: forbidden as the value of a field whose name contains `vlan`,
    or after the word VLAN."""
    port_vlans: Mapping[str, frozenset[int]] = field(default_factory=dict)
    """Port name -> A's VLANs of that port's site: forbidden in the `vlan` fields of an object of that `name`
    (a VLAN id is owned per site: B may read an id of its own there that is A's in another site)."""

    def in_text(self, text: str) -> list[str]:
        low = text.lower()
        found = [s for s in sorted(self.substrings) if s in low]
        found += [f"VLAN {v}" for v in sorted(self.vlans) if re.search(rf"vlan\D{{0,20}}\b{v}\b", low)]
        return found


ECHO_ZONE_KEYS = frozenset({"variables", "detail"})
"""Fields of an audit entry that repeat what its caller sent (B's own attempts show up in B's log)."""
_WORD = r"[\w.:/@-]"


def _strip_echoes(text: str, echoes: Iterable[str]) -> str:
    """`text` without the whole-word occurrences of strings the caller sent itself (an error message saying
    "cluster 'acme-train' not found" repeats the request, it reveals nothing). A sent `acme` does not excuse
    an `acme-n2` in the answer: only whole words are taken out."""
    for echo in sorted({e for e in echoes if e}, key=len, reverse=True):
        text = re.sub(rf"(?<!{_WORD}){re.escape(echo)}(?!{_WORD})", " ", text, flags=re.IGNORECASE)
    return text


def find_leaks(
    document: Any,
    forbidden: Forbidden,
    *,
    echoes: Iterable[str | int] = (),
    history: Iterable[str | int] = (),
) -> list[str]:
    """Every place in a JSON response that holds something of tenant A, as `path: what`.

    `echoes` (what this request sent) may come back in `errors`; `history` (what the caller ever sent)
    may also come back in the `variables` and `detail` of audit entries. Elsewhere nothing is excused.
    """
    echo_set, history_set = set(echoes), set(history) | set(echoes)
    leaks: list[str] = []

    def walk(value: Any, path: str, key: str, zone: set[str | int] | None, vlans: frozenset[int]) -> None:
        if isinstance(value, dict):
            name = value.get("name")
            here = forbidden.vlans | forbidden.port_vlans.get(name, frozenset()) if isinstance(name, str) else vlans
            for k, v in value.items():
                inner = zone
                if path == "" and k == "errors":
                    inner = echo_set
                elif k in ECHO_ZONE_KEYS:
                    inner = history_set
                walk(v, f"{path}.{k}" if path else k, k, inner, here if "vlan" in k.lower() else forbidden.vlans)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]", key, zone, vlans)
        elif isinstance(value, str):
            text = _strip_echoes(value, (e for e in zone if isinstance(e, str))) if zone else value
            for what in forbidden.in_text(text):
                leaks.append(f"{path}: {what!r} in {value!r}")
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and "vlan" in key.lower()
            and value in vlans
            and not (zone and value in zone)
        ):
            leaks.append(f"{path}: VLAN {value}")

    walk(document, "", "", None, forbidden.vlans)
    return leaks


def request_literals(query: str, variables: dict[str, Any] | None = None) -> set[str | int]:
    """The strings and integers a request sends: literals of the document and values of its variables."""
    found: set[str | int] = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list | tuple):
            for v in value:
                collect(v)
        elif isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            found.add(value)

    class Literals(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            found.add(node.value)

        def enter_int_value(self, node: IntValueNode, *_: Any) -> None:
            found.add(int(node.value))

    try:
        visit(parse(query), Literals())
    except GraphQLError:
        found.update(re.findall(r'"((?:[^"\\]|\\.)*)"', query))
        found.add(query)
    collect(variables or {})
    return found


# --- ghosts: the same identifiers, of objects that never existed ------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A connection cursor of a key; encoded when sent, so that it can be ghosted first."""

    key: str

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"key:{self.key}".encode()).decode()


_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def ghost_token_id(token_id: str) -> str:
    """A token id of the same shape (16 characters of [a-z2-7]) that no token has: every character shifted."""
    return "".join(_TOKEN_ALPHABET[(_TOKEN_ALPHABET.index(c) + 1) % 32] for c in token_id)


def ghost_text(text: str, token_ids: Iterable[str]) -> str:
    for token_id in token_ids:
        text = text.replace(token_id, ghost_token_id(token_id))

    def same_case(m: re.Match[str]) -> str:
        return "".join(g.upper() if c.isupper() else g for c, g in zip(m[0], GHOST, strict=True))

    return re.sub(MARKER, same_case, text, flags=re.IGNORECASE)


def ghost(value: Any, token_ids: Iterable[str]) -> Any:
    """`value` with every identifier of A replaced by one of the same shape that does not exist."""
    ids = tuple(token_ids)
    if isinstance(value, str):
        return ghost_text(value, ids)
    if isinstance(value, Cursor):
        return Cursor(ghost_text(value.key, ids))
    if isinstance(value, dict):
        return {k: ghost(v, ids) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [ghost(v, ids) for v in value]
    return value


def wire(value: Any) -> Any:
    """Variables as JSON: cursors encoded."""
    if isinstance(value, Cursor):
        return value.encode()
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    return value


# --- the world ---------------------------------------------------------------------------------------


@dataclass
class Token:
    role: str
    tenant: str | None
    secret: str
    id: str


@dataclass
class Pools:
    """Identifiers of one tenant's objects, to fill arguments with.

    `objects` holds, by GraphQL type name, argument sets that name one object of that type (a port is
    `switch` + `name`); `by_argument` holds values by argument (or input field) name.
    """

    objects: dict[str, list[dict[str, Any]]]
    by_argument: dict[str, list[Any]]
    fallback_string: str


@dataclass(repr=False)
class World:
    client: httpx.AsyncClient
    store: GraphStore
    tokens: dict[str, Token] = field(default_factory=dict)
    """`admin` (bootstrap provider-admin), `a_admin`, `a_member`, `b_admin`, `b_member`."""
    a_token_ids: set[str] = field(default_factory=set)
    b_token_ids: set[str] = field(default_factory=set)
    b_sent: set[str | int] = field(default_factory=set)
    """Every string and integer tenant B sent, so that B's own attempts in B's audit log are not leaks."""
    requests: int = 0
    trunk_uplinks: bool = True

    def __repr__(self) -> str:
        return f"World(store={self.store.kind}, requests={self.requests})"

    # -- requests

    def secret(self, who: str) -> str:
        return ADMIN_TOKEN if who == "admin" else self.tokens[who].secret

    async def post(self, who: str | None, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        """One GraphQL request as `who` (a key of `tokens`, `admin`, or None for no credentials)."""
        headers = {"Authorization": f"Bearer {self.secret(who)}"} if who else {}
        sent = wire(variables or {})
        if who is not None and who.startswith("b_"):
            self.b_sent |= request_literals(query, sent)
        self.requests += 1
        return await self.client.post("/graphql", json={"query": query, "variables": sent}, headers=headers)

    async def call(self, who: str | None, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A request that must be answered (HTTP 200, JSON, no traceback)."""
        response = await self.post(who, query, variables)
        assert response.status_code == 200, f"HTTP {response.status_code} for {who}: {query}\n{response.text}"
        assert "Traceback" not in response.text, response.text
        return response.json()

    async def ok(self, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.call(who, query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    # -- what B may never see

    @property
    def forbidden(self) -> Forbidden:
        a_vlans, b_vlans = site_vlans(A_CLUSTERS), site_vlans(B_CLUSTERS)
        never_b = frozenset().union(*a_vlans.values()) - frozenset().union(*b_vlans.values())
        by_port = {port: a_vlans.get(site, frozenset()) for port, site in port_sites().items()}
        return Forbidden(frozenset({MARKER, *a_macs(), *self.a_token_ids}), never_b, by_port)

    def leaks(self, body: Any, query: str = "", variables: dict[str, Any] | None = None) -> list[str]:
        return find_leaks(body, self.forbidden, echoes=request_literals(query, wire(variables)), history=self.b_sent)

    def assert_no_leak(self, body: Any, query: str = "", variables: dict[str, Any] | None = None) -> None:
        """Fails with the JSON path of every piece of tenant A in `body` (a response to `query` sent by B)."""
        leaks = self.leaks(body, query, variables)
        assert not leaks, "tenant A leaked to tenant B:\n  " + "\n  ".join(leaks) + f"\nquery: {query}\n{variables}"

    def ghost(self, value: Any) -> Any:
        return ghost(value, self.a_token_ids)

    # -- argument pools

    def a_pools(self) -> Pools:
        a_ids = sorted(self.a_token_ids)
        nodes = [{"name": n} for n in A_NODES]
        return Pools(
            objects={
                "Tenant": [{"name": A_TENANT}],
                "Cluster": [{"name": c, "tenant": A_TENANT} for c in A_CLUSTERS],
                "Node": nodes,
                "Gpu": [{"uuid": f"GPU-{n}-0"} for n in A_NODES],
                "Nic": [{"node": n, "name": A_NIC} for n in A_NODES],
                "Port": [{"switch": s, "name": p} for s, p in A_PORTS.values()],
                "Switch": [{"name": A_LEAF}],
                "Rack": [{"name": "rack-acme"}],
                "Path": [
                    {"fromNode": "acme-n1", "toNode": "bravo-n1"},
                    {"fromNode": "bravo-n1", "toNode": "acme-n1"},
                    {"fromNode": "bravo-n2", "toNode": "acme-n3"},
                    {"fromNode": "acme-n1", "toNode": "acme-n2"},
                ],
                "Neighborhood": [
                    {"name": key, "depth": 4}
                    for key in (
                        "acme-n1",
                        "acme-n3",
                        f"GPU-{A_NODES[0]}-0",
                        f"acme-n1/{A_NIC}",
                        f"{SHARED_LEAF}/eth-acme-1",
                        A_LEAF,
                        "rack-acme",
                    )
                ],
                "ApiToken": [{"id": i, "tenant": A_TENANT} for i in a_ids],
                "AuditEntry": [{"filter": {"tenant": A_TENANT}}, *({"filter": {"actor": f"token:{i}"}} for i in a_ids)],
            },
            by_argument={
                "tenant": [A_TENANT],
                "cluster": list(A_CLUSTERS)[:1],
                "node": ["acme-n1"],
                "nodes": [list(A_NODES[:2])],
                "remove": [list(A_NODES[:1])],
                "removeCount": [1],
                "add": [1],
                "fromNode": ["acme-n1"],
                "toNode": ["acme-n2"],
                "switch": [SHARED_LEAF],
                "port": ["eth-acme-1"],
                "uuid": [f"GPU-{A_NODES[0]}-0"],
                "id": a_ids[:1],
                "rack": ["rack-acme"],
                "namePrefix": [MARKER],
                "actor": [f"token:{i}" for i in a_ids[:1]],
                "vlan": [A_VLANS[0]],
                "depth": [4],
                "after": [Cursor("acme-n1"), Cursor(f"{SHARED_LEAF}/eth-acme-1")],
                "mac": [sorted(a_macs())[0]],
                "nic": [A_NIC],
            },
            fallback_string="acme-corp",
        )

    def b_pools(self) -> Pools:
        return Pools(
            objects={
                "Tenant": [{"name": B_TENANT}],
                "Cluster": [{"name": B_CLUSTER, "tenant": B_TENANT}, {"name": B_CLUSTER}, {"name": B_FAR_CLUSTER}],
                "Node": [{"name": n} for n in B_NODES],
                "Gpu": [{"uuid": f"GPU-{B_NODES[0]}-0"}],
                "Nic": [{"node": n, "name": B_NIC} for n in B_NODES],
                "Port": [{"switch": s, "name": p} for s, p in B_PORTS.values()]
                + [{"switch": SHARED_LEAF, "name": "up1"}, {"switch": SHARED_LEAF2, "name": SITE2_PORTS[0]}],
                "Switch": [{"name": SHARED_LEAF}, {"name": SPINES[0]}, {"name": SHARED_LEAF2}, {"name": SPINE2}],
                "Rack": [{"name": "rack-bravo"}, {"name": "rack-bravo2"}],
                "Site": [{"name": SITE}, {"name": SITE2}],
                "Path": [{"fromNode": "bravo-n1", "toNode": "bravo-n2"}],
                "Neighborhood": [
                    {"name": key, "depth": 4}
                    for key in (
                        SHARED_LEAF,
                        "bravo-n1",
                        SPINES[0],
                        SITE,
                        f"{SHARED_LEAF}/up1",
                        f"{SHARED_LEAF}/eth-bravo-1",
                        SHARED_LEAF2,
                        f"{SHARED_LEAF2}/{SITE2_PORTS[0]}",
                    )
                ],
                "ApiToken": [{"tenant": B_TENANT}],
            },
            by_argument={
                "tenant": [B_TENANT],
                "site": [SITE, SITE2],
                "rack": ["rack-bravo"],
                "namePrefix": ["bravo", "leaf"],
                "switch": [SHARED_LEAF],
                "node": ["bravo-n1"],
                "depth": [4],
                "after": [Cursor("a")],
            },
            fallback_string="bravo-co",
        )

    # -- state as the provider sees it

    async def audit_count(self, tenant: str | None = None) -> int:
        data = await self.ok(
            "admin",
            "query($f: AuditFilter) { auditLog(first: 0, filter: $f) { totalCount } }",
            {"f": {"tenant": tenant}} if tenant else {},
        )
        return int(data["auditLog"]["totalCount"])

    async def newest_audit_entries(self, count: int) -> list[dict[str, Any]]:
        data = await self.ok(
            "admin",
            "query($n: Int) { auditLog(first: $n) { edges { node { seq actor role tenant operation variables "
            "outcome detail } } } }",
            {"n": count},
        )
        return [e["node"] for e in data["auditLog"]["edges"]]


async def _setup(world: World) -> None:
    inventory = world_inventory(trunk_uplinks=world.trunk_uplinks)
    await service.import_inventory(world.store, inventory)

    async def mutate(who: str, query: str, **variables: Any) -> dict[str, Any]:
        return await world.ok(who, query, variables)

    async def token(who: str, name: str, role: str, tenant: str | None, description: str) -> None:
        data = await mutate(
            who,
            "mutation($role: Role!, $tenant: String, $d: String!) { createApiToken(role: $role, tenant: $tenant, "
            "description: $d) { token apiToken { id tenant role } } }",
            role=role,
            tenant=tenant,
            d=description,
        )
        issued = data["createApiToken"]
        world.tokens[name] = Token(role, issued["apiToken"]["tenant"], issued["token"], issued["apiToken"]["id"])

    create_tenant = (
        "mutation($n: String!, $d: String!, $e: String!) "
        "{ createTenant(name: $n, displayName: $d, contactEmail: $e) { name } }"
    )
    await mutate("admin", create_tenant, n=A_TENANT, d="Acme Corp", e="noc@acme.example")
    await mutate("admin", create_tenant, n=B_TENANT, d="Bravo Co", e="ops@bravo.example")
    for tenant, clusters, who in ((A_TENANT, A_CLUSTERS, "Acme"), (B_TENANT, B_CLUSTERS, "Bravo")):
        for cluster, (vlan, members) in clusters.items():
            site = CLUSTER_SITES.get(cluster, SITE)
            await allocate_cluster(
                world.store, tenant, cluster, members, vlan=vlan, site=site, description=f"{cluster} of {who}"
            )

    await token("admin", "a_admin", "TENANT_ADMIN", A_TENANT, "acme admin")
    await token("admin", "a_member", "TENANT_MEMBER", A_TENANT, "acme member")
    await token("admin", "b_admin", "TENANT_ADMIN", B_TENANT, "bravo admin")
    await token("admin", "b_member", "TENANT_MEMBER", B_TENANT, "bravo member")
    # A's own activity: audit entries of A, and a token A made and revoked.
    await mutate(
        "a_admin",
        'mutation { updateCluster(name: "acme-train", description: "acme secret project") { name } }',
    )
    await token("a_admin", "a_ci", "TENANT_MEMBER", None, "acme-ci")
    await mutate("a_admin", "mutation($id: ID!) { revokeApiToken(id: $id) { id } }", id=world.tokens["a_ci"].id)
    denied = await world.call("a_admin", 'mutation { createTenant(name: "acme-shadow") { name } }')
    assert [e["extensions"]["code"] for e in denied["errors"]] == ["FORBIDDEN"]
    await world.ok("a_member", "{ viewer { subject } clusters { totalCount } }")

    world.a_token_ids = {t.id for t in world.tokens.values() if t.tenant == A_TENANT}
    world.b_token_ids = {t.id for t in world.tokens.values() if t.tenant == B_TENANT}
    world.b_sent.clear()


WALK_LIMITS: dict[str, Any] = {
    "max_query_cost": 10**15,
    "rate_limit_per_s": 1e6,
    "rate_limit_burst": 10**6,
    "max_aliases": 1000,
}
"""Settings for walks: the limits are tested elsewhere; here they must not refuse a walk."""


@asynccontextmanager
async def open_world(
    store: GraphStore, tmp_path: Path, *, trunk_uplinks: bool = True, **settings: Any
) -> AsyncIterator[World]:
    """The app on `store` with the world loaded; `settings` override WALK_LIMITS."""
    app = create_app(make_settings(tmp_path, **{**WALK_LIMITS, **settings}), store=store)
    transport = httpx.ASGITransport(app=app, client=CLIENT)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client,
    ):
        world = World(client, store, trunk_uplinks=trunk_uplinks)
        await _setup(world)
        yield world


async def introspected_schema(world: World) -> GraphQLSchema:
    """The schema as a client learns it: by introspection (with the provider's token; tenants may not)."""
    return build_client_schema(await world.ok("admin", get_introspection_query(descriptions=False)))  # type: ignore[arg-type]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]


def strings_in(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for v in document.values():
            yield from strings_in(v)
    elif isinstance(document, list):
        for v in document:
            yield from strings_in(v)
