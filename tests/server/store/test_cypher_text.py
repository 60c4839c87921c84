"""Joining statements for the embedded store: parameter renaming and the top-level RETURN check."""

from __future__ import annotations

import pytest

from metalgraph.server.store.cypher_text import check_returns_nothing, join_statements, rename_params


def test_parameters_are_renamed_outside_literals_and_comments() -> None:
    query = (
        "MATCH (n {key: $key}) // $key in a comment\n"
        '/* $key\n $rows */ SET n.a = \'$key\', n.b = "it\\"s $key", n.`$key` = $key, n.c = $key2, n.d = $0'
    )
    renamed, params = rename_params(query, {"key": 1, "key2": 2, "0": 3}, "p7_")
    assert renamed == (
        "MATCH (n {key: $p7_key}) // $key in a comment\n"
        '/* $key\n $rows */ SET n.a = \'$key\', n.b = "it\\"s $key", n.`$key` = $p7_key, n.c = $p7_key2, n.d = $p7_0'
    )
    assert params == {"p7_key": 1, "p7_key2": 2, "p7_0": 3}


def test_a_backtick_quoted_parameter_is_renamed_when_it_is_a_plain_name() -> None:
    assert rename_params("RETURN $`rows`", {"rows": 1}, "p0_") == ("RETURN $p0_rows", {"p0_rows": 1})
    with pytest.raises(ValueError, match="cannot be renamed"):
        rename_params("RETURN $`two words`", {}, "p0_")


@pytest.mark.parametrize("query", ["RETURN 'open", "RETURN $", "MATCH (n) /* open", 'RETURN "a\\"'])
def test_malformed_text_is_refused(query: str) -> None:
    with pytest.raises(ValueError):
        rename_params(query, {}, "p0_")


@pytest.mark.parametrize(
    "query",
    [
        "CREATE (n) RETURN n",
        "MATCH (n)\nWITH n\nreturn n.key",
        "CREATE (a) UNION CREATE (b)",
        "CREATE (n) Return count(n) AS c",
    ],
)
def test_a_top_level_return_is_refused(query: str) -> None:
    with pytest.raises(ValueError, match="return nothing"):
        check_returns_nothing(query)


@pytest.mark.parametrize(
    "query",
    [
        "CALL { CREATE (n) RETURN n } WITH n SET n.x = 1",
        "MATCH (n) WHERE EXISTS { MATCH (n)--(m) RETURN m } SET n.x = 1",
        "MATCH (n) SET n.return = 'RETURN x', n:Return // RETURN",
        "MATCH (n) SET n.`RETURN` = 1, n.returned = true",
        "MATCH (returnee) SET returnee.x = 1",
    ],
)
def test_a_return_that_is_not_at_the_top_is_fine(query: str) -> None:
    check_returns_nothing(query)


def test_joined_statements_keep_their_parameters_apart() -> None:
    query, params = join_statements(
        [
            ("CREATE (n {key: $key});", {"key": "a"}),
            ("CREATE (n {key: $key}) // last", {"key": "b"}),
            ("MATCH (n) SET n.x = 1", {}),
        ]
    )
    assert query == (
        "CREATE (n {key: $p0_key})\n"
        "WITH count(*) AS _mg_step0\n"
        "CREATE (n {key: $p1_key}) // last\n"
        "WITH count(*) AS _mg_step1\n"
        "MATCH (n) SET n.x = 1"
    )
    assert params == {"p0_key": "a", "p1_key": "b"}


def test_prefixed_names_cannot_collide() -> None:
    _query, params = join_statements(
        [("CREATE ({a: $p1_x, b: $x})", {"p1_x": 1, "x": 2}), ("CREATE ({a: $x})", {"x": 3})]
    )
    assert params == {"p0_p1_x": 1, "p0_x": 2, "p1_x": 3}
