"""Assembling a server's `Lifecycle` from its settings."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from typing import Any

from metalgraph.drivers.types import BootDevice

from ..audit import AuditLog
from ..devices.access import DeviceAccess
from ..placement.cache import PlacementCache
from ..settings import Settings
from ..store.base import GraphStore
from .admission import Admission
from .context import JobContext, LifecycleConfig
from .events import EventBell
from .service import Lifecycle


def instance_id() -> str:
    """Who this server is when it holds a job's lease: host, process and a random part (a restarted
    process with a reused pid is still someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_lifecycle(
    settings: Settings,
    store: GraphStore,
    audit: AuditLog,
    *,
    driver_options: Mapping[str, Mapping[str, Any]] | None = None,
    admission: Admission | None = None,
) -> Lifecycle:
    config = LifecycleConfig(
        owner=instance_id(),
        lease_s=settings.job_lease_s,
        poll_s=settings.job_poll_s,
        boot_device=BootDevice(settings.boot_device),
        per_device=settings.device_concurrency,
        device_timeout_s=settings.device_timeout_s,
        clean_poll_s=settings.sanitize_poll_s,
        held_retry_s=settings.held_vlan_retry_s,
        step_attempts=settings.job_step_attempts,
    )
    ctx = JobContext(
        store=store,
        access=DeviceAccess.from_settings(settings, driver_options=driver_options),
        audit=audit,
        bell=EventBell(),
        placement=PlacementCache(store),
        admission=admission or Admission.default(settings.max_cluster_nodes),
        config=config,
    )
    return Lifecycle(ctx)
