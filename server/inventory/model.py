"""The declarative inventory format: what a provider writes in YAML or JSON.

These pydantic models are the one definition of the file format; the JSON Schema
(`metalgraph schema inventory`) is generated from them. Devices nest what they contain
(a node its GPUs and NICs, a switch its ports), so a validation error names a path such
as `nodes[12].gpus[3].model`. Cross-references (a rack's site, a NIC's switch port) are
checked by `validate_references` after parsing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from .vlans import DEFAULT_QUARANTINE_VLAN, DEFAULT_VLAN_POOL, MAX_VLAN, MIN_VLAN, in_ranges, vlan_ranges

Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
PortName = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")]
"""Port names may hold slashes (`Ethernet1/1`, `xe-0/0/1`); switch names may not, so `switch/port` stays unambiguous."""
MacAddress = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$", to_lower=True)]
Gbps = Annotated[float, Field(gt=0, le=100_000)]
MAX_GPUS_PER_NODE = 16
"""The largest GPU servers (HGX-2 class) hold 16; a GB200 NVL72 compute tray holds 4."""
MAX_NICS_PER_NODE = 32
"""A DGX H100 has 8 backend NICs, 2 frontend DPUs, storage and BMC ports: 32 leaves room for twice that."""
MAX_PORTS_PER_SWITCH = 1024
"""The largest modular chassis carry 576 400G ports (1,152 at 200G breakout is not modelled); the demo's
management cores take one port per scalable unit, 720 at 100,000 NVL72 GPUs."""
MAX_NODES_PER_RACK = 128
"""Two nodes per U in a 64 U rack (2U4N chassis); an NVL72 rack holds 18 compute trays."""
MAX_SWITCHES_PER_RACK = 64
"""One switch per U in the tallest racks."""
MAX_RACKS_PER_SITE = 16_384
"""The demo's 100,000-GPU site has about 3,900 racks."""
CREDENTIALS_REFERENCE = (
    "The name of the device's credentials in the secrets file (`[name]` table) or the environment "
    "(`METALGRAPH_SECRET_<NAME>_<FIELD>`); never a secret value. Unset when the driver needs none."
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True, validate_default=True)


class NodeState(StrEnum):
    AVAILABLE = "available"
    ALLOCATED = "allocated"
    MAINTENANCE = "maintenance"
    SANITIZING = "sanitizing"
    FAILED = "failed"


class PowerState(StrEnum):
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"


