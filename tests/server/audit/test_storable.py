"""An audit write never fails on what a request carried: NUL characters, lone surrogates, text that
looks like an escape, huge strings and deep nesting all give an entry that both stores take."""

from __future__ import annotations

import json

import pytest

from metalgraph.server.audit import AuditLog, verify
from metalgraph.server.audit.storable import TOO_DEEP, storable_text
from metalgraph.server.store.base import GraphStore


def nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = {"a": [value]}
    return value


HOSTILE = [
    "a\x00b",
    "lone \udc80 surrogate",
    "\ud83d half of a pair",
    "looks like an escape: \\u0000 and \\x00",
    "x" * 2_000_000,
    "Bearer \x00" + "y" * 100,
]


@pytest.mark.parametrize("text", HOSTILE, ids=["nul", "low-surrogate", "high-surrogate", "escape-text", "huge", "mix"])
async def test_hostile_text_in_any_field_is_written_and_verifies(
    store: GraphStore, audit_log: AuditLog, make_event, text: str
) -> None:
    event = make_event(
        1,
        actor=f"anonymous@{text}",
        operation=text,
        variables={"name": text, text[:50]: [text], "deep": nested(3)},
        outcome="invalid",
        detail=f"INVALID_INPUT: bad name {text!s}",
    )
    entry = await audit_log.record(event)
    stored = (await store.read("MATCH (e:AuditEntry) RETURN e.detail AS d, e.variables AS v"))[0]
    assert stored["d"] == entry.detail and stored["v"] == entry.variables_json
    assert "\x00" not in stored["d"] and len(stored["d"]) <= 500
    assert (await verify(store)).intact


async def test_deeply_nested_variables_are_cut_at_a_depth(store: GraphStore, audit_log: AuditLog, make_event) -> None:
    entry = await audit_log.record(make_event(1, variables={"input": nested(5000)}))
    assert TOO_DEEP in entry.variables_json
    value, depth = json.loads(entry.variables_json)["input"], 1
    while value != TOO_DEEP:
        value, depth = value["a"] if isinstance(value, dict) else value[0], depth + 1
    assert depth == 32
    assert (await verify(store)).intact


def test_unstorable_characters_are_written_as_their_escapes() -> None:
    assert storable_text("a\x00b\udc80c\U0001f600") == "a\\x00b\\udc80c\U0001f600"
    assert storable_text("plain") == "plain"
