"""Secrets never reach an audit entry: by key, and by what a value looks like, at any depth."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum

import pytest

from metalgraph.server.audit import AuditEvent, redact, redact_text
from metalgraph.server.audit.entry import MAX_VARIABLES_JSON, build_entry, variables_json
from metalgraph.server.audit.redaction import REDACTED, is_secret_key, register_secret

API_TOKEN = "mg_abcdefghijklmnop_" + "A1b2-_" * 7 + "x"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "Token",
        "accessToken",
        "refresh_token",
        "secret",
        "clientSecret",
        "password",
        "newPassword",
        "PASSWORD",
        "passwd",
        "passphrase",
        "keyPassphrase",
        "credential",
        "credentials",
        "Authorization",
        "proxy-authorization",
        "apiKey",
        "api_key",
        "API-Key",
        "APIKey",
        "apikey",
        "privateKey",
        "private_key",
        "sshKeys",
        "secretKey",
        "keyMaterial",
        "auth",
        "bearerToken",
        "tokenSecret",
    ],
)
def test_secret_keys(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    [
        "key",
        "keys",
        "nodeKey",
        "sortKey",
        "keyspace",
        "monkey",
        "keyboard",
        "turkey",
        "name",
        "tokenId",
        "token_ids",
        "tokenExpiresAt",
        "secretName",
        "passwordPolicy",
        "description",
        "authMethod",
        "tokenizer_name",
        "",
    ],
)
def test_harmless_keys(name: str) -> None:
    assert not is_secret_key(name)


def test_nested_variables_are_redacted_by_key() -> None:
    variables = {
        "createToken": {"input": {"tenant": "acme", "role": "tenant-admin", "description": "ci"}},
        "login": {"credentials": {"user": "alice", "password": "hunter2"}},
        "nodes": [{"key": "n1", "bmc": {"address": "10.0.0.1", "password": "calvin"}}, {"key": "n2"}],
        "headers": {"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
        "rotateSecret": "s3cr3t",
        "revokeToken": {"id": "abc", "token": "mg_short"},
    }
    assert redact(variables) == {
        "createToken": {"input": {"tenant": "acme", "role": "tenant-admin", "description": "ci"}},
        "login": {"credentials": REDACTED},
        "nodes": [{"key": "n1", "bmc": {"address": "10.0.0.1", "password": REDACTED}}, {"key": "n2"}],
        "headers": {"Authorization": REDACTED},
        "rotateSecret": REDACTED,
        "revokeToken": {"id": "abc", "token": REDACTED},
    }


def test_token_looking_values_are_redacted_wherever_they_are() -> None:
    variables = {
        "description": f"rotated {API_TOKEN} today",
        "list": [JWT, "plain", {"deep": [f"x {JWT} y"]}],
        "note": "Authorization: Bearer abc.def-ghi, then more",
        API_TOKEN: "a token as a key",
    }
    assert redact(variables) == {
        "description": f"rotated {REDACTED} today",
        "list": [REDACTED, "plain", {"deep": [f"x {REDACTED} y"]}],
        "note": f"Authorization: Bearer {REDACTED}, then more",
        REDACTED: "a token as a key",
    }


@pytest.mark.parametrize(
    "text",
    ["mg_cluster", "img_0001", "my mg_ note", "eyJ alone", "eyJhbGciOiJIUzI1NiJ9 one segment", "beary good"],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_values_json_cannot_hold_become_text() -> None:
    class Colour(StrEnum):
        RED = "red"

    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert redact({"c": Colour.RED, "t": moment, "n": math.nan, "s": {2, 1}, "tu": (1, "a"), "o": object}) == {
        "c": "red",
        "t": "2025-01-02T03:04:05+00:00",
        "n": "nan",
        "s": [1, 2],
        "tu": [1, "a"],
        "o": "<class 'object'>",
    }


def test_an_entry_redacts_its_detail_and_bounds_it() -> None:
    event = AuditEvent("admin", "provider-admin", None, "createToken", {}, detail=f"issued {API_TOKEN}" + "." * 900)
    entry = build_entry(event, seq=1, prev_hash="0" * 64, at="2025-01-01T00:00:00.000+00:00")
    assert API_TOKEN not in entry.detail and entry.detail.startswith(f"issued {REDACTED}")
    assert len(entry.detail) == 500


def test_huge_variables_are_replaced_by_a_marker() -> None:
    text = variables_json({"importInventory": {"nodes": ["n" * 100] * 2000}, "dryRun": False})
    assert len(text) < MAX_VARIABLES_JSON
    assert text == '{"[truncated]":{"bytes":206046,"keys":["dryRun","importInventory"]}}'


@pytest.mark.parametrize(
    "text",
    [
        "credentials required (Authorization: Bearer <token>)",
        "a Bearer token is required",
        "send Bearer tokens only",
        "expected 'Bearer token', got 'Basic'",
    ],
)
def test_bearer_followed_by_a_plain_word_stays_readable(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize("credential", ["abc.def-ghi", "s3cr3t", "dGhpcyBpcyBhIHRva2Vu", "a" * 40])
def test_the_credential_after_bearer_is_redacted(credential: str) -> None:
    assert redact_text(f"got Bearer {credential} from x") == f"got Bearer {REDACTED} from x"


def test_a_configured_secret_is_redacted_by_its_exact_value_wherever_it_appears() -> None:
    admin = "correct horse battery staple"  # free-form: no pattern would recognise it
    register_secret(admin)
    assert redact({"expiresIn": admin, "note": f"x{admin}y", admin: 1}) == {
        "expiresIn": REDACTED,
        "note": f"x{REDACTED}y",
        REDACTED: 1,
    }
    event = AuditEvent("admin", "provider-admin", None, "createApiToken", {"expiresIn": admin}, detail=f"bad {admin}")
    entry = build_entry(event, seq=1, prev_hash="0" * 64, at="2025-01-01T00:00:00.000+00:00")
    assert admin not in entry.variables_json and admin not in entry.detail
