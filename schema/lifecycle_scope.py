"""Whose cluster a lifecycle field acts on, and what of placement text its caller may read."""

from __future__ import annotations

from collections.abc import Callable

from metalgraph.server.topology.reader import Props, TopologyReader

from .context import Loaders
from .errors import ApiError, Code
from .lifecycle_redact import redactor
from .types import Ctx

Explain = Callable[[str], str]


def _unchanged(text: str) -> str:
    return text


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


async def explainer(info: Ctx, *, keep_own: bool) -> Explain:
    """How the caller reads placement text: providers as it is; tenants with infrastructure names
    replaced by their level words, except (with `keep_own`) the nodes and switches their scope holds
    (domain names are always replaced; see `lifecycle_redact`)."""
    if info.context.tenant is None:
        return _unchanged
    names = redactor(await info.context.services.lifecycle.ctx.placement.index())
    keep: frozenset[str] = frozenset()
    if keep_own:
        scope = info.context.scope
        keep = frozenset(scope.keys("Node") or ()) | frozenset(scope.keys("Switch") or ())
    return lambda text: names.redact(text, keep)


async def refresh_scope(info: Ctx) -> None:
    """After a write that changed what a tenant owns: read with the tenant's scope as it is now."""
    context = info.context
    if context.tenant is not None:
        context.reader = TopologyReader(context.reader.store, await context.services.scopes.scope(context.tenant))
        context.loaders = Loaders(context.reader)
    else:
        context.forget_cached_reads()
