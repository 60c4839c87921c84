"""What a lifecycle job works with, gathered once per server: the store, device access, the audit
log, the placement index, admission, and the timing of leases and polls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metalgraph.drivers.parallel import DevicePool, RetryPolicy
from metalgraph.drivers.types import BootDevice

from ..audit import AuditEvent, AuditLog
from ..devices.access import DeviceAccess
from ..devices.demo_lab import SIM, ensure_sim_devices
from ..placement.cache import PlacementCache
from ..store.base import GraphStore, Statement
from .admission import Admission
from .events import EventBell

SYSTEM_ACTOR = "system:lifecycle"


@dataclass(frozen=True)
class LifecycleConfig:
    owner: str
    """This server's instance id: who holds a job's lease."""
    lease_s: float = 15.0
    """A job's lease; a server that dies loses its jobs to another after this long."""
    poll_s: float = 0.5
    """How often a server looks for jobs without an owner, and watchers poll for events."""
    reserve_attempts: int = 8
    """Plans tried when other requests keep taking the chosen nodes first."""
    boot_device: BootDevice = BootDevice.PXE
    per_device: int = 2
    total_devices: int = 256
    device_timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=3, base_delay_s=0.2, max_delay_s=2.0))
    clean_poll_s: float = 1.0
    clean_timeout_s: float = 6 * 3600.0
    held_retry_s: float = 60.0
    """How often the switches of a failed cluster's held VLAN are tried (see `held`)."""
    step_attempts: int = 3
    """How often a job step may fail unexpectedly before the job rolls back (see `runner`)."""


@dataclass
class JobContext:
    store: GraphStore
    access: DeviceAccess
    audit: AuditLog
    bell: EventBell
    placement: PlacementCache
    admission: Admission
    config: LifecycleConfig

    async def prepare_devices(self) -> None:
        """Make the graph's simulated devices exist in the sim lab this server's drivers use (a demo
        or test fabric runs end to end without hardware); nothing to do for real devices."""
        lab = self.access.driver_options.get(SIM, {}).get("lab")
        await ensure_sim_devices(self.store, lab)

    def pool(self) -> DevicePool:
        """A pool for one step: its limits hold across all the step's device calls."""
        c = self.config
        return DevicePool(per_device=c.per_device, total=c.total_devices, timeout_s=c.device_timeout_s, retry=c.retry)

    async def record(
        self, cluster: str | None, operation: str, detail: str, changes: list[Statement], **variables: Any
    ) -> None:
        """Write `changes` with an audit entry of the lifecycle acting on `cluster` (its key), and wake
        the cluster's watchers. Ownership changes go through here: other servers see the audit head
        move and refresh what they cached (tenant scopes, the placement index)."""
        tenant, _, name = cluster.partition("/") if cluster else (None, "", "")
        if name:
            variables = {"cluster": name, **variables}
        event = AuditEvent(
            actor=SYSTEM_ACTOR, role="system", tenant=tenant, operation=operation, variables=variables, detail=detail
        )
        await self.audit.record(event, changes)
        if cluster:
            self.bell.ring([cluster])
