"""The domain error family, shared by every service of the core; the API maps each to a code."""

from __future__ import annotations

from collections.abc import Sequence

from .inventory.references import InventoryProblem


class DomainError(Exception):
    """Base of the family; `problems` names each bad field by its path."""

    def __init__(self, message: str, problems: Sequence[InventoryProblem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


class NotFound(DomainError):
    """The object does not exist, or the caller may not see it: the two look the same."""


class AlreadyExists(DomainError):
    """The name is already taken (within the caller's own namespace)."""


class InUse(DomainError):
    """The object, or something it needs, is used by something else; say what."""


class InvalidReference(DomainError):
    """The request refers to something that does not exist, or contradicts itself."""


class Forbidden(DomainError):
    """The caller's role does not allow the operation (whatever object it names)."""
