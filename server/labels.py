"""Every vertex label whose `key` is unique; the stores create a constraint for each at start."""

from __future__ import annotations

from .inventory.generation import GENERATION_LABEL
from .inventory.records import VERTEX_LABELS

TENANCY_LABELS: tuple[str, ...] = ("Tenant", "Cluster", "ApiToken")
AUDIT_LABELS: tuple[str, ...] = ("AuditEntry", "AuditHead", "AuditTenantHead")
DISCOVERY_LABELS: tuple[str, ...] = ("LldpScan",)
LIFECYCLE_LABELS: tuple[str, ...] = ("ClusterEvent", "Network")
INVENTORY_META_LABELS: tuple[str, ...] = (GENERATION_LABEL,)
KEYED_LABELS: tuple[str, ...] = (
    VERTEX_LABELS + INVENTORY_META_LABELS + TENANCY_LABELS + AUDIT_LABELS + DISCOVERY_LABELS + LIFECYCLE_LABELS
)
