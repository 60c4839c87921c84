"""Repeatable refusals are audited per caller and window: the first at once, the rest as one count,
written once the window closed, or at shutdown; counts stay exact, whatever fails or is cancelled."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from metalgraph.server.audit import AuditEntry, AuditEvent, AuditLog, Outcome, verify
from metalgraph.server.audit.refusals import ANONYMOUS_OVERFLOW, RefusalWindows
from metalgraph.server.store.base import GraphStore, StoreError


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
    await audit_log.refused(refusal(), "BODY_TOO_LARGE")  # opens the next window, without waiting for the count
    assert [e["operation"] for e in await entries(store)] == ["http", "http"]
    await audit_log.refusals.flush()  # what the timer does when the window closed
    stored = await entries(store)
    assert [e["operation"] for e in stored] == ["http", "http", "refusals"]
    assert stored[2]["variables"]["refusals"] == 999 and stored[2]["outcome"] == "limited"
    assert stored[2]["actor"] == "anonymous@203.0.113.7"
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


class Gate:
    """A write through `log` that waits, before writing a count, until the test opens the gate."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log
        self.waiting = asyncio.Event()
        self.open = asyncio.Event()

    async def write(self, event: AuditEvent) -> AuditEntry:
        if event.operation == "refusals":
            self.waiting.set()
            await self.open.wait()
        return await self.log.record(event)


async def test_a_flush_cancelled_while_it_writes_loses_no_count(store: GraphStore, audit_log: AuditLog) -> None:
    clock, gate = Clock(), Gate(audit_log)
    audit_log.refusals = RefusalWindows(gate.write, 60.0, 100, clock=clock)
    for caller in ("token:a", "token:b", "token:c"):
        for _ in range(4):
            await audit_log.refused(refusal(caller, "tenant-admin"), "RATE_LIMITED")
    clock.now += 61
    flush = asyncio.create_task(audit_log.refusals.flush())
    await gate.waiting.wait()
    flush.cancel()  # as a request's timeout cancels what it awaits
    await asyncio.gather(flush, return_exceptions=True)
    gate.open.set()
    await audit_log.close()
    stored = await entries(store)
    assert refusals_in(stored) == 12
    assert sorted(e["variables"]["refusals"] for e in stored if e["operation"] == "refusals") == [3, 3, 3]


async def test_shutdown_while_the_timer_writes_a_count_loses_nothing(store: GraphStore, audit_log: AuditLog) -> None:
    gate = Gate(audit_log)
    audit_log.refusals = RefusalWindows(gate.write, 0.2, 100)
    for _ in range(5):
        await audit_log.refused(refusal(), "RATE_LIMITED")
    await gate.waiting.wait()  # the window closed and its timer is writing the count
    close = asyncio.create_task(audit_log.close())
    await asyncio.sleep(0.1)  # shutdown is under way while the write waits
    gate.open.set()
    await close
    stored = await entries(store)
    assert [e["operation"] for e in stored] == ["http", "refusals"]
    assert refusals_in(stored) == 5


async def test_a_refusal_whose_own_entry_fails_is_counted(store: GraphStore, audit_log: AuditLog) -> None:
    clock = Clock()
    release, failing = asyncio.Event(), True

    async def write(event: AuditEvent) -> AuditEntry:
        if failing and event.operation == "http":
            await release.wait()  # the first refusal's write is slow, then fails; the next ones are counted
            raise StoreError("the store is unavailable")
        return await audit_log.record(event)

    audit_log.refusals = RefusalWindows(write, 60.0, 100, clock=clock)
    first = asyncio.create_task(audit_log.refused(refusal(), "RATE_LIMITED"))
    await asyncio.sleep(0)
    for _ in range(4):
        await audit_log.refused(refusal(), "RATE_LIMITED")
    release.set()
    with pytest.raises(StoreError):
        await first
    failing = False
    await audit_log.close()
    stored = await entries(store)
    assert [e["operation"] for e in stored] == ["refusals"]
    assert stored[0]["variables"]["refusals"] == 5
    assert "5 in a 60 s window" in stored[0]["detail"]


async def test_a_lone_refusal_whose_entry_fails_is_counted(store: GraphStore, audit_log: AuditLog) -> None:
    failing = True

    async def write(event: AuditEvent) -> AuditEntry:
        if failing:
            raise StoreError("the store is unavailable")
        return await audit_log.record(event)

    audit_log.refusals = RefusalWindows(write, 60.0, 100, clock=Clock())
    with pytest.raises(StoreError):
        await audit_log.refused(refusal(), "RATE_LIMITED")
    failing = False
    await audit_log.close()
    assert refusals_in(await entries(store)) == 1


async def test_shutdown_logs_the_counts_it_could_not_write_in_time(
    store: GraphStore, audit_log: AuditLog, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate(audit_log)  # never opened: the store hangs
    audit_log.refusals = RefusalWindows(gate.write, 60.0, 100, clock=Clock())
    for _ in range(3):
        await audit_log.refused(refusal(), "RATE_LIMITED")
    await audit_log.refusals.close(timeout_s=0.2)
    assert "2 refusals of anonymous@203.0.113.7 (RATE_LIMITED) were not audited by shutdown" in caplog.text
    assert refusals_in(await entries(store)) == 1
