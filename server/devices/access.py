"""Opening the driver of an inventory device: the one way server code reaches a BMC or a switch.

The graph says which driver talks to a device and where (`Node.bmc_driver`/`bmc_address`,
`Switch.driver`/`mgmt_address`) and names its credentials (`bmc_credentials`, `credentials`);
`DeviceAccess.open` turns that into a driver instance:

1. the driver must be marked validated in configuration (`validated_drivers`, `kind:name`), else
   `DriverNotValidated`: a driver reaches a device only after the conformance kit has passed;
2. the class is loaded from the registry (`UnknownDriver`, `DriverLoadFailed`);
3. the credentials are resolved by name (`SecretError`), never read from the graph;
4. the `DeviceConfig` gets the device timeout from the settings and the driver's options.

    access = DeviceAccess.from_settings(settings)
    async with access.open_bmc(node_device(props)) as bmc:
        inventory = await bmc.get_inventory()
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metalgraph.drivers import registry
from metalgraph.drivers.base import BmcDriver, Driver, SwitchDriver
from metalgraph.drivers.registry import DriverKind
from metalgraph.drivers.types import Credentials, DeviceConfig

from ..errors import InvalidReference, NotFound
from ..store.base import GraphStore
from .secrets import SecretStore

LABELS: dict[DriverKind, str] = {"bmc": "Node", "switch": "Switch"}


@dataclass(frozen=True)
class DeviceRef:
    """One device as the inventory describes it: a node's BMC (`kind` bmc) or a switch."""

    kind: DriverKind
    name: str
    """The node or switch name in the graph."""
    driver: str
    address: str
    credentials: str | None = None
    """The reference name of its credentials (see `secrets`), never a value."""

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.driver} at {self.address or 'no address'})"


def node_device(props: Mapping[str, Any]) -> DeviceRef | None:
    """The BMC of a node from its stored properties; None when the node has no BMC."""
    driver = props.get("bmc_driver")
    if not driver:
        return None
    return DeviceRef("bmc", props["name"], driver, props.get("bmc_address") or "", props.get("bmc_credentials"))


def switch_device(props: Mapping[str, Any]) -> DeviceRef | None:
    """A switch from its stored properties; None when it names no driver."""
    driver = props.get("driver")
    if not driver:
        return None
    return DeviceRef("switch", props["name"], driver, props.get("mgmt_address") or "", props.get("credentials"))


async def inventory_devices(
    store: GraphStore, *, nodes: Sequence[str] | None = None, switches: Sequence[str] | None = None
) -> list[DeviceRef]:
    """The devices of the graph, BMCs first, each in name order: all of them, or for `nodes` and
    `switches` only those named (an empty list means none of that kind). Unknown names: `NotFound`."""
    found: list[DeviceRef] = []
    for label, names, to_ref in (("Node", nodes, node_device), ("Switch", switches, switch_device)):
        rows = await _device_rows(store, label, names)
        if names is not None:
            missing = sorted(set(names) - {row["name"] for row in rows})
            if missing:
                raise NotFound(f"{label.lower()} {', '.join(repr(m) for m in missing)} not found")
        refs = (to_ref(row) for row in sorted(rows, key=lambda row: row["name"]))
        found.extend(ref for ref in refs if ref is not None)
    return found


async def _device_rows(store: GraphStore, label: str, names: Sequence[str] | None) -> list[dict[str, Any]]:
    columns = (
        "{name: n.name, bmc_driver: n.bmc_driver, bmc_address: n.bmc_address, bmc_credentials: n.bmc_credentials}"
        if label == "Node"
        else "{name: n.name, driver: n.driver, mgmt_address: n.mgmt_address, credentials: n.credentials}"
    )
    if names is None:
        return await store.read_collected(f"MATCH (n:{label})", columns)
    if not names:
        return []
    return await store.read_collected(f"UNWIND $keys AS k MATCH (n:{label} {{key: k}})", columns, {"keys": list(names)})


