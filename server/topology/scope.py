"""The set of vertices a caller may see. Computed by `tenancy.visibility`; applied by every reader."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """The vertices a caller may see, by label; `None` means every vertex of every label."""

    visible: Mapping[str, frozenset[str]] | None
    tenant: str | None = None

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

    def only_visible(self, label: str, keys: Iterable[str]) -> list[str]:
        return list(keys) if self.visible is None else [k for k in keys if k in self.visible.get(label, frozenset())]


EVERYTHING = Scope(None)
