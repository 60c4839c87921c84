"""Whose cluster a lifecycle field acts on, and what of the server's text its caller may read
(`tenancy.disclosure`: placement text, cluster events and reasons, audit entries)."""

from __future__ import annotations

from collections.abc import Callable

from metalgraph.server.audit import AuditEntry
from metalgraph.server.tenancy.disclosure import TenantText, tenant_entry, tenant_text
from metalgraph.server.topology.reader import Props, TopologyReader

from .context import Loaders
from .errors import ApiError, Code
from .types import Ctx

Explain = Callable[[str], str]
EntryView = Callable[[AuditEntry], AuditEntry]


def _unchanged(text: str) -> str:
    return text


def _as_stored(entry: AuditEntry) -> AuditEntry:
    return entry


def acting_tenant(info: Ctx, tenant: str | None) -> str:
    """The tenant a field acts on: a tenant's own (naming another one finds nothing, exactly like a
    tenant that does not exist); a provider must name one."""
    own = info.context.tenant
    if own is not None:
        if tenant not in (None, own):
            raise ApiError(Code.NOT_FOUND, f"tenant {tenant!r} not found")
        return own
    if tenant is None:
        raise ApiError(Code.INVALID_INPUT, "`tenant` is required for provider callers", argument="tenant")
    return tenant


async def visible_cluster(info: Ctx, tenant: str, name: str) -> Props:
    """The cluster's properties, if the caller's scope holds it; NOT_FOUND otherwise (missing or not theirs)."""
    props = await info.context.loaders.vertex("Cluster").load(f"{tenant}/{name}")
    if props is None:
        raise ApiError(Code.NOT_FOUND, f"cluster {name!r} not found")
    return props


async def _rule(info: Ctx) -> TenantText:
    return tenant_text(await info.context.services.lifecycle.ctx.placement.index())


def _own_names(info: Ctx) -> frozenset[str]:
    scope = info.context.scope
    return frozenset(scope.keys("Node") or ()) | frozenset(scope.keys("Switch") or ())


async def explainer(info: Ctx, *, keep_own: bool) -> Explain:
    """How the caller reads the server's text about clusters and placement: providers as it is; tenants
    by the rule of `tenancy.disclosure`, reading (with `keep_own`) the names of the nodes and switches
    their scope holds, and no other (placement answers and refusals: none at all)."""
    if info.context.tenant is None:
        return _unchanged
    rule = await _rule(info)
    keep = _own_names(info) if keep_own else frozenset()
    vlans = info.context.scope.all_vlans
    return lambda text: rule.read(text, keep, vlans)


async def audit_entries(info: Ctx) -> EntryView:
    """How the caller reads audit entries: providers as stored; tenants by the rule of `tenancy.disclosure`."""
    if info.context.tenant is None:
        return _as_stored
    rule, keep, vlans = await _rule(info), _own_names(info), info.context.scope.all_vlans
    return lambda entry: tenant_entry(entry, rule, keep, vlans)


async def refresh_scope(info: Ctx) -> None:
    """After a write that changed what a tenant owns: read with the tenant's scope as it is now."""
    context = info.context
    if context.tenant is not None:
        context.reader = TopologyReader(context.reader.store, await context.services.scopes.scope(context.tenant))
        context.loaders = Loaders(context.reader)
    else:
        context.forget_cached_reads()
