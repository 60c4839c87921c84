"""`write_atomically` on every store: all statements or none, each runs once, parameters kept apart."""

from __future__ import annotations

import pytest

from metalgraph.server.store.base import ConstraintViolation, GraphStore, StoreQueryError
from metalgraph.server.store.falkordb_store import ATOMIC_MAX_STATEMENTS, BULK_ROWS


async def count(store: GraphStore, label: str) -> int:
    return (await store.read(f"MATCH (n:{label}) RETURN count(n) AS c"))[0]["c"]


async def test_a_failing_last_statement_leaves_nothing_of_the_earlier_ones(store: GraphStore) -> None:
    await store.write("CREATE (:Node {key: 'n0', memory_gb: 1})")
    with pytest.raises(StoreQueryError, match=r"(?i)division by zero|/ by zero"):
        await store.write_atomically(
            [
                ("CREATE (:GPU {key: 'g1'})", {}),
                ("MATCH (n:Node {key: 'n0'}) SET n.memory_gb = 2", {}),
                ("UNWIND $rows AS r CREATE (:NIC {key: r})", {"rows": ["a", "b"]}),
                ("MATCH (n:Node {key: 'n0'}) SET n.cpu_cores = 1 / $zero", {"zero": 0}),
            ]
        )
    assert await count(store, "GPU") == 0
    assert await count(store, "NIC") == 0
    assert await store.read("MATCH (n:Node) RETURN n{.*} AS n") == [{"n": {"key": "n0", "memory_gb": 1}}]


async def test_a_constraint_violation_rolls_back_every_statement(store: GraphStore) -> None:
    await store.write("CREATE (:Node {key: 'taken'})")
    with pytest.raises(ConstraintViolation):
        await store.write_atomically([("CREATE (:GPU {key: 'g-new'})", {}), ("CREATE (:Node {key: 'taken'})", {})])
    assert await count(store, "GPU") == 0


async def test_a_statement_that_matches_nothing_does_not_stop_the_later_ones(store: GraphStore) -> None:
    done: list[int] = []
    await store.write_atomically(
        [
            ("MATCH (n:Node {key: 'absent'}) SET n.health = 'ok'", {}),
            ("UNWIND $rows AS r CREATE (:GPU {key: r})", {"rows": []}),
            ("OPTIONAL MATCH (n:Node {key: 'absent'}) DETACH DELETE n", {}),
            ("CREATE (:Node {key: 'after'})", {}),
        ],
        done.append,
    )
    assert [r["k"] for r in await store.read("MATCH (n:Node) RETURN n.key AS k")] == ["after"]
    assert done == [0, 1, 2, 3]


async def test_each_statement_runs_once_however_many_rows_the_one_before_had(store: GraphStore) -> None:
    await store.write_atomically(
        [
            ("UNWIND range(1, 5) AS i CREATE (:GPU {key: toString(i)})", {}),
            ("CREATE (:Node {key: 'once'})", {}),
            ("MATCH (g:GPU) SET g.index = toInteger(g.key)", {}),
            ("MATCH (n:Node {key: 'once'}) SET n.gpus = $n", {"n": 5}),
        ]
    )
    assert await count(store, "Node") == 1
    assert await store.read("MATCH (g:GPU) RETURN sum(g.index) AS s") == [{"s": 15}]


async def test_parameter_names_shared_between_statements_do_not_collide(store: GraphStore) -> None:
    await store.write_atomically(
        [
            ("CREATE (:Node {key: $key, model: $model})", {"key": "n1", "model": "a"}),
            ("CREATE (:Node {key: $key, model: $model})", {"key": "n2", "model": "b"}),
            ("UNWIND $rows AS r MATCH (n:Node {key: r.key}) SET n.vendor = r.v", {"rows": [{"key": "n1", "v": "x"}]}),
            ("UNWIND $rows AS r MATCH (n:Node {key: r.key}) SET n.vendor = r.v", {"rows": [{"key": "n2", "v": "y"}]}),
        ]
    )
    rows = await store.read("MATCH (n:Node) RETURN n.key AS k, n.model AS m, n.vendor AS v ORDER BY k")
    assert rows == [{"k": "n1", "m": "a", "v": "x"}, {"k": "n2", "m": "b", "v": "y"}]


async def test_dollars_inside_strings_and_comments_are_not_parameters(store: GraphStore) -> None:
    await store.write_atomically(
        [
            ("CREATE (:Node {key: $key, vendor: '$key it\\'s', model: \"$model\"}) // $nothing here", {"key": "n1"}),
            ("/* $key */ MATCH (n:Node {key: $key}) SET n.`$odd name` = $key", {"key": "n1"}),
        ]
    )
    rows = await store.read("MATCH (n:Node) RETURN n.key AS k, n.vendor AS v, n.model AS m, n.`$odd name` AS o")
    assert rows == [{"k": "n1", "v": "$key it's", "m": "$model", "o": "n1"}]


async def test_a_return_inside_a_subquery_is_fine(store: GraphStore) -> None:
    await store.write_atomically(
        [
            ("CALL { CREATE (:GPU {key: 'g1'}) RETURN 1 AS one } WITH one CREATE (:GPU {key: 'g2'})", {}),
            ("MATCH (g:GPU) SET g.return = g.key", {}),
        ]
    )
    assert [r["r"] for r in await store.read("MATCH (g:GPU) RETURN g.return AS r ORDER BY r")] == ["g1", "g2"]


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE (n:Node {key: 'x'}) RETURN n.key AS key",
        "MATCH (n:Node) WITH n return n",
        "CREATE (:Node {key: 'x'}) UNION CREATE (:Node {key: 'y'})",
    ],
)
async def test_a_statement_with_a_top_level_return_is_refused_before_anything_runs(
    store: GraphStore, statement: str
) -> None:
    with pytest.raises(ValueError, match="return nothing"):
        await store.write_atomically([("CREATE (:GPU {key: 'g'})", {}), (statement, {})])
    assert await count(store, "GPU") == 0


async def test_the_largest_joined_write_is_still_atomic(store: GraphStore) -> None:
    statements = [("CREATE (:GPU {key: $k})", {"k": f"g{i}"}) for i in range(ATOMIC_MAX_STATEMENTS - 2)]
    statements.append(("UNWIND $rows AS r CREATE (:NIC {key: r})", {"rows": [str(i) for i in range(BULK_ROWS - 1)]}))
    statements.append(("CREATE (:GPU {key: 'g0'})", {}))  # breaks the unique key
    with pytest.raises(ConstraintViolation):
        await store.write_atomically(statements)
    assert await count(store, "GPU") == 0
    assert await count(store, "NIC") == 0


async def test_a_bulk_write_applies_every_statement_in_order(store: GraphStore) -> None:
    statements = [("CREATE (:GPU {key: $k, index: $i})", {"k": f"g{i}", "i": i}) for i in range(ATOMIC_MAX_STATEMENTS)]
    statements.append(("MATCH (g:GPU) SET g.seen = true", {}))
    done: list[int] = []
    await store.write_atomically(statements, done.append)
    assert done == list(range(len(statements)))
    assert await store.read("MATCH (g:GPU) WHERE g.seen RETURN count(g) AS c") == [{"c": ATOMIC_MAX_STATEMENTS}]
