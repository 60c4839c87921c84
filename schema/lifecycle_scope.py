"""Whose cluster a lifecycle field acts on, and what of the server's text its caller may read
(`tenancy.disclosure`: placement text, cluster events and reasons, audit entries)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

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
    lifecycle = info.context.services.lifecycle.ctx
    return await tenant_text(await lifecycle.placement.index(), lifecycle.store)


def _own_names(info: Ctx) -> frozenset[str]:
    scope = info.context.scope
    return frozenset(scope.keys("Node") or ()) | frozenset(scope.keys("Switch") or ())


def _vlans_of(info: Ctx, site: str | None) -> frozenset[int]:
    """The VLAN ids the tenant reads in text about `site`: those it holds there (a VLAN is owned per
    site); in text about no known site, none."""
    return info.context.scope.vlans.get(site, frozenset()) if site else frozenset()


async def explainer(info: Ctx, *, keep_own: bool, site: str | None = None) -> Explain:
    """How the caller reads the server's text about clusters and placement: providers as it is; tenants
    by the rule of `tenancy.disclosure`, reading (with `keep_own`) the names of the nodes and switches
    their scope holds, and no other (placement answers and refusals: none at all), and the VLAN ids
    they hold in `site`, the site the text is about (a cluster's)."""
    if info.context.tenant is None:
        return _unchanged
    rule = await _rule(info)
    keep = _own_names(info) if keep_own else frozenset()
    vlans = _vlans_of(info, site)
    return lambda text: rule.read(text, keep, vlans)


async def cluster_explainer(info: Ctx, tenant: str, name: str) -> Explain:
    """How the caller reads the text of one cluster (its reason, its events), in the cluster's site as
    the caller's reader sees it now."""
    props = await info.context.loaders.vertex("Cluster").load(f"{tenant}/{name}")
    return await explainer(info, keep_own=True, site=props.get("site") if props else None)


_CLUSTER_FIELDS = frozenset({"createCluster", "releaseCluster", "resizeCluster", "replaceNode", "deleteCluster"})
"""The mutations whose `name` is the cluster they act on."""


def _cluster_named(entry: AuditEntry) -> str | None:
    """The one cluster an entry is about: the lifecycle's `cluster`, or the cluster a request acted on."""
    variables = entry.variables
    if not isinstance(variables, dict):
        return None
    if entry.role == "system":
        named = variables.get("cluster")
    elif len(variables) == 1 and entry.operation in _CLUSTER_FIELDS:
        (arguments,) = variables.values()
        named = arguments.get("name") if isinstance(arguments, dict) else None
    else:
        named = None
    return named if isinstance(named, str) else None


async def audit_entries(info: Ctx, entries: Iterable[AuditEntry]) -> EntryView:
    """How the caller reads `entries`: providers as stored; tenants by the rule of `tenancy.disclosure`,
    each entry with the VLAN ids the tenant holds in the site of the cluster it names (none otherwise)."""
    if info.context.tenant is None:
        return _as_stored
    rule, keep = await _rule(info), _own_names(info)
    clusters = {e.seq: f"{e.tenant}/{name}" for e in entries if e.tenant and (name := _cluster_named(e))}
    found = await info.context.loaders.vertex("Cluster").load_many(sorted(set(clusters.values())))
    sites = {props["key"]: props.get("site") for props in found if props}

    def read(entry: AuditEntry) -> AuditEntry:
        site = sites.get(clusters.get(entry.seq, ""))
        return tenant_entry(entry, rule, keep, _vlans_of(info, site))

    return read


async def refresh_scope(info: Ctx) -> None:
    """After a write that changed what a tenant owns: read with the tenant's scope as it is now."""
    context = info.context
    if context.tenant is not None:
        context.reader = TopologyReader(context.reader.store, await context.services.scopes.scope(context.tenant))
        context.loaders = Loaders(context.reader)
    else:
        context.forget_cached_reads()
