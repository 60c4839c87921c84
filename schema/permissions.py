"""Role checks for fields. Every mutation names one (a test fails for a mutation without), and a
refusal depends on the role only, never on the object named, so it reveals nothing about
another tenant. Object-level rules (whose cluster is it?) live in the services, as NOT_FOUND."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from metalgraph.server.auth.principal import Principal, Role

from .errors import Code


def _principal(info: Any) -> Principal | None:
    return info.context.principal


class _RolePermission(BasePermission):
    roles: frozenset[Role] = frozenset()
    error_extensions = {"code": Code.FORBIDDEN.value}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        principal = _principal(info)
        return principal is not None and principal.role in self.roles


class ProviderAdmin(_RolePermission):
    message = "only a provider-admin may do this"
    roles = frozenset({Role.PROVIDER_ADMIN})


class ProviderReader(_RolePermission):
    message = "only a provider may read this"
    roles = frozenset({Role.PROVIDER_ADMIN, Role.PROVIDER_VIEWER})


class AdminOfTenantOrProvider(_RolePermission):
    """Tenant admins (for their own tenant; the service checks ownership) and provider-admins."""

    message = "only a tenant-admin or a provider-admin may do this"
    roles = frozenset({Role.PROVIDER_ADMIN, Role.TENANT_ADMIN})


class AdminsAndProviderViewers(_RolePermission):
    """Reads of administrative data: provider roles see all; a tenant-admin sees its tenant's."""

    message = "only a tenant-admin or a provider may read this"
    roles = frozenset({Role.PROVIDER_ADMIN, Role.PROVIDER_VIEWER, Role.TENANT_ADMIN})
