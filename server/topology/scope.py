"""The set of vertices a caller may see. Computed by `tenancy.visibility`; applied by every reader."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scope:
    """The vertices a caller may see, by label; `None` means every vertex of every label."""

    visible: Mapping[str, frozenset[str]] | None
    tenant: str | None = None
    vlans: frozenset[int] = frozenset()
    """The tenant's own VLANs: the only ones its view of a switch port shows."""

    @classmethod
    def everything(cls) -> Scope:
        return cls(None)

    @property
    def unrestricted(self) -> bool:
        return self.visible is None

    def sees(self, label: str, key: str) -> bool:
        return self.visible is None or key in self.visible.get(label, frozenset())

    def keys(self, label: str) -> frozenset[str] | None:
        """The visible keys of `label`, or None when all are visible."""
        return None if self.visible is None else self.visible.get(label, frozenset())

    def redact(self, label: str, props: dict[str, Any]) -> dict[str, Any]:
        """A vertex's properties as the caller may see them: on a shared port (an uplink trunk), a
        tenant sees its own VLANs only, never the VLAN ids of the other tenants it carries."""
        if self.visible is None or label != "Port":
            return props
        out = dict(props)
        if out.get("access_vlan") not in self.vlans:
            out.pop("access_vlan", None)
        if "allowed_vlans" in out:
            out["allowed_vlans"] = [v for v in out["allowed_vlans"] if v in self.vlans]
        return out

    def only_visible(self, label: str, keys: Iterable[str]) -> list[str]:
        return list(keys) if self.visible is None else [k for k in keys if k in self.visible.get(label, frozenset())]


EVERYTHING = Scope(None)
