"""Audit fixtures: events to record and the log that records them (on each store, via `store`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from metalgraph.server.audit import AuditEntry, AuditEvent, AuditLog, Outcome
from metalgraph.server.store.base import GraphStore

MakeEvent = Callable[..., AuditEvent]


@pytest.fixture
def make_event() -> MakeEvent:
    """A factory of events: `make_event(3)` is operation `op3` by `token:alice` of tenant `acme`."""

    def make(number: int = 0, **overrides: Any) -> AuditEvent:
        fields: dict[str, Any] = {
            "actor": "token:alice",
            "role": "tenant-admin",
            "tenant": "acme",
            "operation": f"op{number}",
            "variables": {"input": {"name": f"cluster-{number}", "nodes": number}},
            "outcome": Outcome.OK,
            "detail": "",
        }
        return AuditEvent(**{**fields, **overrides})

    return make


@pytest.fixture
def audit_log(store: GraphStore) -> AuditLog:
    return AuditLog(store)


@pytest.fixture
def fill(audit_log: AuditLog, make_event: MakeEvent) -> Callable[[int], Awaitable[list[AuditEntry]]]:
    """`await fill(n)` records events 1..n and returns their entries."""

    async def record(n: int) -> list[AuditEntry]:
        return [await audit_log.record(make_event(i)) for i in range(1, n + 1)]

    return record
