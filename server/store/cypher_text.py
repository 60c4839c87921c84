"""Reading Cypher statement text just enough to join write statements into one query.

FalkorDB runs one query atomically and undoes it when any part fails, so the embedded store
makes a short list of statements atomic by joining them:
`<s0> WITH count(*) AS _mg_step0 <s1> WITH count(*) AS _mg_step1 <s2>`. `count(*)` yields exactly one
row even when a statement matched nothing, so every later statement still runs once. Each
statement's `$name` parameters are renamed `$p<i>_name` so two statements can use the same name.

The scanner knows string literals (with backslash escapes), backtick-quoted names and comments,
so a `$` or a `RETURN` inside them is left alone; it does not parse Cypher beyond that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Statement = tuple[str, dict[str, Any]]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9][A-Za-z0-9_]*")
_PARAM = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|([0-9]+)|`((?:[^`]|``)*)`)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_REFUSED_AT_TOP = frozenset({"RETURN", "UNION"})
STEP_VARIABLE = "_mg_step"


@dataclass
class _Scan:
    params: list[tuple[int, int, str]] = field(default_factory=list)
    """(start, end, name) of every `$name` outside literals and comments."""
    top_level_words: set[str] = field(default_factory=set)
    """Upper-cased keywords and names outside every bracket (property names and labels excluded)."""


def _skip_quoted(text: str, start: int) -> int:
    """The index after the literal that opens at `start` (a string or a backtick-quoted name)."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and quote != "`":
            i += 2
            continue
        if c == quote:
            if quote == "`" and text.startswith("``", i):  # a doubled backtick is one backtick
                i += 2
                continue
            return i + 1
        i += 1
    raise ValueError(f"unterminated {quote} literal in statement: {text[:200]!r}")


def _scan(text: str) -> _Scan:
    scan = _Scan()
    depth = 0
    previous = ""  # the last significant character before the current token
    i = 0
    while i < len(text):
        c = text[i]
        if c in "'\"`":
            i = _skip_quoted(text, i)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end + 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError(f"unterminated comment in statement: {text[:200]!r}")
            i = end + 2
            continue
        elif c == "$":
            match = _PARAM.match(text, i)
            if match is None:
                raise ValueError(f"a '$' that is no parameter in statement: {text[:200]!r}")
            name = next(g for g in match.groups() if g is not None).replace("``", "`")
            scan.params.append((i, match.end(), name))
            i = match.end()
        elif c in "([{":
            depth += 1
            i += 1
        elif c in ")]}":
            depth -= 1
            i += 1
        elif (word := _WORD.match(text, i)) is not None:
            if depth == 0 and previous not in (".", ":"):
                scan.top_level_words.add(word.group().upper())
            i = word.end()
        elif (number := _NUMBER.match(text, i)) is not None:
            i = number.end()
        else:
            i += 1
        if not c.isspace():
            previous = c
    return scan


def check_returns_nothing(query: str) -> None:
    """Raise ValueError if `query` has a top-level RETURN (or UNION): atomic statements return nothing."""
    refused = _scan(query).top_level_words & _REFUSED_AT_TOP
    if refused:
        raise ValueError(
            f"a statement of an atomic write has a top-level {sorted(refused)[0]}; atomic statements return "
            f"nothing (run reads separately): {query[:200]!r}"
        )


def rename_params(query: str, params: dict[str, Any], prefix: str) -> Statement:
    """`query` and `params` with every parameter `$name` renamed `$<prefix>name`."""
    scan = _scan(query)
    pieces: list[str] = []
    last = 0
    for start, end, name in scan.params:
        if not _NAME.fullmatch(name):
            raise ValueError(f"parameter name {name!r} cannot be renamed; use a plain identifier")
        pieces.append(query[last:start])
        pieces.append(f"${prefix}{name}")
        last = end
    pieces.append(query[last:])
    for name in params:
        if not _NAME.fullmatch(name):
            raise ValueError(f"parameter name {name!r} cannot be renamed; use a plain identifier")
    return "".join(pieces), {f"{prefix}{name}": value for name, value in params.items()}


def join_statements(statements: Sequence[Statement]) -> Statement:
    """One query that runs `statements` in order, each exactly once, with parameters kept apart.

    Statements must return nothing (see `check_returns_nothing`); trailing semicolons are dropped.
    """
    parts: list[str] = []
    joined_params: dict[str, Any] = {}
    for index, (query, params) in enumerate(statements):
        check_returns_nothing(query)
        renamed, renamed_params = rename_params(query.strip().rstrip(";").strip(), params, f"p{index}_")
        if parts:
            parts.append(f"WITH count(*) AS {STEP_VARIABLE}{index - 1}")
        parts.append(renamed)
        joined_params.update(renamed_params)
    return "\n".join(parts), joined_params  # newlines: a statement may end in a `//` comment
