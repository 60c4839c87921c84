"""Verifying the chain: an intact log passes; each kind of tampering is found and named."""

from __future__ import annotations

from metalgraph.server.audit import Problem, verify
from metalgraph.server.audit.entry import AuditEntry, compute_hash, entry_key
from metalgraph.server.store.base import GraphStore


async def test_an_empty_log_is_intact(store: GraphStore) -> None:
    result = await verify(store)
    assert result.intact and result.checked == 0 and result.head_seq is None


async def test_an_intact_log_verifies_across_pages(store: GraphStore, fill) -> None:
    entries = await fill(10)
    for page_size in (3, 5, 10, 1000):
        result = await verify(store, page_size=page_size)
        assert result.intact, result.message
        assert (result.checked, result.head_seq, result.head_hash) == (10, 10, entries[-1].hash)
        assert result.first_bad_seq is None


async def test_an_edited_field_is_named(store: GraphStore, fill) -> None:
    await fill(6)
    await store.write("MATCH (e:AuditEntry {key: $k}) SET e.outcome = 'denied'", {"k": entry_key(4)})
    result = await verify(store, page_size=2)
    assert (result.intact, result.first_bad_seq, result.problem, result.checked) == (False, 4, Problem.EDITED, 3)
    assert "entry 4" in result.message


async def test_edited_variables_are_found(store: GraphStore, fill) -> None:
    await fill(3)
    await store.write("MATCH (e:AuditEntry {key: $k}) SET e.variables = '{}'", {"k": entry_key(1)})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem) == (1, Problem.EDITED)


async def test_a_removed_field_is_found(store: GraphStore, fill) -> None:
    await fill(3)
    await store.write("MATCH (e:AuditEntry {key: $k}) REMOVE e.actor", {"k": entry_key(2)})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem) == (2, Problem.EDITED)
    assert "unreadable" in result.message


async def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(store: GraphStore, fill) -> None:
    entries = await fill(5)
    props = {**entries[2].to_props(), "actor": "someone-else"}
    props["hash"] = compute_hash(AuditEntry.from_props(props).hashed_fields())
    await store.write("MATCH (e:AuditEntry {key: $k}) SET e = $p", {"k": entry_key(3), "p": props})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem) == (4, Problem.REORDERED)


async def test_a_deleted_entry_in_the_middle_is_named(store: GraphStore, fill) -> None:
    await fill(7)
    await store.write("MATCH (e:AuditEntry {key: $k}) DELETE e", {"k": entry_key(5)})
    result = await verify(store, page_size=2)
    assert (result.first_bad_seq, result.problem, result.checked) == (5, Problem.MISSING, 4)
    assert "entry 5 missing" in result.message


async def test_a_deleted_first_entry_is_named(store: GraphStore, fill) -> None:
    await fill(3)
    await store.write("MATCH (e:AuditEntry {key: $k}) DELETE e", {"k": entry_key(1)})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem, result.checked) == (1, Problem.MISSING, 0)


async def test_a_deleted_last_entry_is_found_through_the_head(store: GraphStore, fill) -> None:
    await fill(5)
    await store.write("MATCH (e:AuditEntry {key: $k}) DELETE e", {"k": entry_key(5)})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem, result.checked) == (5, Problem.MISSING, 4)
    assert "head is at 5" in result.message


async def test_a_deleted_last_entry_with_the_head_moved_back_is_found(store: GraphStore, fill) -> None:
    await fill(5)
    await store.write("MATCH (e:AuditEntry {key: $k}) DELETE e", {"k": entry_key(5)})
    await store.write("MATCH (h:AuditHead) SET h.seq = 4")
    result = await verify(store)
    assert (result.first_bad_seq, result.problem) == (4, Problem.HEAD)


async def test_swapped_entries_are_found(store: GraphStore, fill) -> None:
    await fill(6)
    swap = "MATCH (e:AuditEntry {key: $from}) SET e.key = $to, e.seq = $seq"
    await store.write(swap, {"from": entry_key(3), "to": "swapping", "seq": 4})
    await store.write(swap, {"from": entry_key(4), "to": entry_key(3), "seq": 3})
    await store.write(swap, {"from": "swapping", "to": entry_key(4), "seq": 4})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem, result.checked) == (3, Problem.REORDERED, 2)


async def test_an_entry_under_another_key_is_found(store: GraphStore, fill) -> None:
    await fill(4)
    move = "MATCH (e:AuditEntry {key: $k}) SET e.key = $to"
    await store.write(move, {"k": entry_key(2), "to": entry_key(2) + "x"})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem) == (2, Problem.REORDERED)
    await store.write(move, {"k": entry_key(2) + "x", "to": entry_key(9)})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem) == (2, Problem.REORDERED)


async def test_an_entry_whose_seq_is_not_a_number_is_found(store: GraphStore, fill) -> None:
    await fill(3)
    await store.write("MATCH (e:AuditEntry {key: $k}) SET e.seq = '2'", {"k": entry_key(2)})
    result = await verify(store)
    assert (result.first_bad_seq, result.problem) == (2, Problem.MISSING)


async def test_a_doubled_entry_is_found_at_a_page_boundary(store: GraphStore, fill) -> None:
    entries = await fill(4)
    await store.write("CREATE (e:AuditEntry) SET e = $p", {"p": {**entries[1].to_props(), "key": "copy"}})
    for page_size in (2, 3, 10):
        result = await verify(store, page_size=page_size)
        assert result.problem is Problem.DUPLICATE and result.checked in (2, 4), (page_size, result)


async def test_a_missing_head_is_found(store: GraphStore, fill) -> None:
    await fill(2)
    await store.write("MATCH (h:AuditHead) DELETE h")
    result = await verify(store)
    assert (result.intact, result.first_bad_seq, result.problem) == (False, None, Problem.HEAD)


async def test_a_stray_entry_outside_the_chain_is_found(store: GraphStore, fill) -> None:
    await fill(2)
    await store.write("CREATE (:AuditEntry {key: 'stray'})")
    result = await verify(store)
    assert (result.problem, result.checked) == (Problem.DUPLICATE, 2)
    await store.write("CREATE (:AuditEntry {seq: 7})")
    result = await verify(store)
    assert (result.first_bad_seq, result.problem, result.checked) == (3, Problem.EDITED, 2)
