"""Find and load drivers by name through the entry-point groups `metalgraph.drivers.bmc` and
`metalgraph.drivers.switch`. Built-in and third-party drivers register the same way.

Nothing is cached: a package installed while the process runs is seen at the next call.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection
from importlib.metadata import EntryPoint, entry_points
from typing import Literal, get_args

from .base import BmcDriver, Driver, SwitchDriver
from .errors import DriverLoadFailed, DriverNotValidated, UnknownDriver
from .types import DeviceConfig

DriverKind = Literal["bmc", "switch"]
KINDS: tuple[DriverKind, ...] = get_args(DriverKind)
GROUPS: dict[DriverKind, str] = {"bmc": "metalgraph.drivers.bmc", "switch": "metalgraph.drivers.switch"}
BASES: dict[DriverKind, type[Driver]] = {"bmc": BmcDriver, "switch": SwitchDriver}


def installed(kind: DriverKind) -> list[str]:
    """The names of the installed drivers of `kind`, sorted. Listing does not import them."""
    return sorted({entry.name for entry in entry_points(group=_group(kind))})


def load(kind: DriverKind, name: str) -> type[Driver]:
    """The driver class registered as `name` for `kind`.

    Raises `UnknownDriver` (listing the installed names) when nothing is registered under `name`,
    and `DriverLoadFailed` (naming the distribution) when the entry point cannot be imported, is
    registered twice by different distributions, or is not a concrete subclass of the kind's base.
    """
    entry = _entry_point(kind, name)
    source = f"{kind} driver '{name}' ({entry.value}) from distribution '{_distribution(entry)}'"
    try:
        loaded = entry.load()
    except Exception as error:  # an entry point can fail with anything its import raises
        raise DriverLoadFailed(f"{source} failed to import: {type(error).__name__}: {error}") from error
    base = BASES[kind]
    if not (isinstance(loaded, type) and issubclass(loaded, base)):
        raise DriverLoadFailed(f"{source} is not a subclass of {base.__name__}")
    if inspect.isabstract(loaded):
        missing = ", ".join(sorted(loaded.__abstractmethods__))
        raise DriverLoadFailed(f"{source} does not implement: {missing}")
    return loaded


def bmc_driver(name: str) -> type[BmcDriver]:
    """The BMC driver class registered as `name`."""
    cls = load("bmc", name)
    assert issubclass(cls, BmcDriver)  # load() checked it against the kind's base
    return cls


def switch_driver(name: str) -> type[SwitchDriver]:
    """The switch driver class registered as `name`."""
    cls = load("switch", name)
    assert issubclass(cls, SwitchDriver)  # load() checked it against the kind's base
    return cls


def open_driver(kind: DriverKind, name: str, config: DeviceConfig) -> Driver:
    """A new driver instance for one device; use it as an async context manager to close it."""
    return load(kind, name)(config)


def open_bmc(name: str, config: DeviceConfig) -> BmcDriver:
    """A new BMC driver instance for the device at `config.address`."""
    return bmc_driver(name)(config)


def open_switch(name: str, config: DeviceConfig) -> SwitchDriver:
    """A new switch driver instance for the device at `config.address`."""
    return switch_driver(name)(config)


def driver_ref(kind: DriverKind, name: str) -> str:
    """How configuration names a driver, as in the `validated_drivers` setting: `switch:snmp`."""
    return f"{kind}:{name}"


def require_validated(kind: DriverKind, name: str, validated_drivers: Collection[str]) -> None:
    """Raise `DriverNotValidated` unless `kind:name` is listed in `validated_drivers`."""
    ref = driver_ref(kind, name)
    if ref not in validated_drivers:
        raise DriverNotValidated(
            f"driver '{ref}' has not been marked validated; run `metalgraph drivers validate --kind {kind} "
            f"--driver {name} --target ADDRESS` and add '{ref}' to validated_drivers"
        )


def _group(kind: str) -> str:
    if kind not in GROUPS:
        raise ValueError(f"driver kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return GROUPS[kind]


def _entry_point(kind: DriverKind, name: str) -> EntryPoint:
    matches = [entry for entry in entry_points(group=_group(kind)) if entry.name == name]
    if not matches:
        names = installed(kind)
        listing = ", ".join(names) if names else "none"
        raise UnknownDriver(f"no {kind} driver named '{name}' is installed (installed {kind} drivers: {listing})")
    targets = {entry.value for entry in matches}
    if len(targets) > 1:
        owners = ", ".join(sorted(f"'{_distribution(entry)}' ({entry.value})" for entry in matches))
        raise DriverLoadFailed(f"{kind} driver '{name}' is registered by more than one distribution: {owners}")
    return matches[0]


def _distribution(entry: EntryPoint) -> str:
    return entry.dist.name if entry.dist is not None else "unknown distribution"
