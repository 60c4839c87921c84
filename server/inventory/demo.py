"""Deterministic demo fabrics: a rail-optimized GPU cluster of any size, as an `Inventory`.

`generate_fabric(1024)` returns the inventory of a cluster shaped like an NVIDIA DGX SuperPOD
or a Meta RoCE cluster, from 16 GPUs up to 100,000 and beyond. The shape, with the defaults
of `FabricParams` (8-GPU nodes):

- Scalable unit (SU): 32 nodes in 8 racks of 4, plus one network rack. Rail-optimized: the
  rail-r NIC of every node of the SU is cabled to the SU's rail-r leaf
  (`leaf-p01-su02-r3`, an SN5400 with 64x400G: swp1-32 down to the nodes, swp33-64 up).
- Spine pod: 4 SUs (128 nodes, 32 leaves) and 16 spines (`spine-p01-07`, SN5600 run as
  128x400G: swp1-64 down, swp65-128 up). Every leaf has 2 links to every spine of its pod.
  A one-pod fabric of fewer SUs gets proportionally fewer spines (at least `min_spines`), each
  with more links per leaf, so that rail r of one node still reaches rail s of another.
- Core: with more than one pod, spine j of every pod is in plane j, and each plane has its
  own cores (`core-003`, modular chassis sized in 36-port line cards); every spine has its 64
  uplinks spread evenly over the cores of its plane, so the fabric stays non-blocking.
- Frontend: one `fe-su02` switch per SU (role `leaf`, pod empty: only backend leaves and
  spines carry a pod) takes every node's 100G `fe0`. OOB: one `oob-su02` switch per SU
  (role `oob`) takes every BMC NIC `bmc0`. With more than one SU they uplink to
  `fe-core-01/02` (role `core`) and `oob-core-01/02` (role `oob`); those, backend cores and
  OOB switches have an empty pod.
- Sites: the main site `moc-mghpcc` (US, HIPAA). For 64 GPUs or more a small EU site
  `eu-fra1` (DE, GDPR) takes `eu_gpus` of the total with its own leaves, spines, frontend and
  OOB switch; its device, rack and pod names start with `fra-`.

In `nvl72` mode nodes are GB200 compute trays of 4 GPUs, 18 trays per NVL72 rack share one
`nvlink_domain` (the rack name); an SU is 2 racks (36 trays), a pod 4 SUs (8 racks, 576 GPUs).

Devices: every BMC and switch uses the simulated `sim` driver at `sim://<name>`, so a demo runs
end to end without hardware; `metalgraph.server.devices.demo_lab.seed_lab` creates those devices
(ports, LLDP neighbours as cabled, BMC inventories) in a `SimLab`.

Ports are `swpN` with `index` N. Every physical port of a switch is listed: cabled ports are
`up`, free ones `down`; node-facing ports of leaves and frontend switches are `access` on the
quarantine VLAN 4000 (where free nodes wait), fabric links `trunk` (the cluster lifecycle carries
tenant VLANs on them where needed, in `allowed_vlans`).

Determinism: all randomness comes from one `random.Random(seed)`: the GPU generation and
server vendor of each SU after the first (the first SU is always H100), which nodes are in
maintenance or warn, and the salts of serials, GPU UUIDs and MACs. Names, racks, cabling and
counts depend only on the size. UUIDs, MACs and serials are bijective mixes of a counter, so
they are unique without bookkeeping.

Immutable values that are equal everywhere (the ports of two leaves, a node's NVLink and
PCIe tables) are shared between devices rather than copied; the models are frozen, so this
is invisible except in memory. Generation validates every object through pydantic (from plain
dicts, one pydantic-core call per node or link) with the cyclic GC paused: 100,000 GPUs take
about 5 s of CPU and 0.7 GB.
"""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from .model import (
    Inventory,
    Link,
    Node,
    NvLink,
    PcieAffinity,
    PciePath,
    Port,
    PortMode,
    Rack,
    Site,
    Switch,
    SwitchRole,
)
from .vlans import DEFAULT_QUARANTINE_VLAN

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SwitchModel:
    name: str
    ports: int
    """Physical ports; 0 for a modular chassis sized to its cabling in `line_card` steps."""
    height_u: int = 1
    line_card: int = 36


