"""Repeatable refusals are audited per caller and window: the first at once, the rest as one count,
written when the window closes, at the next refusal after it, or at shutdown; counts stay exact."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from metalgraph.server.audit import AuditEvent, AuditLog, Outcome, verify
from metalgraph.server.audit.refusals import ANONYMOUS_OVERFLOW, RefusalWindows
from metalgraph.server.store.base import GraphStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refusal(actor: str = "anonymous@203.0.113.7", role: str = "", operation: str = "http") -> AuditEvent:
    return AuditEvent(actor, role, None, operation, outcome=Outcome.LIMITED, detail="BODY_TOO_LARGE: too large")


async def entries(store: GraphStore) -> list[dict[str, Any]]:
    rows = await store.read("MATCH (e:AuditEntry) RETURN e{.*} AS e ORDER BY e.seq")
    return [{**row["e"], "variables": json.loads(row["e"]["variables"])} for row in rows]


def refusals_in(stored: list[dict[str, Any]]) -> int:
    """Refusals the entries account for: one each, or the count of a `refusals` entry."""
    return sum(e["variables"]["refusals"] if e["operation"] == "refusals" else 1 for e in stored)


def windows(log: AuditLog, clock: Clock, anonymous: int = 100) -> RefusalWindows:
    log.refusals = RefusalWindows(log.record, 60.0, anonymous, clock=clock)
    return log.refusals


async def test_a_window_writes_its_first_refusal_then_one_count(store: GraphStore, audit_log: AuditLog) -> None:
    clock = Clock()
    windows(audit_log, clock)
    for _ in range(1000):
        await audit_log.refused(refusal(), "BODY_TOO_LARGE")
    assert len(await entries(store)) == 1, "only the first refusal of the window is written at once"
    clock.now += 61
    await audit_log.refused(refusal(), "BODY_TOO_LARGE")  # the next refusal after the window
    stored = await entries(store)
    assert [e["operation"] for e in stored] == ["http", "refusals", "http"]
    assert stored[1]["variables"]["refusals"] == 999 and stored[1]["outcome"] == "limited"
    assert stored[1]["actor"] == "anonymous@203.0.113.7"
    await audit_log.close()
    assert refusals_in(await entries(store)) == 1001
    assert (await verify(store)).intact


async def test_callers_and_codes_have_windows_of_their_own(store: GraphStore, audit_log: AuditLog) -> None:
    clock = Clock()
    windows(audit_log, clock)
    for _ in range(3):
        await audit_log.refused(refusal("token:a", "tenant-admin"), "RATE_LIMITED")
        await audit_log.refused(refusal("token:b", "tenant-admin"), "RATE_LIMITED")
        await audit_log.refused(refusal("token:a", "tenant-admin"), "COST_LIMIT")
    assert len(await entries(store)) == 3
    await audit_log.close()
    stored = await entries(store)
    assert refusals_in(stored) == 9
    assert sorted((e["actor"], e["variables"]["refusals"]) for e in stored if e["operation"] == "refusals") == [
        ("token:a", 2),
        ("token:a", 2),
        ("token:b", 2),
    ]


async def test_anonymous_callers_beyond_the_allowance_are_counted_together(
    store: GraphStore, audit_log: AuditLog
) -> None:
    clock = Clock()
    windows(audit_log, clock, anonymous=5)
    for i in range(200):
        await audit_log.refused(refusal(f"anonymous@198.51.100.{i}"), "UNAUTHENTICATED")
    assert len(await entries(store)) == 5
    await audit_log.close()
    stored = await entries(store)
    overflow = [e for e in stored if e["actor"] == ANONYMOUS_OVERFLOW]
    assert len(overflow) == 1 and overflow[0]["variables"]["refusals"] == 195
    assert overflow[0]["variables"]["callers"] == 195
    assert refusals_in(stored) == 200


async def test_a_closed_window_is_written_without_another_refusal(store: GraphStore) -> None:
    log = AuditLog(store, refusal_window_s=0.2)
    for _ in range(5):
        await log.refused(refusal(), "RATE_LIMITED")
    for _ in range(200):  # the window's timer writes the count
        if len(await entries(store)) == 2:
            break
        await asyncio.sleep(0.05)
    assert refusals_in(await entries(store)) == 5
    await log.close()
    assert len(await entries(store)) == 2
