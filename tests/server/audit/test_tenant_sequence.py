"""Each tenant's own sequence: what a tenant reads instead of positions and hashes of the whole chain;
race-free like the chain, and checked by `verify`. And the head's count of changes."""

from __future__ import annotations

import asyncio

from metalgraph.server.audit import AuditLog, Problem, page, verify
from metalgraph.server.audit.entry import AuditEntry, compute_hash, entry_key
from metalgraph.server.store.base import GraphStore


async def test_each_tenant_numbers_its_entries_and_providers_entries_have_no_tenant_seq(
    store: GraphStore, audit_log: AuditLog, make_event
) -> None:
    tenants = ["acme", "globex", None, "acme", "globex", "globex", None, "acme"]
    entries = [
        await audit_log.record(make_event(i, tenant=t, role="tenant-admin" if t else "provider-admin"))
        for i, t in enumerate(tenants)
    ]
    assert [e.seq for e in entries] == list(range(1, 9))
    assert [e.tenant_seq for e in entries] == [1, 1, None, 2, 2, 3, None, 3]
    mine, more = await page(store, tenant="globex", first=2, tenant_view=True)
    assert ([e.tenant_seq for e in mine], more) == ([3, 2], True)
    rest, more = await page(store, tenant="globex", first=10, after=mine[-1].tenant_key, tenant_view=True)
    assert ([e.tenant_seq for e in rest], more) == ([1], False)
    assert (await verify(store)).intact


async def test_two_servers_appending_for_two_tenants_give_each_tenant_one_sequence(
    store: GraphStore, make_event
) -> None:
    servers = [AuditLog(store), AuditLog(store)]
    entries = await asyncio.gather(
        *(servers[i % 2].record(make_event(i, tenant=("acme", "globex")[i % 3 == 0])) for i in range(60))
    )
    for tenant in ("acme", "globex"):
        seqs = sorted(e.tenant_seq for e in entries if e.tenant == tenant)  # type: ignore[type-var]
        assert seqs == list(range(1, len(seqs) + 1))
    result = await verify(store)
    assert result.intact, result.message


async def test_a_renumbered_tenant_entry_is_found_even_with_its_hash_recomputed(store: GraphStore, fill) -> None:
    entries = await fill(3)
    last = entries[-1]
    props = {**last.to_props(), "tenant_seq": 7}
    props["hash"] = compute_hash(AuditEntry.from_props(props).hashed_fields())
    await store.write("MATCH (e:AuditEntry {key: $k}) SET e = $p", {"k": entry_key(3), "p": props})
    await store.write("MATCH (h:AuditHead) SET h.hash = $h", {"h": props["hash"]})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem) == (3, Problem.TENANT_SEQUENCE)


async def test_a_tenant_entry_without_its_tenant_seq_is_found(store: GraphStore, fill) -> None:
    await fill(2)
    await store.write("MATCH (e:AuditEntry {key: $k}) REMOVE e.tenant_seq", {"k": entry_key(2)})
    assert (await verify(store)).problem is Problem.EDITED


async def test_a_tenant_head_that_does_not_name_its_last_entry_is_found(store: GraphStore, fill) -> None:
    await fill(3)
    await store.write("MATCH (t:AuditTenantHead {key: 'acme'}) SET t.seq = 2")
    result = await verify(store)
    assert result.problem is Problem.HEAD and "acme" in result.message
    await store.write("MATCH (t:AuditTenantHead) DELETE t")
    assert (await verify(store)).problem is Problem.HEAD


async def test_only_appends_that_carry_changes_move_the_change_count(
    store: GraphStore, audit_log: AuditLog, make_event
) -> None:
    async def changes() -> int:
        return int((await store.read("MATCH (h:AuditHead) RETURN h.changes AS c"))[0]["c"])

    await audit_log.record(make_event(1), [("CREATE (:GPU {key: 'g1'})", {})])
    assert await changes() == 1
    for i in range(3):
        await audit_log.record(make_event(i, outcome="limited", detail="RATE_LIMITED: too many requests"))
    assert await changes() == 1
    await audit_log.record(make_event(9), [("CREATE (:GPU {key: 'g2'})", {})])
    assert await changes() == 2


async def test_a_tenant_named_with_unstorable_characters_keeps_one_sequence(
    store: GraphStore, audit_log: AuditLog, make_event
) -> None:
    tenant = "acme\x00\udc80"  # what a request may carry; stored as its escapes
    entries = [await audit_log.record(make_event(i, tenant=tenant)) for i in range(1, 4)]
    assert [e.tenant_seq for e in entries] == [1, 2, 3]
    assert {e.tenant for e in entries} == {"acme\\x00\\udc80"}
    assert (await verify(store)).intact
