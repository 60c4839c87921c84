"""`isolation_report`: the graph's intended tenant isolation against the switches' VLAN state."""

from __future__ import annotations

import time
from collections.abc import Sequence

from metalgraph.drivers.parallel import DevicePool

from ..devices.access import DeviceAccess
from ..errors import NotFound
from ..store.base import GraphStore
from .devices import read_switches
from .intent import read_intent, read_peers
from .model import IsolationReport, Violation, ViolationKind
from .rules import Context, check

_KIND_ORDER = {kind: i for i, kind in enumerate(ViolationKind)}


async def isolation_report(
    store: GraphStore,
    access: DeviceAccess,
    *,
    switches: Sequence[str] | None = None,
    pool: DevicePool | None = None,
) -> IsolationReport:
    """Read the intent from the graph and the VLAN state of every switch (or of `switches` only,
    by name; an unknown name is `NotFound`) through its driver, in parallel under `pool` (default:
    `devices.default_pool`), and list every violation (see `rules` for what each kind means).

    With `switches`, port-level rules look at those switches' ports only; the rules about clusters,
    nodes and networks always cover the whole graph. A switch that cannot be read is listed as
    `unreachable`; its ports are still judged on the graph's intent alone."""
    started = time.perf_counter()
    intent = await read_intent(store, switches)
    if switches is not None:
        missing = sorted(set(switches) - set(intent.switches))
        if missing:
            raise NotFound(f"switch {', '.join(repr(m) for m in missing)} not found")
    scope = list(intent.switches) if switches is None else list(dict.fromkeys(switches))
    graph_done = time.perf_counter()
    reads = await read_switches(access, {name: intent.switches[name].ref for name in scope}, pool)
    devices_done = time.perf_counter()
    ctx = Context(intent, reads)
    await read_peers(store, intent, ctx.uplinks)
    violations, compared = check(ctx, scope)
    return IsolationReport(
        violations=tuple(sorted(violations, key=_order)),
        switches_read=len(reads.states),
        ports_compared=compared,
        clusters=len(intent.clusters),
        duration_s=time.perf_counter() - started,
        graph_s=graph_done - started,
        devices_s=devices_done - graph_done,
        cables_read=len(ctx.uplinks),
    )


def _order(v: Violation) -> tuple[int, str, str, int, str, str]:
    return (_KIND_ORDER[v.kind], v.switch or "", v.port or "", v.vlan or 0, v.node or "", v.message)
