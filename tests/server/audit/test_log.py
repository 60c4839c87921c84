"""Appending to the audit log: the chain, atomicity with the change it records, and concurrency."""

from __future__ import annotations

import asyncio

import pytest

from metalgraph.server.audit import AuditLog, AuditLogCorrupted, verify
from metalgraph.server.audit.entry import GENESIS_HASH, AuditEntry, build_entry, entry_key
from metalgraph.server.audit.log import Head, _append_statement
from metalgraph.server.store.base import ConstraintViolation, GraphStore, StoreQueryError

FAILING = ("MATCH (n:Node {key: 'n1'}) SET n.cpu_cores = 1 / $zero", {"zero": 0})


async def stored_entries(store: GraphStore) -> list[AuditEntry]:
    rows = await store.read("MATCH (e:AuditEntry) RETURN e{.*} AS e ORDER BY e.key")
    return [AuditEntry.from_props(row["e"]) for row in rows]


async def head(store: GraphStore) -> list[dict]:
    return await store.read("MATCH (h:AuditHead) RETURN h.seq AS seq, h.hash AS hash")


async def test_entries_form_a_chain_from_the_genesis_hash(store: GraphStore, audit_log, make_event) -> None:
    first = await audit_log.record(make_event(1))
    second = await audit_log.record(make_event(2, tenant=None, role="provider-admin", actor="admin"))
    assert (first.seq, first.prev_hash, first.key) == (1, GENESIS_HASH, entry_key(1))
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.hash == first.computed_hash() != second.hash
    assert await stored_entries(store) == [first, second]
    assert await head(store) == [{"seq": 2, "hash": second.hash}]
    assert second.tenant is None and second.variables == {"input": {"name": "cluster-2", "nodes": 2}}


async def test_an_entry_has_a_utc_time_with_milliseconds(audit_log, make_event) -> None:
    entry = await audit_log.record(make_event(1))
    assert entry.at[10] == "T" and entry.at.endswith("+00:00") and len(entry.at.split(".")[1]) == len("123+00:00")


async def test_the_variables_are_redacted_in_the_store(store: GraphStore, audit_log, make_event) -> None:
    token = "mg_abcdefghijklmnop_" + "x" * 43
    await audit_log.record(make_event(1, variables={"login": {"password": "hunter2", "note": f"use {token}"}}))
    stored = (await store.read("MATCH (e:AuditEntry) RETURN e.variables AS v"))[0]["v"]
    assert "hunter2" not in stored and token not in stored
    assert (await stored_entries(store))[0].variables == {"login": {"password": "[redacted]", "note": "use [redacted]"}}


async def test_changes_and_their_entry_are_written_together(store: GraphStore, audit_log, make_event) -> None:
    entry = await audit_log.record(
        make_event(1),
        [
            ("CREATE (:Node {key: $key})", {"key": "n1"}),
            ("MATCH (n:Node {key: $key}) SET n.cpu_cores = 8", {"key": "n1"}),
        ],
    )
    assert await store.read("MATCH (n:Node) RETURN n{.*} AS n") == [{"n": {"key": "n1", "cpu_cores": 8}}]
    assert await stored_entries(store) == [entry]


async def test_a_failing_change_leaves_neither_the_change_nor_the_entry(
    store: GraphStore, audit_log, make_event
) -> None:
    await store.write("CREATE (:Node {key: 'n1', cpu_cores: 4})")
    before = await audit_log.record(make_event(1))
    with pytest.raises(StoreQueryError):
        await audit_log.record(make_event(2), [("CREATE (:GPU {key: 'g1'})", {}), FAILING])
    with pytest.raises(ConstraintViolation):
        await audit_log.record(make_event(3), [("CREATE (:GPU {key: 'g2'})", {}), ("CREATE (:Node {key: 'n1'})", {})])
    assert await store.read("MATCH (g:GPU) RETURN count(g) AS c") == [{"c": 0}]
    assert await store.read("MATCH (n:Node) RETURN n.cpu_cores AS c") == [{"c": 4}]
    assert await stored_entries(store) == [before]
    assert await head(store) == [{"seq": 1, "hash": before.hash}]
    after = await audit_log.record(make_event(4))
    assert (after.seq, after.prev_hash) == (2, before.hash)


async def test_a_change_that_returns_rows_is_refused_before_anything_is_written(
    store: GraphStore, audit_log, make_event
):
    with pytest.raises(ValueError, match="return nothing"):
        await audit_log.record(make_event(1), [("CREATE (n:Node {key: 'n1'}) RETURN n.key AS key", {})])
    assert await store.read("MATCH (n) RETURN count(n) AS c") == [{"c": 0}]


async def test_the_guard_refuses_an_entry_built_on_a_stale_head(store: GraphStore, audit_log, make_event) -> None:
    first = await audit_log.record(make_event(1))
    stale = Head(0, GENESIS_HASH)
    forked = build_entry(make_event(2), seq=1, prev_hash=GENESIS_HASH, at=first.at)
    with pytest.raises(StoreQueryError):
        await store.write_atomically([("CREATE (:GPU {key: 'g1'})", {}), _append_statement(stale, forked)])
    assert await store.read("MATCH (g:GPU) RETURN count(g) AS c") == [{"c": 0}]
    assert await stored_entries(store) == [first]


async def test_a_writer_that_lost_a_race_rereads_the_head_and_retries(store: GraphStore, make_event) -> None:
    this_server, other_server = AuditLog(store), AuditLog(store)
    read_head = this_server._head
    reads = 0

    async def head_then_race(tenant: str | None) -> Head:
        nonlocal reads
        reads += 1
        current = await read_head(tenant)
        if reads == 1:  # the other server appends between this one's read and its write
            await other_server.record(make_event(1, actor="other"))
        return current

    this_server._head = head_then_race  # type: ignore[method-assign]
    entry = await this_server.record(make_event(2, actor="this"), [("CREATE (:GPU {key: 'g1'})", {})])
    assert reads == 2
    assert (entry.seq, entry.tenant_seq, entry.actor) == (2, 2, "this")  # both of tenant acme
    assert [e.actor for e in await stored_entries(store)] == ["other", "this"]
    assert await store.read("MATCH (g:GPU) RETURN count(g) AS c") == [{"c": 1}]
    assert (await verify(store)).intact


async def test_two_servers_recording_concurrently_give_one_valid_chain(store: GraphStore, make_event) -> None:
    servers = [AuditLog(store), AuditLog(store)]
    entries = await asyncio.gather(
        *(servers[i % 2].record(make_event(i), [("CREATE (:GPU {key: $k})", {"k": f"g{i}"})]) for i in range(50))
    )
    assert sorted(e.seq for e in entries) == list(range(1, 51))
    assert sorted(e.operation for e in await stored_entries(store)) == sorted(f"op{i}" for i in range(50))
    assert await store.read("MATCH (g:GPU) RETURN count(g) AS c") == [{"c": 50}]
    result = await verify(store)
    assert result.intact, result.message
    assert (result.checked, result.head_seq) == (50, 50)


async def test_a_log_with_entries_but_no_head_refuses_to_append(store: GraphStore, audit_log, make_event) -> None:
    await audit_log.record(make_event(1))
    await store.write("MATCH (h:AuditHead) DELETE h")
    with pytest.raises(AuditLogCorrupted, match="no head"):
        await AuditLog(store).record(make_event(2))
    assert len(await stored_entries(store)) == 1
    assert await head(store) == []
