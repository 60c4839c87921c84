"""Failed clusters that hold their VLAN, released again once their switches answer.

A detach that cannot confirm some ports (their switch was down) leaves the cluster `failed` with its
VLAN held and the ports listed (see `detach`). Rather than wait for someone to release it again,
every `retry_s` the server reads the switches of those ports; when every one of them answers, it
starts the release itself (audited as the lifecycle). A switch still down costs one read per round
and writes nothing, so a long outage does not fill the cluster's events.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from ..devices.access import switch_device
from ..isolation.devices import read_switches
from .context import JobContext

_HELD = """
MATCH (c:Cluster {state: 'failed'})-[:ON]->(w:Network)
WHERE size(coalesce(w.held_ports, [])) > 0 AND coalesce(c.job, '') = ''
RETURN c.key AS cluster, w.held_ports AS ports
"""
_SWITCHES = """
UNWIND $ports AS k MATCH (s:Switch)-[:HAS_PORT]->(:Port {key: k})
WITH DISTINCT s
RETURN s.key AS name, s.driver AS driver, s.mgmt_address AS mgmt_address, s.credentials AS credentials
"""


class HeldVlans:
    def __init__(self, ctx: JobContext, release: Callable[[str], Awaitable[None]], retry_s: float) -> None:
        """`release(cluster_key)` starts the release of a failed cluster."""
        self.ctx = ctx
        self.release = release
        self.retry_s = retry_s
        self._last = float("-inf")

    async def tick(self) -> None:
        if time.monotonic() - self._last < self.retry_s:
            return
        self._last = time.monotonic()
        for row in await self.ctx.store.read(_HELD):
            switches = await self.ctx.store.read(_SWITCHES, {"ports": list(row["ports"])})
            reads = await read_switches(self.ctx.access, {s["name"]: switch_device(s) for s in switches})
            if not reads.failures:
                await self.release(row["cluster"])