@dataclass(frozen=True)
class NodeModel:
    vendor: str
    model: str
    cpu_model: str
    cpu_cores: int
    """Cores of all sockets together (2x 56-core = 112)."""
    gpu_model: str
    gpu_memory_gb: float
    serial_prefix: str
    memory_gb: float = 2048
    storage_gb: float = 30_720


SN5400 = SwitchModel("NVIDIA Spectrum-4 SN5400", 64)
SN5600 = SwitchModel("NVIDIA Spectrum-4 SN5600", 128, height_u=2)  # 64x800G split into 128x400G
SN4600C = SwitchModel("NVIDIA Spectrum-2 SN4600C", 64)
SN2201 = SwitchModel("NVIDIA Spectrum SN2201", 52)  # 48x1G RJ45 + 4x100G
CHASSIS = SwitchModel("Arista 7816R3", 0, height_u=29)  # 16 slots of 36x400G line cards

H100_NODES = (
    NodeModel("Dell", "PowerEdge XE9680", "Intel Xeon Platinum 8480+", 112, "H100-SXM5-80GB", 80, "DL"),
    NodeModel("Supermicro", "SYS-821GE-TNHR", "Intel Xeon Platinum 8480+", 112, "H100-SXM5-80GB", 80, "SM"),
    NodeModel("NVIDIA", "DGX H100", "Intel Xeon Platinum 8480C", 112, "H100-SXM5-80GB", 80, "NV"),
)
A100_NODES = (
    NodeModel("NVIDIA", "DGX A100", "AMD EPYC 7742", 128, "A100-SXM4-80GB", 80, "NV"),
    NodeModel("Supermicro", "AS-4124GO-NART", "AMD EPYC 7763", 128, "A100-SXM4-80GB", 80, "SM"),
)
GB200_NODES = (
    NodeModel(
        "NVIDIA",
        "GB200 NVL72 compute tray",
        "NVIDIA Grace",
        144,
        "GB200-186GB",
        186,
        "NV",
        memory_gb=960,
        storage_gb=15_360,
    ),
)

MAIN_SITE = Site(name="moc-mghpcc", region="us-east", country="US", jurisdiction="US", certifications=("HIPAA",))
EU_SITE = Site(name="eu-fra1", region="eu-central", country="DE", jurisdiction="EU", certifications=("GDPR",))
EU_PREFIX = "fra-"


@dataclass(frozen=True)
class FabricParams:
    """The shape of a fabric. The defaults are DGX H100-class nodes (`DGX_H100`); `NVL72` is the
    GB200 NVL72 variant. `check()` rejects shapes whose switches run out of ports."""

    gpus_per_node: int = 8
    """Also the number of rails: one 400G backend NIC per GPU."""
    rack_u: tuple[int, ...] = (1, 11, 21, 31)
    """U position of each node in a compute rack; its length is the nodes per rack."""
    nvlink_per_rack: bool = False
    """NVLink domain = the rack (NVL72) instead of the node (NVSwitch inside the node)."""
    nodes_per_su: int = 32
    sus_per_pod: int = 4
    spines_per_pod: int = 16
    min_spines: int = 2
    leaf_uplinks: int = 32
    spine_uplinks: int = 64
    core_max_ports: int = 576
    rack_u_capacity: int = 42
    racks_per_row: int = 40
    """Only for rows of network racks (cores); a pod's row holds all of its racks."""
    backend_gbps: float = 400
    frontend_gbps: float = 100
    bmc_gbps: float = 1
    mgmt_uplink_gbps: float = 100
    leaf: SwitchModel = SN5400
    spine: SwitchModel = SN5600
    core: SwitchModel = CHASSIS
    frontend: SwitchModel = SN4600C
    oob: SwitchModel = SN2201
    oob_access_ports: int = 48
    mgmt_core: SwitchModel = CHASSIS
    node_models: tuple[tuple[NodeModel, ...], ...] = (H100_NODES, A100_NODES)
    """Node models by GPU generation; the first generation is the majority."""
    minority_su_fraction: float = 0.125
    maintenance_fraction: float = 0.01
    warning_fraction: float = 0.01
    eu_gpus: int = 32
    eu_min_gpus: int = 64

    @property
    def nodes_per_rack(self) -> int:
        return len(self.rack_u)

    @property
    def leaves_per_pod(self) -> int:
        return self.sus_per_pod * self.gpus_per_node

    @property
    def spine_downlinks(self) -> int:
        """Spine ports facing leaves in a full pod; uplinks start after them."""
        return self.leaves_per_pod * self.leaf_uplinks // self.spines_per_pod

    def check(self) -> None:
        problems = []
        if self.leaf_uplinks % self.spines_per_pod:
            problems.append("leaf_uplinks must be a multiple of spines_per_pod")
        if self.nodes_per_su + self.leaf_uplinks > self.leaf.ports:
            problems.append(f"a leaf has {self.leaf.ports} ports, fewer than nodes_per_su + leaf_uplinks")
        if self.spine_downlinks + self.spine_uplinks > self.spine.ports:
            problems.append(f"a spine has {self.spine.ports} ports, fewer than its down- and uplinks")
        if not 1 <= self.min_spines <= self.spines_per_pod:
            problems.append("min_spines must be between 1 and spines_per_pod")
        if self.nodes_per_su > self.oob_access_ports or self.nodes_per_su + 2 > self.frontend.ports:
            problems.append("nodes_per_su exceeds the frontend or OOB switch")
        if problems:
            raise ValueError("; ".join(problems))


