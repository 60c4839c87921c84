"""Which keys of a JWKS may verify which algorithms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from metalgraph.server.auth.jwks import JwksCache, JwksUnavailable, parse_jwks

ALLOWED = frozenset({"RS256", "PS256", "ES256"})


@pytest.fixture(scope="module")
def rsa_jwk() -> dict[str, Any]:
    return RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048).public_key(), as_dict=True)


def _ec_jwk(curve: ec.EllipticCurve) -> dict[str, Any]:
    return ECAlgorithm.to_jwk(ec.generate_private_key(curve).public_key(), as_dict=True)


def test_rsa_key_without_alg_serves_every_allowed_rsa_algorithm(rsa_jwk: dict[str, Any]) -> None:
    table = parse_jwks({"keys": [{**rsa_jwk, "kid": "a"}]}, ALLOWED)
    assert set(table["a"]) == {"RS256", "PS256"}


def test_alg_on_the_key_narrows_it(rsa_jwk: dict[str, Any]) -> None:
    table = parse_jwks({"keys": [{**rsa_jwk, "kid": "a", "alg": "RS256", "use": "sig"}]}, ALLOWED)
    assert set(table["a"]) == {"RS256"}


def test_ec_keys_go_by_curve() -> None:
    keys = [{**_ec_jwk(ec.SECP256R1()), "kid": "p256"}, {**_ec_jwk(ec.SECP384R1()), "kid": "p384", "alg": "ES256"}]
    table = parse_jwks({"keys": keys}, ALLOWED | {"ES384"})
    assert set(table["p256"]) == {"ES256"}
    assert table["p384"] == {}, "a P-384 key claiming ES256 verifies nothing"


def test_keys_that_must_never_verify_are_listed_without_algorithms(rsa_jwk: dict[str, Any]) -> None:
    private = RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048), as_dict=True)
    keys = [
        {**rsa_jwk, "kid": "enc", "use": "enc"},
        {**private, "kid": "private"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {**rsa_jwk, "kid": "hs", "alg": "HS256"},
        {"kty": "RSA", "kid": "broken", "n": "AQAB"},
    ]
    table = parse_jwks({"keys": keys}, ALLOWED | {"HS256"})
    assert table == {"enc": {}, "private": {}, "hmac": {}, "hs": {}, "broken": {}}


def test_keys_without_kid_are_skipped(rsa_jwk: dict[str, Any]) -> None:
    assert parse_jwks({"keys": [rsa_jwk, "not a key"]}, ALLOWED) == {}


@pytest.mark.parametrize("data", [[], {"keys": "none"}, {"kid": "a"}, "jwks"])
def test_not_a_jwks(data: Any) -> None:
    with pytest.raises(ValueError, match="not a JWKS"):
        parse_jwks(data, ALLOWED)


async def test_an_unreadable_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "certs.json").write_text("<html>login</html>")
    for path in (tmp_path / "certs.json", tmp_path / "missing.json"):
        cache = JwksCache(file=path, algorithms=ALLOWED)
        with pytest.raises(JwksUnavailable, match="signing keys unavailable"):
            await cache.keys_for("a")


async def test_forced_refresh_reads_the_file_again(tmp_path: Path, rsa_jwk: dict[str, Any]) -> None:
    path = tmp_path / "certs.json"
    path.write_text('{"keys": []}')
    cache = JwksCache(file=path, algorithms=ALLOWED, refetch_s=3600)
    assert await cache.keys_for("a") is None
    path.write_text(json.dumps({"keys": [{**rsa_jwk, "kid": "a"}]}))
    assert await cache.keys_for("a") is None, "within the refetch limit"
    await cache.refresh()
    assert set(await cache.keys_for("a") or {}) == {"RS256", "PS256"}
    assert cache.fetches == 2


def test_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        JwksCache(algorithms=ALLOWED)
