"""Entries and their hash: canonical, covering every field, stable through the store's properties."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from metalgraph.server.audit import AuditEvent, Outcome
from metalgraph.server.audit.entry import GENESIS_HASH, AuditEntry, build_entry, entry_key

AT = "2025-03-01T12:00:00.000+00:00"


def entry(**event_fields) -> AuditEntry:
    fields = {"actor": "token:abc", "role": "tenant-admin", "tenant": "acme", "operation": "createCluster"}
    event = AuditEvent(**{**fields, **event_fields})
    return build_entry(event, seq=7, prev_hash=GENESIS_HASH, at=AT)


def test_the_hash_is_sha256_of_the_canonical_json_of_the_other_fields() -> None:
    e = entry(variables={"b": 1, "a": [1.5, "ü"]}, outcome=Outcome.DENIED, detail="FORBIDDEN: no")
    document = {
        "seq": 7,
        "at": AT,
        "actor": "token:abc",
        "role": "tenant-admin",
        "tenant": "acme",
        "operation": "createCluster",
        "variables": '{"a":[1.5,"ü"],"b":1}',
        "outcome": "denied",
        "detail": "FORBIDDEN: no",
        "prev_hash": GENESIS_HASH,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert e.hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert e.variables_json == '{"a":[1.5,"ü"],"b":1}'


def test_the_variables_text_does_not_depend_on_key_order() -> None:
    assert (
        entry(variables={"a": 1, "b": {"y": 2, "x": 3}}).hash == entry(variables={"b": {"x": 3, "y": 2}, "a": 1}).hash
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq", 8),
        ("at", "2025-03-01T12:00:00.001+00:00"),
        ("actor", "token:abd"),
        ("role", "tenant-member"),
        ("tenant", None),
        ("operation", "deleteCluster"),
        ("variables_json", '{"x":1}'),
        ("outcome", "error"),
        ("detail", "x"),
        ("prev_hash", "1" * 64),
    ],
)
def test_every_field_is_covered_by_the_hash(field: str, value: object) -> None:
    original = entry()
    assert dataclasses.replace(original, **{field: value}).computed_hash() != original.hash


def test_properties_round_trip_and_a_null_tenant_is_left_out() -> None:
    provider = entry(tenant=None)
    props = provider.to_props()
    assert props["key"] == entry_key(7) == "000000000007" and "tenant" not in props
    assert AuditEntry.from_props(props) == provider


@pytest.mark.parametrize(("field", "value"), [("seq", "7"), ("seq", True), ("hash", None), ("detail", 3)])
def test_ill_typed_properties_are_refused(field: str, value: object) -> None:
    props = {**entry().to_props(), field: value}
    with pytest.raises(ValueError, match=field):
        AuditEntry.from_props(props)


def test_a_tenant_is_shown_its_own_sequence_and_never_the_global_seq() -> None:
    mine = dataclasses.replace(entry(), tenant_seq=3)
    assert mine.seq_shown(tenant_view=True) == 3 and mine.seq_shown(tenant_view=False) == 7
    unnumbered = entry()  # written before tenants had a sequence
    assert unnumbered.seq_shown(tenant_view=False) == 7
    with pytest.raises(ValueError):
        unnumbered.seq_shown(tenant_view=True)