DGX_H100 = FabricParams()
NVL72 = FabricParams(
    gpus_per_node=4,
    rack_u=(*range(1, 11), *range(20, 28)),  # 10 trays, 9 NVSwitch trays (u11-19), 8 trays
    nvlink_per_rack=True,
    nodes_per_su=36,
    spines_per_pod=9,
    leaf_uplinks=36,
    leaf=SN5600,
    node_models=(GB200_NODES,),
    minority_su_fraction=0.0,
)


def generate_fabric(
    gpus: int,
    seed: int = 0,
    nvl72: bool = False,
    progress: Progress | None = None,
    params: FabricParams | None = None,
) -> Inventory:
    """A rail-optimized fabric of `gpus` GPUs (rounded up to whole nodes), the same for a seed."""
    p = params or (NVL72 if nvl72 else DGX_H100)
    p.check()
    if gpus < 1:
        raise ValueError("gpus must be at least 1")
    nodes = math.ceil(gpus / p.gpus_per_node)
    eu_nodes = p.eu_gpus // p.gpus_per_node if gpus >= p.eu_min_gpus else 0
    eu_nodes = eu_nodes if eu_nodes < nodes else 0
    sites = [(MAIN_SITE, "", nodes - eu_nodes)] + ([(EU_SITE, EU_PREFIX, eu_nodes)] if eu_nodes else [])
    total = sum(math.ceil(n / p.nodes_per_su) for _, _, n in sites) + 1
    b = _Builder(p, random.Random(seed), progress, total)
    # A million acyclic objects: the cyclic GC would only rescan them (half the run time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for site, prefix, n in sites:
            b.site(site, prefix, n)
        inventory = Inventory(
            sites=tuple(site for site, _, _ in sites),
            racks=tuple(b.racks),
            switches=tuple(b.switches),
            nodes=tuple(b.nodes),
            links=tuple(b.links),
        )
    finally:
        if gc_was_enabled:
            gc.enable()
    b.tick()
    return inventory


# --- small pure helpers -----------------------------------------------------------------

_MUL = 0x9E3779B97F4A7C15  # odd, so n -> n * _MUL mod 2**bits is a bijection