class Health(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


class NicRole(StrEnum):
    BACKEND = "backend"
    FRONTEND = "frontend"
    STORAGE = "storage"
    BMC = "bmc"


class SwitchRole(StrEnum):
    LEAF = "leaf"
    SPINE = "spine"
    CORE = "core"
    OOB = "oob"


class PortMode(StrEnum):
    ACCESS = "access"
    TRUNK = "trunk"
    ROUTED = "routed"


class PciePath(StrEnum):
    """nvidia-smi topo classes, nearest first."""

    PIX = "PIX"
    PXB = "PXB"
    PHB = "PHB"
    NODE = "NODE"
    SYS = "SYS"


class Site(Strict):
    name: Name
    region: str = ""
    country: Annotated[str, StringConstraints(pattern=r"^([A-Z]{2})?$")] = ""
    jurisdiction: str = ""
    certifications: tuple[str, ...] = ()
    vlan_pool: str = Field(
        default=DEFAULT_VLAN_POOL,
        description="The VLAN ids clusters in this site get theirs from: ascending, non-overlapping ranges "
        "of ids in 2..4094, e.g. `1000-3999` or `100-199,300-399`.",
    )
    quarantine_vlan: Annotated[int, Field(ge=MIN_VLAN, le=MAX_VLAN)] = Field(
        default=DEFAULT_QUARANTINE_VLAN,
        description="The VLAN of node ports that are in no cluster; outside the VLAN pool.",
    )

    @field_validator("vlan_pool")
    @classmethod
    def _pool_parses(cls, value: str) -> str:
        vlan_ranges(value)  # a ValueError here is reported at `vlan_pool`
        return value

    @field_validator("quarantine_vlan")
    @classmethod
    def _quarantine_outside_pool(cls, value: int, info: ValidationInfo) -> int:
        pool = info.data.get("vlan_pool")  # absent when the pool itself was invalid
        if pool is not None and in_ranges(vlan_ranges(pool), value):
            raise ValueError(f"quarantine VLAN {value} lies inside vlan_pool {pool!r}; pick one outside the pool")
        return value


class Rack(Strict):
    name: Name
    site: Name
    row: str = ""


class Bmc(Strict):
    """How to reach a node's BMC. Never a secret: credentials live outside the graph."""

    driver: Name
    address: str
    credentials: Name | None = Field(default=None, description=CREDENTIALS_REFERENCE)


class Gpu(Strict):
    index: Annotated[int, Field(ge=0, lt=1024)]
    uuid: Name
    model: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    memory_gb: Annotated[float, Field(gt=0)]
    nvlink_domain: str = ""


class PortRef(Strict):
    switch: Name
    port: PortName


class Nic(Strict):
    name: Name
    mac: MacAddress
    speed_gbps: Gbps
    role: NicRole = NicRole.BACKEND
    rail: Annotated[int, Field(ge=0)] | None = None
    port: PortRef | None = None
    """The switch port this NIC is cabled to (the intended cabling)."""


class NvLink(Strict):
    """NVLink between two GPUs of the same node, by GPU index."""

    a: Annotated[int, Field(ge=0)]
    b: Annotated[int, Field(ge=0)]
    links: Annotated[int, Field(ge=1)] = 1


class PcieAffinity(Strict):
    gpu: Annotated[int, Field(ge=0)]
    nic: Name
    path: PciePath


class Node(Strict):
    name: Name
    rack: Name
    u: Annotated[int, Field(ge=0, le=64)] | None = None
    serial: str = ""
    vendor: str = ""
    model: str = ""
    cpu_model: str = ""
    cpu_cores: Annotated[int, Field(ge=0)] = 0
    memory_gb: Annotated[float, Field(ge=0)] = 0
    storage_gb: Annotated[float, Field(ge=0)] = 0
    state: NodeState = NodeState.AVAILABLE
    power_state: PowerState = PowerState.UNKNOWN
    health: Health = Health.UNKNOWN
    bmc: Bmc | None = None
    gpus: tuple[Gpu, ...] = Field(default=(), max_length=MAX_GPUS_PER_NODE)
    nics: tuple[Nic, ...] = Field(default=(), max_length=MAX_NICS_PER_NODE)
    nvlinks: tuple[NvLink, ...] = ()
    pcie: tuple[PcieAffinity, ...] = ()


class Port(Strict):
    name: PortName
    index: Annotated[int, Field(ge=0)]
    speed_gbps: Gbps
    mode: PortMode = PortMode.ACCESS
    access_vlan: Annotated[int, Field(ge=1, le=4094)] | None = None
    allowed_vlans: tuple[Annotated[int, Field(ge=1, le=4094)], ...] = ()
    oper_status: str = "unknown"


class Switch(Strict):
    name: Name
    rack: Name
    u: Annotated[int, Field(ge=0, le=64)] | None = None
    role: SwitchRole
    model: str = ""
    mgmt_address: str = ""
    driver: Name = "sim"
    credentials: Name | None = Field(default=None, description=CREDENTIALS_REFERENCE)
    pod: str = ""
    """The spine pod (block) a leaf or spine belongs to; empty for cores and OOB switches."""
    ports: tuple[Port, ...] = Field(default=(), max_length=MAX_PORTS_PER_SWITCH)


class Link(Strict):
    """A cable between two switch ports (the intended cabling of the fabric)."""

    a: PortRef
    b: PortRef
    speed_gbps: Gbps


class Inventory(Strict):
    sites: tuple[Site, ...] = ()
    racks: tuple[Rack, ...] = ()
    switches: tuple[Switch, ...] = ()
    nodes: tuple[Node, ...] = ()
    links: tuple[Link, ...] = ()
