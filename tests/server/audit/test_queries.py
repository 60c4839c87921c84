"""Reading the audit log: newest first, keyset pages, filters applied in the store, tenants kept apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from metalgraph.server.audit import AuditLog, InvalidCursor, Outcome, count, page
from metalgraph.server.audit import log as log_module
from metalgraph.server.store.base import GraphStore

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entry n is recorded at T0 + n minutes."""
    ticks = iter(range(1, 1000))
    monkeypatch.setattr(
        log_module, "now_iso", lambda: (T0 + timedelta(minutes=next(ticks))).isoformat("T", "milliseconds")
    )


@pytest.fixture
async def mixed_log(store: GraphStore, audit_log: AuditLog, make_event, clock) -> None:
    """9 entries: seq 1..6 alternate tenants acme/globex (odd: acme), 7..9 are a provider's; 3 and 6 denied."""
    for i in range(1, 7):
        outcome = Outcome.DENIED if i % 3 == 0 else Outcome.OK
        tenant = "acme" if i % 2 else "globex"
        await audit_log.record(make_event(i, tenant=tenant, actor=f"token:{tenant}", outcome=outcome))
    for i in range(7, 10):
        await audit_log.record(make_event(i, tenant=None, actor="admin", role="provider-admin"))


async def seqs(store: GraphStore, **kwargs) -> list[int]:
    entries, _more = await page(store, first=100, **kwargs)
    return [e.seq for e in entries]


async def test_pages_run_newest_first_and_chain_by_cursor(store: GraphStore, mixed_log) -> None:
    first, more = await page(store, tenant=None, first=4)
    assert [e.seq for e in first] == [9, 8, 7, 6] and more
    second, more = await page(store, tenant=None, first=4, after=first[-1].key)
    assert [e.seq for e in second] == [5, 4, 3, 2] and more
    third, more = await page(store, tenant=None, first=4, after=second[-1].key)
    assert [e.seq for e in third] == [1] and not more
    assert await page(store, tenant=None, first=0) == ([], True)


async def test_a_page_holds_whole_entries(store: GraphStore, mixed_log) -> None:
    entries, _ = await page(store, tenant="acme", first=1)
    entry = entries[0]
    assert (entry.seq, entry.tenant, entry.actor, entry.operation, entry.outcome) == (
        5,
        "acme",
        "token:acme",
        "op5",
        "ok",
    )
    assert entry.variables == {"input": {"name": "cluster-5", "nodes": 5}}
    assert entry.hash == entry.computed_hash()


async def test_a_tenant_sees_exactly_its_own_entries(store: GraphStore, mixed_log) -> None:
    assert await seqs(store, tenant="acme") == [5, 3, 1]
    assert await seqs(store, tenant="globex") == [6, 4, 2]
    assert await seqs(store, tenant="initech") == []
    assert await count(store, tenant="acme") == 3
    assert await count(store, tenant=None) == 9
    entries, more = await page(store, tenant="globex", first=2, after="000000000005")
    assert ([e.seq for e in entries], more) == ([4, 2], False)


async def test_filters_combine(store: GraphStore, mixed_log) -> None:
    assert await seqs(store, tenant=None, actor="admin") == [9, 8, 7]
    assert await seqs(store, tenant=None, outcome=Outcome.DENIED) == [6, 3]
    assert await seqs(store, tenant="acme", outcome="denied") == [3]
    assert await seqs(store, tenant=None, operation="op4") == [4]
    assert await count(store, tenant=None, outcome=Outcome.DENIED, actor="token:globex") == 1


async def test_time_filters_include_since_and_exclude_until(store: GraphStore, mixed_log) -> None:
    since, until = T0 + timedelta(minutes=3), T0 + timedelta(minutes=6)
    assert await seqs(store, tenant=None, since=since, until=until) == [5, 4, 3]
    assert await count(store, tenant=None, since=since) == 7
    in_another_zone = until.astimezone(timezone(timedelta(hours=-5)))
    assert await seqs(store, tenant="globex", until=in_another_zone) == [4, 2]


async def test_bad_arguments_are_refused(store: GraphStore) -> None:
    with pytest.raises(InvalidCursor):
        await page(store, tenant=None, first=5, after="' OR 1=1")
    with pytest.raises(ValueError):
        await page(store, tenant=None, first=-1)
    with pytest.raises(ValueError):
        await page(store, tenant=None, first=5, since=datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        await count(store, tenant=None, outcome="maybe")


async def test_a_tenant_s_view_leaves_out_its_entries_without_a_tenant_seq(
    store: GraphStore, audit_log: AuditLog, make_event
) -> None:
    old = await audit_log.record(make_event(1, tenant=None))
    props = {**old.to_props(), "seq": 99, "key": "unnumbered", "tenant": "acme"}  # as written before tenant_seq
    await store.write("CREATE (e:AuditEntry) SET e = $p", {"p": props})
    await audit_log.record(make_event(2, tenant="acme"))
    entries, more = await page(store, tenant="acme", first=10, tenant_view=True)
    assert [(e.seq_shown(tenant_view=True), e.operation) for e in entries] == [(1, "op2")] and not more
    assert await count(store, tenant="acme", tenant_view=True) == 1
    assert len((await page(store, tenant="acme", first=10))[0]) == 2, "providers see both"
