"""The set of vertices a caller may see. Computed by `tenancy.visibility`; applied by every reader."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class Disclosure(Protocol):
    """What a restricted caller reads of a vertex it sees."""

    def readable(self, label: str) -> frozenset[str]:
        """The properties of `label` it reads."""
        ...

    def view(self, label: str, props: Mapping[str, Any], own_vlans: frozenset[int]) -> dict[str, Any]:
        """`props` as it reads them; `own_vlans`: its VLANs in the vertex's site."""
        ...


@dataclass(frozen=True)
class Scope:
    """The vertices a caller may see, by label; `None` means every vertex of every label.

    A restricted scope also says what the caller reads of those vertices: `rule` (the rule of
    `tenancy.disclosure`) with `vlans`, the VLAN ids it owns by site, the only ones its view of a
    switch port in that site shows. A restricted scope without a rule reads keys only."""

    visible: Mapping[str, frozenset[str]] | None
    tenant: str | None = None
    vlans: Mapping[str, frozenset[int]] = field(default_factory=dict)
    """Site -> the VLAN ids the tenant's clusters hold there (a VLAN is owned per site)."""
    switch_sites: Mapping[str, str] = field(default_factory=dict)
    """Switch -> its site, for the visible switches (where a port's VLANs are owned)."""
    rule: Disclosure | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(None)

    @property
    def unrestricted(self) -> bool:
        return self.visible is None

    @property
    def all_vlans(self) -> frozenset[int]:
        """The VLAN ids the tenant holds in any site (for text, which names no site)."""
        return frozenset(v for vlans in self.vlans.values() for v in vlans)

    def sees(self, label: str, key: str) -> bool:
        return self.visible is None or key in self.visible.get(label, frozenset())

    def keys(self, label: str) -> frozenset[str] | None:
        """The visible keys of `label`, or None when all are visible."""
        return None if self.visible is None else self.visible.get(label, frozenset())

    def redact(self, label: str, props: dict[str, Any]) -> dict[str, Any]:
        """A vertex's properties as the caller may read them (see `tenancy.disclosure`)."""
        if self.visible is None:
            return props
        if self.rule is None:
            return {"key": props["key"]} if "key" in props else {}
        site = self.switch_sites.get(props.get("switch", "")) if label == "Port" else None
        return self.rule.view(label, props, self.vlans.get(site, frozenset()) if site is not None else frozenset())

    def hides(self, label: str, prop: str) -> bool:
        """Whether the caller cannot read `prop` of `label` (a filter on it must then match nothing)."""
        if self.visible is None:
            return False
        return self.rule is None or prop not in self.rule.readable(label)

    def only_visible(self, label: str, keys: Iterable[str]) -> list[str]:
        return list(keys) if self.visible is None else [k for k in keys if k in self.visible.get(label, frozenset())]


EVERYTHING = Scope(None)
