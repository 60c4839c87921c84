"""The store contract: what the domain layer relies on, checked on every adapter."""

from __future__ import annotations

import pytest

from metalgraph.server.store.base import (
    ConstraintViolation,
    GraphStore,
    InvalidValue,
    StoreQueryError,
    count_round_trips,
)


async def test_write_then_read_returns_plain_values(store: GraphStore) -> None:
    await store.write(
        "UNWIND $rows AS r CREATE (n:Node) SET n = r",
        {"rows": [{"key": "a", "memory_gb": 2048.0, "cpu_cores": 112, "tags": ["x", "y"], "ok": True}]},
    )
    rows = await store.read("MATCH (n:Node {key: $k}) RETURN n{.*} AS p, n.cpu_cores AS cores", {"k": "a"})
    assert rows == [
        {"p": {"key": "a", "memory_gb": 2048.0, "cpu_cores": 112, "tags": ["x", "y"], "ok": True}, "cores": 112}
    ]


async def test_keys_are_unique_per_label(store: GraphStore) -> None:
    await store.write("CREATE (:Node {key: 'a'}), (:Switch {key: 'a'})")
    with pytest.raises(ConstraintViolation):
        await store.write("CREATE (:Node {key: 'a'})")
    assert (await store.read("MATCH (n:Node) RETURN count(n) AS c"))[0]["c"] == 1


async def test_atomic_writes_apply_in_order(store: GraphStore) -> None:
    await store.write_atomically(
        [
            ("CREATE (:Node {key: 'n1'})", {}),
            ("CREATE (:GPU {key: 'g1'})", {}),
            ("MATCH (n:Node {key: 'n1'}), (g:GPU {key: 'g1'}) CREATE (n)-[:HAS_GPU]->(g)", {}),
        ]
    )
    rows = await store.read("MATCH (n:Node)-[:HAS_GPU]->(g:GPU) RETURN n.key AS n, g.key AS g")
    assert rows == [{"n": "n1", "g": "g1"}]


async def test_a_failed_atomic_write_rolls_back(store: GraphStore) -> None:
    await store.write("CREATE (:Node {key: 'taken'})")
    with pytest.raises(ConstraintViolation):
        await store.write_atomically([("CREATE (:GPU {key: 'g-new'})", {}), ("CREATE (:Node {key: 'taken'})", {})])
    left = (await store.read("MATCH (g:GPU) RETURN count(g) AS c"))[0]["c"]
    assert left == 0


async def test_a_bad_query_is_a_typed_error(store: GraphStore) -> None:
    with pytest.raises(StoreQueryError):
        await store.read("MATCH (n:Node RETURN n")


async def test_text_with_a_lone_surrogate_is_an_invalid_value_and_writes_nothing(store: GraphStore) -> None:
    text = "a\udc80b"  # what the JSON or GraphQL escape \udc80 decodes to
    with pytest.raises(InvalidValue):
        await store.read("MATCH (n:Node {key: $k}) RETURN n.key AS key", {"k": text})
    with pytest.raises(InvalidValue):
        await store.write_atomically([("CREATE (:Node {key: 'first'})", {}), ("CREATE (:Node {key: $k})", {"k": text})])
    assert (await store.read("MATCH (n:Node) RETURN count(n) AS c"))[0]["c"] == 0


async def test_round_trips_are_counted_per_block(store: GraphStore) -> None:
    with count_round_trips() as outer:
        await store.read("RETURN 1 AS one")
        with count_round_trips() as inner:
            await store.read("RETURN 1 AS one")
            await store.write_atomically([("CREATE (:Node {key: 'x'})", {}), ("CREATE (:Node {key: 'y'})", {})])
    assert inner.count == 2
    assert outer.count == 1


async def test_map_projection_of_a_relationship(store: GraphStore) -> None:
    await store.write("CREATE (:Port {key: 'a'})-[:CABLED {speed_gbps: 400.0}]->(:Port {key: 'b'})")
    rows = await store.read("MATCH (a:Port)-[r:CABLED]->(b:Port) RETURN a.key AS a, b.key AS b, r{.*} AS r")
    assert rows == [{"a": "a", "b": "b", "r": {"speed_gbps": 400.0}}]


async def test_clear_empties_the_graph(store: GraphStore) -> None:
    await store.write("UNWIND range(1, 50) AS i CREATE (:Node {key: toString(i)})")
    await store.clear()
    assert (await store.read("MATCH (n) RETURN count(n) AS c"))[0]["c"] == 0


async def test_ping_answers(store: GraphStore) -> None:
    await store.ping()
