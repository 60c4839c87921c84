"""Failed clusters that hold their VLAN, released again once their switches answer.

A detach that cannot confirm some ports (their switch was down) leaves the cluster `failed` with its
VLAN held and the ports listed (see `detach`). Rather than wait for someone to release it again,
every `retry_s` the server reads the switches of all such ports at once; for each cluster whose
switches all answer, it starts the release itself (audited as the lifecycle). A switch still down
costs a read and writes nothing. A cluster that ends up held again (its switch answers reads but
refuses the change) waits twice as long before each next try, up to `MAX_BACKOFF_S`, so a lasting
fault does not fill its events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from ..devices.access import switch_device
from ..isolation.devices import read_switches
from .context import JobContext

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 6 * 3600.0

_HELD = """
MATCH (c:Cluster {state: 'failed'})-[:ON]->(w:Network)
WHERE size(coalesce(w.held_ports, [])) > 0 AND coalesce(c.job, '') = ''
UNWIND w.held_ports AS k
MATCH (p:Port {key: k})
RETURN c.key AS cluster, collect(DISTINCT p.switch) AS switches
"""
_SWITCHES = """
UNWIND $names AS k MATCH (s:Switch {key: k})
RETURN s.key AS name, s.driver AS driver, s.mgmt_address AS mgmt_address, s.credentials AS credentials
"""


class HeldVlans:
    def __init__(self, ctx: JobContext, release: Callable[[str], Awaitable[None]], retry_s: float) -> None:
        """`release(cluster_key)` starts the release of a failed cluster."""
        self.ctx = ctx
        self.release = release
        self.retry_s = retry_s
        self._last = float("-inf")
        self._waits: dict[str, tuple[float, float]] = {}
        """Cluster -> (the wait after its last try, when it may be tried again)."""

    async def tick(self) -> None:
        now = time.monotonic()
        if now - self._last < self.retry_s:
            return
        self._last = now
        held = {row["cluster"]: row["switches"] for row in await self.ctx.store.read(_HELD)}
        self._waits = {key: wait for key, wait in self._waits.items() if key in held}
        due = {key: switches for key, switches in held.items() if self._waits.get(key, (0.0, 0.0))[1] <= now}
        if not due:
            return
        await self.ctx.prepare_devices()
        names = sorted({name for switches in due.values() for name in switches})
        rows = await self.ctx.store.read(_SWITCHES, {"names": names})
        reads = await read_switches(self.ctx.access, {row["name"]: switch_device(row) for row in rows})
        for key, switches in sorted(due.items()):
            if any(name not in reads.states for name in switches):
                continue
            wait = min(2 * self._waits.get(key, (self.retry_s / 2, 0.0))[0], MAX_BACKOFF_S)
            self._waits[key] = (wait, now + wait)
            try:
                await self.release(key)
            except Exception:  # the others still get their turn
                log.exception("could not start the release of %s, which holds its VLAN", key)
