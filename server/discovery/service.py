"""Discovery end to end: read the devices, propose the changes, optionally write them.

    access = DeviceAccess.from_settings(settings)
    result = await discover(store, access)               # a dry run: what would change
    result = await discover(store, access, apply=True)   # and write it

The CLI (`metalgraph discover`) and the API (`discover` mutation) both call `discover`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from metalgraph.drivers.parallel import DevicePool, WorkResult

from ..devices.access import DeviceAccess, DeviceRef, inventory_devices
from ..store.base import GraphStore
from .drift import LinkDrift, link_drift
from .observe import Observations, default_pool, observe
from .propose import Proposal, propose
from .propose import apply as apply_proposal


@dataclass
class DiscoveryResult:
    observations: Observations
    proposal: Proposal
    applied: bool = False
    skipped: list[DeviceRef] = field(default_factory=list)
    """Devices without an address: nothing to read."""
    drift: LinkDrift | None = None
    """The link drift after the proposal (applied, or as it would be once applied)."""

    @property
    def failed(self) -> int:
        return len(self.observations.failures)

    @property
    def read(self) -> int:
        return len(self.observations.nodes) + len(self.observations.switches)

    def as_dict(self, max_lines: int = 200) -> dict[str, Any]:
        """A JSON-ready report (what `discover --json` prints)."""
        changes = self.proposal.changes
        return {
            "applied": self.applied,
            "devices": self.observations.devices,
            "read": self.read,
            "failed": [f.as_dict() for f in self.observations.failures],
            "skipped": [{"kind": ref.kind, "name": ref.name, "reason": "no address"} for ref in self.skipped],
            "changes": changes.size,
            "summary": changes.summary(),
            "lines": changes.lines(limit=max_lines),
            "notes": self.proposal.notes,
            "drift": None if self.drift is None else self._drift(max_lines),
        }

    def _drift(self, max_lines: int) -> dict[str, Any]:
        assert self.drift is not None
        return {
            **self.drift.counts(),
            "unscanned": self.drift.unscanned,
            "items": [item.as_dict() for item in self.drift.items[:max_lines]],
        }


async def discover(
    store: GraphStore,
    access: DeviceAccess,
    *,
    apply: bool = False,
    nodes: Sequence[str] | None = None,
    switches: Sequence[str] | None = None,
    pool: DevicePool | None = None,
    per_device: int = 2,
    with_drift: bool = True,
    on_result: Callable[[WorkResult[Any]], None] | None = None,
) -> DiscoveryResult:
    """Read the devices of the graph (all, or the `nodes` and `switches` named), propose what to
    change, and with `apply` write it. Device failures are in the result, never raised;
    `NotFound` for a named node or switch the graph lacks."""
    devices = await inventory_devices(store, nodes=nodes, switches=switches)
    reachable = [ref for ref in devices if ref.address]
    found = await observe(reachable, access, pool=pool or default_pool(access, per_device), on_result=on_result)
    proposal = await propose(store, found)
    if apply:
        await apply_proposal(store, proposal)
    result = DiscoveryResult(found, proposal, apply, [ref for ref in devices if not ref.address])
    if with_drift:
        result.drift = await link_drift(store, None if apply else proposal)
    return result