@dataclass
class DeviceAccess:
    """Opens drivers for inventory devices under the configuration's rules (see the module doc)."""

    validated_drivers: Collection[str]
    secrets: SecretStore = field(default_factory=SecretStore)
    timeout_s: float = 10.0
    driver_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Options by driver name, passed in every `DeviceConfig` of that driver (e.g. a sim lab)."""
    _classes: dict[tuple[str, str], type[Driver]] = field(default_factory=dict, init=False, repr=False)
    """Driver classes loaded so far: entry points are read once per driver for the life of this access
    (a long-lived access, as the lifecycle's, sees a newly installed driver after a restart)."""

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        *,
        secrets: SecretStore | None = None,
        driver_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> DeviceAccess:
        """Access as the server settings define it: `validated_drivers`, `secrets_file`, `device_timeout_s`."""
        return cls(
            validated_drivers=tuple(settings.validated_drivers),
            secrets=secrets if secrets is not None else SecretStore.from_settings(settings),
            timeout_s=settings.device_timeout_s,
            driver_options=dict(driver_options or {}),
        )

    def driver_class(self, ref: DeviceRef) -> type[Driver]:
        """The driver class for `ref`, refusing (`DriverNotValidated`) one not marked validated."""
        registry.require_validated(ref.kind, ref.driver, self.validated_drivers)
        loaded = self._classes.get((ref.kind, ref.driver))
        if loaded is None:
            loaded = self._classes[(ref.kind, ref.driver)] = registry.load(ref.kind, ref.driver)
        return loaded

    def config(self, ref: DeviceRef) -> DeviceConfig:
        """How the driver reaches `ref`: address, resolved credentials, options, timeout."""
        if not ref.address:
            raise InvalidReference(f"{ref.label.lower()} {ref.name!r} has no {_address_field(ref)}")
        credentials = self.secrets.resolve(ref.credentials) if ref.credentials else Credentials()
        return DeviceConfig(ref.address, credentials, self.driver_options.get(ref.driver, {}), self.timeout_s)

    def open(self, ref: DeviceRef) -> Driver:
        """A new driver instance for `ref`; use it as an async context manager so that it is closed."""
        cls = self.driver_class(ref)
        return cls(self.config(ref))

    def open_bmc(self, ref: DeviceRef) -> BmcDriver:
        driver = self.open(_of_kind(ref, "bmc"))
        assert isinstance(driver, BmcDriver)  # the registry loaded it as a bmc driver
        return driver

    def open_switch(self, ref: DeviceRef) -> SwitchDriver:
        driver = self.open(_of_kind(ref, "switch"))
        assert isinstance(driver, SwitchDriver)  # the registry loaded it as a switch driver
        return driver


def open_device(
    ref: DeviceRef,
    settings: Any,
    *,
    secrets: SecretStore | None = None,
    driver_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Driver:
    """Open the driver of one inventory device under `settings` (see `DeviceAccess`)."""
    return DeviceAccess.from_settings(settings, secrets=secrets, driver_options=driver_options).open(ref)


async def node_bmc(store: GraphStore, node: str) -> DeviceRef:
    """The BMC of node `node`: `NotFound` without such a node, `InvalidReference` when it has no BMC."""
    ref = await _one(store, "bmc", node)
    if ref is None:
        raise InvalidReference(f"node {node!r} has no BMC")
    return ref


async def switch_ref(store: GraphStore, switch: str) -> DeviceRef:
    """Switch `switch`: `NotFound` without such a switch, `InvalidReference` when it names no driver."""
    ref = await _one(store, "switch", switch)
    if ref is None:
        raise InvalidReference(f"switch {switch!r} names no driver")
    return ref


async def _one(store: GraphStore, kind: DriverKind, name: str) -> DeviceRef | None:
    rows = await _device_rows(store, LABELS[kind], [name])
    if not rows:
        raise NotFound(f"{LABELS[kind].lower()} {name!r} not found")
    return node_device(rows[0]) if kind == "bmc" else switch_device(rows[0])


def _of_kind(ref: DeviceRef, kind: DriverKind) -> DeviceRef:
    if ref.kind != kind:
        raise ValueError(f"{ref} is not a {kind}")
    return ref


def _address_field(ref: DeviceRef) -> str:
    return "BMC address" if ref.kind == "bmc" else "management address"
