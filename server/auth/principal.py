"""Who is calling: a principal with one role, bound to one tenant unless it is a provider."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PROVIDER_ADMIN = "provider-admin"
    """Everything."""
    PROVIDER_VIEWER = "provider-viewer"
    """Reads everything (dashboards); changes nothing."""
    TENANT_ADMIN = "tenant-admin"
    """Its tenant's clusters, members and tokens."""
    TENANT_MEMBER = "tenant-member"
    """Reads and debugs its tenant's clusters."""

    @property
    def is_provider(self) -> bool:
        return self in (Role.PROVIDER_ADMIN, Role.PROVIDER_VIEWER)


class AuthMethod(StrEnum):
    ADMIN_TOKEN = "admin-token"
    API_TOKEN = "api-token"
    OIDC = "oidc"
    LOOPBACK = "loopback"
    """No credentials, from the server's own machine, when the provider allows it (read-only)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    """A token id, an OIDC subject, or `admin` for the bootstrap token."""
    role: Role
    tenant: str | None
    method: AuthMethod

    def __post_init__(self) -> None:
        if self.role.is_provider != (self.tenant is None):
            raise ValueError("provider roles have no tenant; tenant roles need one")

    @property
    def is_provider(self) -> bool:
        return self.role.is_provider

    @property
    def can_write_everything(self) -> bool:
        return self.role is Role.PROVIDER_ADMIN
