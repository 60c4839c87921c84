"""Discovery in the API: `linkDrift` (providers read) and `discover` (provider-admins run).

The resolvers are thin: `server.discovery` reads the devices, proposes and applies. `discover`
reads and writes through `info.context.store`, so what it applies is audited with the mutation.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from metalgraph.server.devices.access import DeviceAccess
from metalgraph.server.devices.demo_lab import ensure_sim_devices
from metalgraph.server.discovery import drift as drift_service
from metalgraph.server.discovery.service import discover as run_discovery
from metalgraph.server.inventory.diff import ChangeSet
from metalgraph.server.inventory.records import EDGE_KINDS, VERTEX_LABELS

from .connection import check_page_size
from .cost import max_items, unbounded
from .errors import ApiError, Code
from .permissions import ProviderAdmin, ProviderReader
from .types import Ctx


@strawberry.enum(description="How a link differs from the intended cabling.")
class DriftKind(Enum):
    MISSING = "missing"
    UNEXPECTED = "unexpected"
    WRONG_RAIL = "wrong_rail"


@strawberry.type(description="One difference between the intended cabling and the links seen over LLDP.")
class LinkDriftItem:
    kind: DriftKind
    source_kind: str = strawberry.field(description="`NIC` or `Port`: what is at the far end of `port`.")
    source: str = strawberry.field(description="The NIC (`node/nic`) or switch port (`switch/port`).")
    port: str = strawberry.field(description="The switch port (`switch/port`) the link is on.")
    switch: str
    node: str | None = strawberry.field(description="The node of a NIC source.")
    reason: str = strawberry.field(description="Why this is drift, in words.")
    seen_at: str | None = strawberry.field(description="When LLDP last saw the link (seen links only).")

    @classmethod
    def of(cls, item: drift_service.DriftItem) -> LinkDriftItem:
        label, key = item.source
        return cls(
            kind=DriftKind(item.kind),
            source_kind=label,
            source=key,
            port=item.port,
            switch=item.switch,
            node=key.split("/", 1)[0] if label == "NIC" else None,
            reason=item.reason,
            seen_at=item.seen_at or None,
        )


@strawberry.type(description="Intended-but-not-seen, seen-but-not-intended, and wrong-rail links.")
class LinkDrift:
    total_count: int = strawberry.field(description="Items of the requested kind (all kinds without `kind`).")
    missing_count: int
    unexpected_count: int
    wrong_rail_count: int
    scanned_switches: int = strawberry.field(description="Switches whose LLDP table has been read.")
    unscanned_switches: list[str] = strawberry.field(
        description="Switches with intended links whose LLDP table was never read: their links are not judged."
    )
    items: list[LinkDriftItem] = strawberry.field(
        description="The first `first` items, by kind then port.", metadata=max_items("max_page_size")
    )
    truncated: bool = strawberry.field(description="Whether there are more items than `items` holds.")


@strawberry.enum(description="What a proposed change does.")
class ChangeAction(Enum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"


@strawberry.type(description="One proposed change: a vertex (`kind` is its label) or an edge (`kind` is its type).")
class ProposedChange:
    action: ChangeAction
    kind: str
    subject: str = strawberry.field(description="`label key` of a vertex, `(a)-[TYPE]->(b)` of an edge.")
    detail: str = strawberry.field(description="For a changed vertex: each field `before -> after`.")


@strawberry.type(description="Changes per label or edge type.")
class ChangeCount:
    kind: str
    added: int
    changed: int
    removed: int


@strawberry.type(description="A device that could not be read (never a credential in the message).")
class DeviceError:
    kind: str = strawberry.field(description="`bmc` or `switch`.")
    name: str
    address: str
    error: str = strawberry.field(description="`DeviceUnreachable`, `DeviceTimeout`, `DriverNotValidated`, ...")
    message: str
    attempts: int


@strawberry.type(description="What discovery read, what it proposes, and whether it wrote it.")
class DiscoveryResult:
    applied: bool
    devices: int = strawberry.field(description="Devices with an address, read or not.")
    read: int
    failed: int
    skipped: int = strawberry.field(description="Devices without an address.")
    change_count: int
    summary: list[ChangeCount] = strawberry.field(
        metadata=max_items(len(VERTEX_LABELS) + len(EDGE_KINDS) + 1)  # a label, an edge kind, or OBSERVED
    )
    changes: list[ProposedChange] = strawberry.field(
        description="The first `maxChanges` changes.", metadata=max_items("max_page_size")
    )
    errors: list[DeviceError] = strawberry.field(metadata=unbounded("one per device that could not be read"))
    notes: list[str] = strawberry.field(description="Findings that are not changes (hardware not reported, ...).")
    drift: LinkDrift | None = strawberry.field(description="Link drift after the changes (counts; items left out).")


def _link_drift(found: drift_service.LinkDrift, kind: DriftKind | None, first: int) -> LinkDrift:
    counts = found.counts()
    items = found.of(kind.value) if kind is not None else found.items
    return LinkDrift(
        total_count=len(items),
        missing_count=counts[drift_service.MISSING],
        unexpected_count=counts[drift_service.UNEXPECTED],
        wrong_rail_count=counts[drift_service.WRONG_RAIL],
        scanned_switches=len(found.scanned),
        unscanned_switches=found.unscanned,
        items=[LinkDriftItem.of(item) for item in items[:first]],
        truncated=len(items) > first,
    )


def _edge(edge: tuple[str, tuple[str, str], tuple[str, str]]) -> str:
    type_, (src_label, src), (dst_label, dst) = edge
    return f"({src_label} {src})-[{type_}]->({dst_label} {dst})"


def proposed_changes(changes: ChangeSet, limit: int) -> list[ProposedChange]:
    """The changes in the order `ChangeSet.lines` shows them, at most `limit`."""
    add, change, remove = ChangeAction.ADD, ChangeAction.CHANGE, ChangeAction.REMOVE
    out = [
        ProposedChange(action=add, kind=label, subject=f"{label} {key}", detail="")
        for label, key in sorted(changes.add_vertices)
    ]
    for (label, key), (before, after) in sorted(changes.change_vertices.items()):
        fields = sorted(f for f in set(before) | set(after) if before.get(f) != after.get(f))
        detail = ", ".join(f"{f} {before.get(f)!r} -> {after.get(f)!r}" for f in fields)
        out.append(ProposedChange(action=change, kind=label, subject=f"{label} {key}", detail=detail))
    out += [
        ProposedChange(action=remove, kind=label, subject=f"{label} {key}", detail="")
        for label, key in sorted(changes.remove_vertices)
    ]
    for action, edges in ((add, changes.add_edges), (change, changes.change_edges), (remove, changes.remove_edges)):
        out += [ProposedChange(action=action, kind=e[0], subject=_edge(e), detail="") for e in sorted(edges)]
    return out[:limit]


@strawberry.type
class DiscoveryQuery:
    @strawberry.field(
        description="Links that differ from the intended cabling: intended but not seen over LLDP, seen but not "
        "intended, and backend NICs seen on another rail's leaf; each with a reason (providers).",
        permission_classes=[ProviderReader],
    )
    async def link_drift(self, info: Ctx, kind: DriftKind | None = None, first: int | None = 1000) -> LinkDrift:
        size = check_page_size(first, info.context.settings.max_page_size)
        found = await drift_service.link_drift(info.context.reader.store)
        return _link_drift(found, kind, size)


@strawberry.type
class DiscoveryMutation:
    @strawberry.mutation(
        description="Read every BMC's Redfish inventory and every switch's LLDP table and propose the graph "
        "changes (nodes' hardware, GPUs, NICs with MACs, observed links); with `apply`, write them. A device that "
        "cannot be read is listed in `errors`; the others are read all the same (provider-admins).",
        permission_classes=[ProviderAdmin],
    )
    async def discover(self, info: Ctx, apply: bool = False, max_changes: int = 200) -> DiscoveryResult:
        settings = info.context.settings
        store = info.context.store
        if not 0 <= max_changes <= settings.max_page_size:
            raise ApiError(
                Code.INVALID_INPUT,
                f"`maxChanges` must be between 0 and {settings.max_page_size}",
                argument="maxChanges",
            )
        await ensure_sim_devices(store)
        access = DeviceAccess.from_settings(settings)
        try:
            result = await run_discovery(store, access, apply=apply, per_device=settings.device_concurrency)
        finally:
            info.context.forget_cached_reads()
        changes = result.proposal.changes
        return DiscoveryResult(
            applied=result.applied,
            devices=result.observations.devices,
            read=result.read,
            failed=result.failed,
            skipped=len(result.skipped),
            change_count=changes.size,
            summary=[ChangeCount(kind=k, **counts) for k, counts in changes.summary().items()],
            changes=proposed_changes(changes, max_changes),
            errors=[DeviceError(**failure.as_dict()) for failure in result.observations.failures],
            notes=result.proposal.notes,
            drift=_link_drift(result.drift, None, 0) if result.drift is not None else None,
        )
