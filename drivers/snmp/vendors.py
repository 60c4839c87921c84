"""Vendor profiles: the data that says how a switch family fills the standard MIBs (see
`vendors.yaml` for the fields and the profiles). Readers take a `VendorProfile` and never branch on
a vendor's name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ..errors import Unsupported

PORT_NAME_COLUMNS = ("ifName", "ifDescr")
LLDP_LOCAL_PORT_MODES = ("ifindex", "port_id", "port_desc")
VLAN_TABLES = ("static", "current")


@dataclass(frozen=True)
class VendorProfile:
    """How one switch family lays out IF-MIB, LLDP-MIB and Q-BRIDGE-MIB."""

    name: str
    description: str = ""
    port_name: str = "ifName"
    port_types: tuple[int, ...] | None = None
    port_pattern: str | None = None
    lldp_local_port: str = "ifindex"
    vlan_tables: tuple[str, ...] = VLAN_TABLES
    vlan_writable: bool = True
    portlist_octets: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.port_name not in PORT_NAME_COLUMNS:
            problems.append(f"port_name must be one of {PORT_NAME_COLUMNS}")
        if self.lldp_local_port not in LLDP_LOCAL_PORT_MODES:
            problems.append(f"lldp_local_port must be one of {LLDP_LOCAL_PORT_MODES}")
        if not self.vlan_tables or any(table not in VLAN_TABLES for table in self.vlan_tables):
            problems.append(f"vlan_tables must list some of {VLAN_TABLES}")
        if not isinstance(self.vlan_writable, bool):
            problems.append("vlan_writable must be true or false")
        if self.portlist_octets is not None and (not isinstance(self.portlist_octets, int) or self.portlist_octets < 1):
            problems.append("portlist_octets must be a positive integer or null")
        if self.port_types is not None and not all(isinstance(kind, int) for kind in self.port_types):
            problems.append("port_types must list ifType numbers")
        if self.port_pattern is not None:
            try:
                re.compile(self.port_pattern)
            except re.error as e:
                problems.append(f"port_pattern: {e}")
        if problems:
            raise Unsupported(f"vendor profile {self.name!r}: {'; '.join(problems)}")

    def is_port(self, name: str, if_type: int | None) -> bool:
        """Whether an interface with this name and ifType is a switch port."""
        if self.port_types is not None and if_type not in self.port_types:
            return False
        return self.port_pattern is None or re.fullmatch(self.port_pattern, name) is not None


_FIELDS = {f.name for f in fields(VendorProfile)} - {"name", "description"}


def _build(name: str, data: Mapping[str, Any]) -> VendorProfile:
    unknown = set(data) - _FIELDS - {"description"}
    if unknown:
        raise Unsupported(f"vendor profile {name!r}: unknown fields {sorted(unknown)}")
    values = dict(data)
    for key in ("port_types", "vlan_tables"):
        if values.get(key) is not None:
            values[key] = tuple(values[key])
    try:
        return VendorProfile(name=name, **values)
    except TypeError as e:
        raise Unsupported(f"vendor profile {name!r}: {e}") from e


@cache
def profiles() -> dict[str, VendorProfile]:
    """Every built-in profile, by name (read once from `vendors.yaml`)."""
    text = resources.files(__package__).joinpath("vendors.yaml").read_text(encoding="utf-8")
    return {name: _build(name, data) for name, data in yaml.safe_load(text).items()}


def profile_for(options: Mapping[str, Any]) -> VendorProfile:
    """The profile named by `options["vendor"]` (default `generic`), with any profile field that
    `options` also sets overriding it."""
    name = str(options.get("vendor") or "generic")
    known = profiles()
    if name not in known:
        raise Unsupported(f"unknown vendor profile {name!r}; known: {', '.join(sorted(known))}")
    overrides = {key: options[key] for key in _FIELDS if key in options}
    if not overrides:
        return known[name]
    for key in ("port_types", "vlan_tables"):
        if overrides.get(key) is not None:
            overrides[key] = tuple(overrides[key])
    try:
        return replace(known[name], **overrides)
    except TypeError as e:  # pragma: no cover - dataclasses.replace only fails on unknown fields
        raise Unsupported(f"vendor profile {name!r}: {e}") from e