def _mix(n: int, salt: int, bits: int) -> int:
    """A bijection of `bits`-bit integers that looks random: unique in, unique out."""
    mask = (1 << bits) - 1
    x = (n * _MUL + salt) & mask
    return x ^ (x >> (bits // 2))


def _row(i: int) -> str:
    """Row letters: A..Z, AA, AB, ..."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _width(n: int) -> int:
    return max(2, len(str(n)))


@cache
def _port_names(count: int) -> tuple[str, ...]:
    return tuple(f"swp{i}" for i in range(count + 1))  # [0] unused: ports are numbered from 1


Segment = tuple[int, int, float, str, int]
"""(first port, count, speed, mode, how many of them, from the first, are cabled). Mode `tenant` is an
access port facing a node's tenant NIC: it starts on the site's quarantine VLAN, as free nodes do."""


@cache
def _ports(total: int, default_gbps: float, segments: tuple[Segment, ...]) -> tuple[Port, ...]:
    """All ports of a switch; switches cabled alike share one (immutable) tuple."""
    names = _port_names(total)
    spec: dict[int, tuple[float, str, str]] = {}
    for first, count, gbps, mode, used in segments:
        for k in range(count):
            spec[first + k] = (gbps, mode, "up" if k < used else "down")
    ports = []
    for i in range(1, total + 1):
        gbps, mode, status = spec.get(i, (default_gbps, "access", "down"))
        vlan = DEFAULT_QUARANTINE_VLAN if mode == "tenant" else None
        port_mode = PortMode.ACCESS if mode == "tenant" else PortMode(mode)
        ports.append(
            Port(name=names[i], index=i, speed_gbps=gbps, mode=port_mode, access_vlan=vlan, oper_status=status)
        )
    return tuple(ports)


@cache
def _node_tables(gpus: int) -> tuple[tuple[NvLink, ...], tuple[PcieAffinity, ...]]:
    nvlinks = tuple(NvLink(a=a, b=b, links=18) for a in range(gpus) for b in range(a + 1, gpus))
    pcie = tuple(
        PcieAffinity(gpu=g, nic=nic, path=path)
        for g in range(gpus)
        for nic, path in ((f"rail{g}", PciePath.PIX), ("fe0", PciePath.SYS))
    )
    return nvlinks, pcie


def _chassis_ports(model: SwitchModel, used: int) -> int:
    return model.ports or max(1, math.ceil(used / model.line_card)) * model.line_card


def _spines_in_pod(p: FabricParams, sus: int) -> int:
    """Spines of a lone pod of `sus` SUs: enough for its leaves, dividing the leaf uplinks."""
    n = max(p.min_spines, math.ceil(p.spines_per_pod * sus / p.sus_per_pod))
    while p.leaf_uplinks % n:
        n += 1
    return n


def _core_plan(p: FabricParams, pods: int) -> tuple[int, int]:
    """(cores per plane, links from each spine to each core of its plane)."""
    for per_plane in range(1, p.spine_uplinks + 1):
        if p.spine_uplinks % per_plane == 0 and pods * (p.spine_uplinks // per_plane) <= p.core_max_ports:
            return per_plane, p.spine_uplinks // per_plane
    raise ValueError(f"{pods} spine pods need more than {p.core_max_ports} ports per core")


def _link(sa: str, pa: str, sb: str, pb: str, gbps: float) -> Link:
    # model_validate of plain dicts: one call into pydantic-core instead of three __init__s
    return Link.model_validate({"a": {"switch": sa, "port": pa}, "b": {"switch": sb, "port": pb}, "speed_gbps": gbps})


# --- the builder: one method per layer ----------------------------------------------------


@dataclass
class _SiteNames:
    """Names of one site's devices; number widths grow with the site so that names sort."""

    prefix: str
    nodes: int
    sus: int
    pods: int
    cores: int

    def node(self, i: int) -> str:
        return f"{self.prefix}gpu-{i + 1:0{max(4, len(str(self.nodes)))}d}"

    def pod(self, pod: int) -> str:
        return f"{self.prefix}pod-{pod + 1:0{_width(self.pods)}d}"

    def leaf(self, pod: int, su: int, rail: int) -> str:
        return f"{self.prefix}leaf-p{pod + 1:0{_width(self.pods)}d}-su{su + 1:0{_width(self.sus)}d}-r{rail}"

    def spine(self, pod: int, j: int) -> str:
        return f"{self.prefix}spine-p{pod + 1:0{_width(self.pods)}d}-{j + 1:02d}"

    def core(self, i: int) -> str:
        return f"{self.prefix}core-{i + 1:0{_width(self.cores)}d}"

    def fe(self, su: int) -> str:
        return f"{self.prefix}fe-su{su + 1:0{_width(self.sus)}d}"

    def oob(self, su: int) -> str:
        return f"{self.prefix}oob-su{su + 1:0{_width(self.sus)}d}"


@dataclass
class _Racks:
    """Opens racks along a row of a site (`rack-b07`) and packs network gear into them."""

    builder: _Builder
    site: Site
    prefix: str
    row: int
    number: int = 1
    wrap: bool = False
    """Move on to the next row after `racks_per_row` racks (rows of network racks)."""

    def new(self) -> str:
        p = self.builder.p
        if self.wrap and self.number > p.racks_per_row:
            self.row, self.number = self.row + 1, 1
        letters = _row(self.row)
        name = f"{self.prefix}rack-{letters.lower()}{self.number:02d}"
        self.builder.racks.append(Rack(name=name, site=self.site.name, row=letters))
        self.number += 1
        return name

    def place(self, heights: list[int]) -> list[tuple[str, int]]:
        """Pack devices bottom-up into new racks: (rack, u) of each."""
        capacity = self.builder.p.rack_u_capacity
        rack, u, out = "", capacity + 1, []
        for h in heights:
            if u + h - 1 > capacity:
                rack, u = self.new(), 1
            out.append((rack, u))
            u += h
        return out


@dataclass
class _Builder:
    p: FabricParams
    rng: random.Random
    progress: Progress | None
    total_steps: int
    racks: list[Rack] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    steps: int = 0
    gpu_seq: int = 0
    nic_seq: int = 0
    node_seq: int = 0

    def __post_init__(self) -> None:
        bits = self.rng.getrandbits
        self.salts = (bits(64), bits(64), bits(40), bits(40))

    def tick(self) -> None:
        self.steps += 1
        if self.progress is not None:
            self.progress(self.steps, self.total_steps)

    # identities: bijective mixes of counters, so unique by construction

    def serial(self, model: NodeModel) -> str:
        self.node_seq += 1
        return f"{model.serial_prefix}{_mix(self.node_seq, self.salts[2], 40):010X}"

    def gpu_uuid(self) -> str:
        self.gpu_seq += 1
        h = f"{_mix(self.gpu_seq, self.salts[0], 64):016x}{_mix(self.gpu_seq, self.salts[1], 64):016x}"
        return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def mac(self) -> str:
        self.nic_seq += 1
        return "02:" + _mix(self.nic_seq, self.salts[3], 40).to_bytes(5, "big").hex(":")

    # layers

    def site(self, site: Site, prefix: str, nodes: int) -> None:
        p = self.p
        sus = math.ceil(nodes / p.nodes_per_su)
        pods = math.ceil(sus / p.sus_per_pod)
        spines = p.spines_per_pod if pods > 1 else _spines_in_pod(p, sus)
        per_plane, per_core = _core_plan(p, pods) if pods > 1 else (0, 0)
        names = _SiteNames(prefix, nodes, sus, pods, per_plane * spines)
        for pod in range(pods):
            racks = _Racks(self, site, prefix, row=pod)  # one row per pod
            pod_sus = range(pod * p.sus_per_pod, min(sus, (pod + 1) * p.sus_per_pod))
            for su in pod_sus:
                first = su * p.nodes_per_su
                self.su(racks, names, pod, su, range(first, min(nodes, first + p.nodes_per_su)), spines)
                self.tick()
            self.spines(racks, names, pod, len(pod_sus), spines, per_plane, per_core)
        network = _Racks(self, site, prefix, row=pods, wrap=True)  # rows of network racks
        if pods > 1:
            self.cores(network, names, spines * per_plane, pods * per_core)
        if sus > 1:
            self.mgmt_cores(network, names)

    def su(self, racks: _Racks, names: _SiteNames, pod: int, su: int, nodes: range, spines: int) -> None:
        """One SU: its compute racks and nodes, then a network rack with its leaves, fe and OOB."""
        p = self.p
        leaves = [names.leaf(pod, su, r) for r in range(p.gpus_per_node)]
        fe, oob = names.fe(su), names.oob(su)
        generations = p.node_models
        minority = su > 0 and len(generations) > 1 and self.rng.random() < p.minority_su_fraction
        model = self.rng.choice(generations[1] if minority else generations[0])
        rack = ""
        for k, i in enumerate(nodes):
            slot = k % p.nodes_per_rack
            if slot == 0:
                rack = racks.new()
            self.node(names.node(i), rack, p.rack_u[slot], model, leaves, fe, oob, k)

        n = len(nodes)
        places = racks.place([p.leaf.height_u] * len(leaves) + [p.frontend.height_u, p.oob.height_u])
        up = p.nodes_per_su + 1  # first uplink port of leaves and fe switches
        per_spine = p.leaf_uplinks // spines
        first_leaf = (su % p.sus_per_pod) * p.gpus_per_node
        leaf_ports = _ports(
            p.leaf.ports,
            p.backend_gbps,
            (
                (1, p.nodes_per_su, p.backend_gbps, "tenant", n),
                (up, p.leaf_uplinks, p.backend_gbps, "trunk", p.leaf_uplinks),
            ),
        )
        leaf_names, spine_names = _port_names(p.leaf.ports), _port_names(p.spine.ports)
        for r, leaf in enumerate(leaves):
            self.switch(leaf, places[r], "leaf", p.leaf, names.pod(pod), leaf_ports)
            down = 1 + (first_leaf + r) * per_spine  # this leaf's first port on every spine
            for j in range(spines):
                spine = names.spine(pod, j)
                for x in range(per_spine):
                    self.links.append(
                        _link(leaf, leaf_names[up + j * per_spine + x], spine, spine_names[down + x], p.backend_gbps)
                    )

        mgmt = 2 if names.sus > 1 else 0  # uplinks to the two fe-core / oob-core switches
        fe_ports = _ports(
            p.frontend.ports,
            p.frontend_gbps,
            (
                (1, p.nodes_per_su, p.frontend_gbps, "tenant", n),
                (up, 2, p.mgmt_uplink_gbps, "trunk", mgmt),
            ),
        )
        oob_ports = _ports(
            p.oob.ports,
            p.mgmt_uplink_gbps,
            (
                (1, p.oob_access_ports, p.bmc_gbps, "access", n),
                (p.oob_access_ports + 1, p.oob.ports - p.oob_access_ports, p.mgmt_uplink_gbps, "trunk", mgmt),
            ),
        )
        self.switch(fe, places[-2], "leaf", p.frontend, "", fe_ports)
        self.switch(oob, places[-1], "oob", p.oob, "", oob_ports)

    def node(self, name: str, rack: str, u: int, m: NodeModel, leaves: list[str], fe: str, oob: str, k: int) -> None:
        """A node cabled to port k+1 of its SU's leaves, fe and OOB switch."""
        p = self.p
        domain = rack if p.nvlink_per_rack else name
        port = f"swp{k + 1}"
        gpus = [
            {
                "index": g,
                "uuid": self.gpu_uuid(),
                "model": m.gpu_model,
                "memory_gb": m.gpu_memory_gb,
                "nvlink_domain": domain,
            }
            for g in range(p.gpus_per_node)
        ]
        nics = [
            {
                "name": f"rail{r}",
                "mac": self.mac(),
                "speed_gbps": p.backend_gbps,
                "role": "backend",
                "rail": r,
                "port": {"switch": leaf, "port": port},
            }
            for r, leaf in enumerate(leaves)
        ]
        nics.append(
            {
                "name": "fe0",
                "mac": self.mac(),
                "speed_gbps": p.frontend_gbps,
                "role": "frontend",
                "port": {"switch": fe, "port": port},
            }
        )
        nics.append(
            {
                "name": "bmc0",
                "mac": self.mac(),
                "speed_gbps": p.bmc_gbps,
                "role": "bmc",
                "port": {"switch": oob, "port": port},
            }
        )
        roll = self.rng.random()
        maintenance = roll < p.maintenance_fraction
        warning = not maintenance and roll < p.maintenance_fraction + p.warning_fraction
        nvlinks, pcie = _node_tables(p.gpus_per_node)
        self.nodes.append(
            Node.model_validate(
                {
                    "name": name,
                    "rack": rack,
                    "u": u,
                    "serial": self.serial(m),
                    "vendor": m.vendor,
                    "model": m.model,
                    "cpu_model": m.cpu_model,
                    "cpu_cores": m.cpu_cores,
                    "memory_gb": m.memory_gb,
                    "storage_gb": m.storage_gb,
                    "state": "maintenance" if maintenance else "available",
                    "power_state": "off",
                    "health": "warning" if warning else "ok",
                    "bmc": {"driver": "sim", "address": f"sim://{name}"},
                    "gpus": gpus,
                    "nics": nics,
                    "nvlinks": nvlinks,
                    "pcie": pcie,
                }
            )
        )

    def switch(
        self, name: str, place: tuple[str, int], role: str, model: SwitchModel, pod: str, ports: tuple[Port, ...]
    ) -> None:
        self.switches.append(
            Switch(
                name=name,
                rack=place[0],
                u=place[1],
                role=SwitchRole(role),
                model=model.name,
                mgmt_address=f"sim://{name}",
                driver="sim",
                pod=pod,
                ports=ports,
            )
        )

    def spines(
        self, racks: _Racks, names: _SiteNames, pod: int, sus: int, spines: int, per_plane: int, per_core: int
    ) -> None:
        """A pod's spines, in a rack at the end of the pod's row, and their links to the core.

        Spine j is in core plane j; it links to each of the plane's `per_plane` cores
        `per_core` times, on ports right after its downlinks."""
        p = self.p
        down = p.spine_downlinks
        used_down = sus * p.gpus_per_node * (p.leaf_uplinks // spines)
        ports = _ports(
            p.spine.ports,
            p.backend_gbps,
            (
                (1, down, p.backend_gbps, "trunk", used_down),
                (down + 1, p.spine_uplinks, p.backend_gbps, "trunk", p.spine_uplinks if per_plane else 0),
            ),
        )
        spine_names = _port_names(p.spine.ports)
        core_names = _port_names(_chassis_ports(p.core, names.pods * per_core) if per_core else 0)
        for j, place in enumerate(racks.place([p.spine.height_u] * spines)):
            spine = names.spine(pod, j)
            self.switch(spine, place, "spine", p.spine, names.pod(pod), ports)
            for c in range(per_plane):
                core = names.core(j * per_plane + c)
                for x in range(per_core):
                    self.links.append(
                        _link(
                            spine,
                            spine_names[down + 1 + c * per_core + x],
                            core,
                            core_names[1 + pod * per_core + x],
                            p.backend_gbps,
                        )
                    )

    def cores(self, racks: _Racks, names: _SiteNames, count: int, used: int) -> None:
        p = self.p
        total = _chassis_ports(p.core, used)
        ports = _ports(total, p.backend_gbps, ((1, total, p.backend_gbps, "trunk", used),))
        for i, place in enumerate(racks.place([p.core.height_u] * count)):
            self.switch(names.core(i), place, "core", p.core, "", ports)

    def mgmt_cores(self, racks: _Racks, names: _SiteNames) -> None:
        """Two frontend and two OOB aggregation switches; each fe and OOB switch links to both."""
        p = self.p
        total = _chassis_ports(p.mgmt_core, names.sus)
        ports = _ports(total, p.mgmt_uplink_gbps, ((1, total, p.mgmt_uplink_gbps, "trunk", names.sus),))
        core_names = _port_names(total)
        places = iter(racks.place([p.mgmt_core.height_u] * 4))
        kinds = (
            ("fe", "core", names.fe, p.nodes_per_su, _port_names(p.frontend.ports)),
            ("oob", "oob", names.oob, p.oob_access_ports, _port_names(p.oob.ports)),
        )
        for kind, role, device, first_up, device_ports in kinds:
            for m in (1, 2):
                core = f"{names.prefix}{kind}-core-{m:02d}"
                self.switch(core, next(places), role, p.mgmt_core, "", ports)
                for su in range(names.sus):
                    self.links.append(
                        _link(device(su), device_ports[first_up + m], core, core_names[su + 1], p.mgmt_uplink_gbps)
                    )
