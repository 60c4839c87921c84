"""OIDC bearer JWTs as the MOC's Keycloak issues them: a stand-in realm serves its JWKS over real HTTP.

Tokens carry Keycloak's access-token claim set (realm_access, resource_access, groups, azp,
typ: Bearer). The verifier's JWKS cache runs on a fake clock, so key rotation and cache expiry are
stepped through without sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from metalgraph.server.auth.errors import AuthenticationError
from metalgraph.server.auth.jwks import JwksCache
from metalgraph.server.auth.oidc import InvalidToken, JwksUnavailable, OidcConfig, OidcVerifier, looks_like_jwt
from metalgraph.server.auth.principal import AuthMethod, Principal, Role

AUDIENCE = "metalgraph"
SUBJECT = "5f0c8e0a-3b4d-4c55-9d6e-2a1b7c9e4f10"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_key: Any

    @property
    def jwk(self) -> dict[str, Any]:
        """The public JWK as Keycloak publishes it."""
        to_jwk = RSAAlgorithm.to_jwk if self.alg.startswith(("RS", "PS")) else ECAlgorithm.to_jwk
        return {"kid": self.kid, "use": "sig", "alg": self.alg, **to_jwk(self.private_key.public_key(), as_dict=True)}


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return SigningKey("rsa-2024", "RS256", _rsa())


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return SigningKey("ec-2024", "ES256", ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="session")
def rotated_key() -> SigningKey:
    return SigningKey("rsa-2025", "RS256", _rsa())


@pytest.fixture(scope="session")
def stranger_key() -> SigningKey:
    """A key the realm never publishes."""
    return SigningKey("rsa-attacker", "RS256", _rsa())


@pytest.fixture(scope="session")
def encryption_jwk() -> dict[str, Any]:
    """Keycloak also publishes an RSA-OAEP encryption key; it must never verify a signature."""
    return {"kid": "rsa-enc", "use": "enc", "alg": "RSA-OAEP", **RSAAlgorithm.to_jwk(_rsa().public_key(), as_dict=True)}


@dataclass
class Realm:
    """A Keycloak realm stand-in: the keys it publishes, its JWKS endpoint, and token issuance."""

    base_url: str
    published: list[SigningKey]
    extra_jwks: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0
    failing: bool = False

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/moc"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk for key in self.published] + self.extra_jwks}

    def claims(self, *, roles: Sequence[str] = (), groups: Sequence[str] = (), **overrides: Any) -> dict[str, Any]:
        """A Keycloak access token's claims for `ada`, with `overrides` (None removes a claim)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "exp": now + 300,
            "iat": now,
            "auth_time": now - 5,
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": [AUDIENCE, "account"],
            "sub": SUBJECT,
            "typ": "Bearer",
            "azp": "metalgraph-cli",
            "sid": str(uuid.uuid4()),
            "acr": "1",
            "allowed-origins": ["http://127.0.0.1:8080"],
            "realm_access": {"roles": ["offline_access", "uma_authorization", "default-roles-moc", *roles]},
            "resource_access": {"account": {"roles": ["manage-account", "manage-account-links", "view-profile"]}},
            "scope": "openid profile email",
            "email_verified": True,
            "name": "Ada Lovelace",
            "groups": ["/staff", *groups],
            "preferred_username": "ada",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "ada@example.org",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, key: SigningKey, claims: dict[str, Any] | None = None, **headers: Any) -> str:
        """`claims` (default: a provider admin's) signed with `key`."""
        claims = claims if claims is not None else self.claims(roles=["metalgraph-provider-admin"])
        return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, **headers})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token assembled by hand: HS256 with `secret`, or unsigned when `secret` is None."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    return signing_input + "." + _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


@pytest.fixture
async def realm(rsa_key: SigningKey, ec_key: SigningKey, encryption_jwk: dict[str, Any]) -> AsyncIterator[Realm]:
    state = Realm("", [rsa_key, ec_key], [encryption_jwk])

    async def certs(_request: web.Request) -> web.Response:
        state.fetches += 1
        if state.failing:
            return web.Response(status=503, text="Keycloak is restarting")
        return web.json_response(state.jwks)

    app = web.Application()
    app.router.add_get("/realms/moc/protocol/openid-connect/certs", certs)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.base_url = f"http://{host}:{port}"
    yield state
    await runner.cleanup()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_verifier(realm: Realm, clock: FakeClock) -> Callable[..., OidcVerifier]:
    def make(**overrides: Any) -> OidcVerifier:
        config = OidcConfig(**{"issuer": realm.issuer, "audience": AUDIENCE, "jwks_url": realm.jwks_url, **overrides})
        return OidcVerifier(config, jwks=JwksCache.from_config(config, clock=clock))

    return make


@pytest.fixture
def verifier(make_verifier: Callable[..., OidcVerifier]) -> OidcVerifier:
    return make_verifier()


async def refusal(verifier: OidcVerifier, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return caught.value


# --- accepted -------------------------------------------------------------------------------


async def test_rs256_provider_admin_from_realm_roles(realm: Realm, verifier: OidcVerifier, rsa_key: SigningKey) -> None:
    token = realm.token(rsa_key, realm.claims(roles=["metalgraph-provider-admin"], tenant="acme"))
    identity = await verifier.identify(token)
    assert identity.principal == Principal(SUBJECT, Role.PROVIDER_ADMIN, None, AuthMethod.OIDC)
    assert identity.display_name == "ada"
    assert identity.expires_at == jwt.decode(token, options={"verify_signature": False})["exp"]


async def test_es256_tenant_member_from_tenant_claim(realm: Realm, verifier: OidcVerifier, ec_key: SigningKey) -> None:
    token = realm.token(ec_key, realm.claims(roles=["metalgraph-tenant-member"], tenant="acme"))
    assert await verifier.verify(token) == Principal(SUBJECT, Role.TENANT_MEMBER, "acme", AuthMethod.OIDC)


@pytest.mark.parametrize("group", ["/tenants/acme", "/tenants/acme/ml-team"])
async def test_tenant_from_keycloak_groups(
    realm: Realm, verifier: OidcVerifier, rsa_key: SigningKey, group: str
) -> None:
    token = realm.token(rsa_key, realm.claims(roles=["metalgraph-tenant-member"], groups=["/other/x", group]))
    assert await verifier.verify(token) == Principal(SUBJECT, Role.TENANT_MEMBER, "acme", AuthMethod.OIDC)


async def test_tenant_claim_takes_precedence_over_groups(
    realm: Realm, verifier: OidcVerifier, rsa_key: SigningKey
) -> None:
    claims = realm.claims(roles=["metalgraph-tenant-admin"], tenant="acme", groups=["/tenants/globex"])
    assert (await verifier.verify(realm.token(rsa_key, claims))).tenant == "acme"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["metalgraph-tenant-member", "metalgraph-tenant-admin"], Role.TENANT_ADMIN),
        (["metalgraph-tenant-admin", "metalgraph-provider-viewer"], Role.PROVIDER_VIEWER),
        (["metalgraph-provider-viewer", "metalgraph-provider-admin", "metalgraph-tenant-member"], Role.PROVIDER_ADMIN),
    ],
)
async def test_the_most_privileged_role_wins(
    realm: Realm, verifier: OidcVerifier, rsa_key: SigningKey, roles: list[str], expected: Role
) -> None:
    principal = await verifier.verify(realm.token(rsa_key, realm.claims(roles=roles, tenant="acme")))
    assert principal.role is expected
    assert principal.tenant == (None if expected.is_provider else "acme")


async def test_client_roles_count_only_with_client_id(
    realm: Realm, make_verifier: Callable[..., OidcVerifier], rsa_key: SigningKey
) -> None:
    access = {"metalgraph": {"roles": ["tenant-admin"]}, "account": {"roles": ["view-profile"]}}
    token = realm.token(rsa_key, realm.claims(resource_access=access, groups=["/tenants/acme"]))
    with_client = make_verifier(client_id="metalgraph", role_values={"tenant-admin": "tenant-admin"})
    assert await with_client.verify(token) == Principal(SUBJECT, Role.TENANT_ADMIN, "acme", AuthMethod.OIDC)
    without = make_verifier(role_values={"tenant-admin": "tenant-admin"})
    assert (await refusal(without, token)).reason == "no metalgraph role in token"


async def test_azp_stands_in_for_audience_only_when_configured(
    realm: Realm, make_verifier: Callable[..., OidcVerifier], rsa_key: SigningKey
) -> None:
    claims = realm.claims(roles=["metalgraph-provider-viewer"], aud="account", azp=AUDIENCE)
    token = realm.token(rsa_key, claims)
    assert (await refusal(make_verifier(), token)).reason == "wrong audience"
    assert (await make_verifier(accept_azp=True).verify(token)).role is Role.PROVIDER_VIEWER


async def test_audience_as_a_single_string_and_a_list(
    realm: Realm, make_verifier: Callable[..., OidcVerifier], rsa_key: SigningKey
) -> None:
    token = realm.token(rsa_key, realm.claims(roles=["metalgraph-provider-admin"], aud=AUDIENCE))
    assert (await make_verifier(audience=["other", AUDIENCE]).verify(token)).role is Role.PROVIDER_ADMIN


async def test_leeway_tolerates_small_clock_skew(realm: Realm, verifier: OidcVerifier, rsa_key: SigningKey) -> None:
    now = int(time.time())
    claims = realm.claims(roles=["metalgraph-provider-admin"], exp=now - 5, iat=now + 5, nbf=now + 5)
    assert (await verifier.verify(realm.token(rsa_key, claims))).role is Role.PROVIDER_ADMIN


async def test_jwks_file(tmp_path: Path, rsa_key: SigningKey, encryption_jwk: dict[str, Any]) -> None:
    realm = Realm("https://keycloak.moc.example", [rsa_key], [encryption_jwk])
    jwks_file = tmp_path / "moc-certs.json"
    jwks_file.write_text(json.dumps(realm.jwks))
    verifier = OidcVerifier(OidcConfig(issuer=realm.issuer, audience=AUDIENCE, jwks_file=jwks_file))
    assert (await verifier.verify(realm.token(rsa_key))).role is Role.PROVIDER_ADMIN
    assert (await refusal(verifier, realm.token(rsa_key, kid="rsa-enc"))).reason == "algorithm not allowed"


# --- refused --------------------------------------------------------------------------------


def refused_tokens(realm: Realm, keys: dict[str, SigningKey]) -> list[tuple[str, str, str]]:
    """(case, token, expected reason) for every way a token is refused; all read keys the realm publishes."""
    rsa_key, ec_key, stranger = keys["rsa"], keys["ec"], keys["stranger"]
    alg, sig, admin_roles = "algorithm not allowed", "signature invalid", ["metalgraph-provider-admin"]
    now = int(time.time())
    admin = realm.claims(roles=admin_roles)
    good = realm.token(rsa_key, admin)
    header, payload, signature = good.split(".")
    tampered_claims = {**admin, "sub": "someone-else"}
    pem = rsa_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return [
        ("expired", realm.token(rsa_key, {**admin, "exp": now - 3600, "iat": now - 3900}), "token expired"),
        ("not yet valid (nbf)", realm.token(rsa_key, {**admin, "nbf": now + 3600}), "token not yet valid"),
        ("issued in the future", realm.token(rsa_key, {**admin, "iat": now + 3600}), "token not yet valid"),
        ("wrong audience", realm.token(rsa_key, {**admin, "aud": ["account", "grafana"]}), "wrong audience"),
        ("no audience", realm.token(rsa_key, realm.claims(roles=admin_roles, aud=None)), "wrong audience"),
        ("wrong issuer", realm.token(rsa_key, {**admin, "iss": realm.issuer + "-staging"}), "wrong issuer"),
        ("other realm", realm.token(rsa_key, {**admin, "iss": f"{realm.base_url}/realms/master"}), "wrong issuer"),
        ("no exp", realm.token(rsa_key, realm.claims(roles=admin_roles, exp=None)), "missing claim exp"),
        ("ID token", realm.token(rsa_key, {**admin, "typ": "ID"}), "wrong token type"),
        ("alg none", forged({"alg": "none", "typ": "JWT", "kid": rsa_key.kid}, admin, None), alg),
        ("alg None", forged({"alg": "None", "typ": "JWT", "kid": rsa_key.kid}, admin, None), alg),
        ("no alg", forged({"typ": "JWT", "kid": rsa_key.kid}, admin, None), alg),
        ("HS256 with the public key", forged({"alg": "HS256", "kid": rsa_key.kid}, admin, pem), alg),
        ("RS256 header on the EC key", forged({"alg": "RS256", "kid": ec_key.kid}, admin, b"x"), alg),
        ("signed by the encryption key id", realm.token(rsa_key, admin, kid="rsa-enc"), alg),
        ("tampered payload", f"{header}.{_b64(json.dumps(tampered_claims).encode())}.{signature}", sig),
        ("signature of another token", f"{header}.{payload}.{realm.token(rsa_key).split('.')[2]}", sig),
        ("known kid, wrong key", realm.token(SigningKey(rsa_key.kid, "RS256", stranger.private_key)), sig),
        ("unknown key", realm.token(stranger), "unknown signing key"),
        ("no kid", jwt.encode(admin, rsa_key.private_key, algorithm="RS256"), "unknown signing key"),
        ("tenant role, no tenant", realm.token(ec_key, realm.claims(roles=["metalgraph-tenant-admin"])),
         "tenant role without a tenant"),
        ("two tenants", realm.token(ec_key, realm.claims(roles=["metalgraph-tenant-member"],
                                                          groups=["/tenants/acme", "/tenants/globex"])),
         "token names more than one tenant"),
        ("bad tenant name", realm.token(ec_key, realm.claims(roles=["metalgraph-tenant-member"], tenant="../acme")),
         "tenant name not valid"),
        ("no metalgraph role", realm.token(rsa_key, realm.claims()), "no metalgraph role in token"),
        ("roles not a list", realm.token(rsa_key, {**admin, "realm_access": {"roles": {"a": 1}}}),
         "claim realm_access.roles is not a string or a list of strings"),
        ("no subject", realm.token(rsa_key, realm.claims(roles=admin_roles, sub=None)), "missing claim sub"),
    ]  # fmt: skip


GARBAGE = [
    ("", "malformed token"),
    ("Bearer", "malformed token"),
    ("mg_abcdefghijklmnop_secretsecretsecretsecretsecretsecretsec", "malformed token"),
    ("aGVsbG8gd29ybGQgdGhpcyBpcw.bm90IGpzb24gYXQgYWxsIG5v.c2lnbmF0dXJlc2lnbmF0dXJl", "malformed token"),
    ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", "malformed token"),
    ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln.ZXh0cmFleHRyYQ.bW9yZW1vcmVtb3Jl", "malformed token"),
    ("eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0yMDI0In0.!!!!!!!!!!!!!!!!.c2lnbmF0dXJlc2ln", "malformed token"),
    ("eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0yMDI0In0.bm90IGpzb24gYXQgYWxsIG5v.c2lnbmF0dXJlc2ln", "signature invalid"),
    ("eyJhbGciOiJSUzI1NiIsImtpZCI6WzFdfQ.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2ln", "malformed token"),
    ("e30.e30.e30" + "A" * 70_000, "malformed token"),
]
"""(not a token, reason); the last-but-one has a list as its kid, the last is far too long."""


@pytest.fixture
def keys(rsa_key: SigningKey, ec_key: SigningKey, stranger_key: SigningKey) -> dict[str, SigningKey]:
    return {"rsa": rsa_key, "ec": ec_key, "stranger": stranger_key}


async def test_refusals_name_the_reason(realm: Realm, verifier: OidcVerifier, keys: dict[str, SigningKey]) -> None:
    cases = refused_tokens(realm, keys)
    reasons = {case: (await refusal(verifier, token)).reason for case, token, _ in cases}
    assert reasons == {case: expected for case, _, expected in cases}


@pytest.mark.parametrize(("token", "reason"), GARBAGE)
async def test_garbage_is_refused(verifier: OidcVerifier, token: str, reason: str) -> None:
    assert (await refusal(verifier, token)).reason == reason


async def test_unsigned_token_with_a_known_kid_never_reaches_the_key_lookup(
    realm: Realm, verifier: OidcVerifier, rsa_key: SigningKey
) -> None:
    await refusal(verifier, forged({"alg": "none", "kid": rsa_key.kid}, realm.claims(), None))
    assert realm.fetches == 0


async def test_messages_never_quote_the_token(
    realm: Realm, verifier: OidcVerifier, keys: dict[str, SigningKey]
) -> None:
    tokens = [token for _, token, _ in refused_tokens(realm, keys)] + [token for token, _ in GARBAGE if len(token) > 8]
    for token in tokens:
        error = await refusal(verifier, token)
        text = "".join(traceback.format_exception(error)) + repr(error) + repr(error.args)
        segments = [part for part in token.split(".") if len(part) >= 8]
        assert token not in text
        assert not [segment for segment in segments if segment in text]
        assert SUBJECT not in text and "ada@example.org" not in text


async def test_no_token_appears_in_the_jwks_failure_either(
    realm: Realm, verifier: OidcVerifier, rsa_key: SigningKey
) -> None:
    realm.failing = True
    token = realm.token(rsa_key)
    with pytest.raises(JwksUnavailable) as caught:
        await verifier.verify(token)
    text = "".join(traceback.format_exception(caught.value))
    assert not [segment for segment in token.split(".") if segment in text]
    assert isinstance(caught.value, AuthenticationError)
    assert "HTTP 503" in str(caught.value)


# --- the signing keys -----------------------------------------------------------------------


async def test_key_rotation_is_picked_up_by_a_limited_refetch(
    realm: Realm, verifier: OidcVerifier, clock: FakeClock, rsa_key: SigningKey, rotated_key: SigningKey
) -> None:
    await verifier.verify(realm.token(rsa_key))
    assert realm.fetches == 1

    realm.published = [rotated_key, rsa_key]  # Keycloak publishes the new key, then signs with it
    clock.now += 1
    new_token = realm.token(rotated_key)
    assert (await refusal(verifier, new_token)).reason == "unknown signing key"
    assert (await refusal(verifier, new_token)).reason == "unknown signing key"
    assert realm.fetches == 1, "refetches for unknown key ids are rate-limited"

    clock.now += verifier.config.jwks_refetch_s
    assert (await verifier.verify(new_token)).role is Role.PROVIDER_ADMIN
    assert realm.fetches == 2
    await verifier.verify(realm.token(rsa_key))
    assert realm.fetches == 2


async def test_refetch_with_no_rate_limit(
    realm: Realm, make_verifier: Callable[..., OidcVerifier], rsa_key: SigningKey, rotated_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_refetch_s=0)
    await verifier.verify(realm.token(rsa_key))
    realm.published = [rotated_key, rsa_key]
    assert (await verifier.verify(realm.token(rotated_key))).role is Role.PROVIDER_ADMIN
    assert realm.fetches == 2


async def test_a_retired_key_stops_working_when_the_cache_expires(
    realm: Realm, verifier: OidcVerifier, clock: FakeClock, rsa_key: SigningKey, rotated_key: SigningKey
) -> None:
    old_token = realm.token(rsa_key)
    await verifier.verify(old_token)
    realm.published = [rotated_key]
    clock.now += verifier.config.jwks_cache_s - 1
    await verifier.verify(old_token)
    assert realm.fetches == 1
    clock.now += 1
    assert (await refusal(verifier, old_token)).reason == "unknown signing key"
    assert realm.fetches == 2


async def test_cached_keys_outlive_a_failed_refresh(
    realm: Realm, verifier: OidcVerifier, clock: FakeClock, rsa_key: SigningKey
) -> None:
    token = realm.token(rsa_key)
    await verifier.verify(token)
    realm.failing = True
    clock.now += verifier.config.jwks_cache_s
    assert (await verifier.verify(token)).role is Role.PROVIDER_ADMIN
    assert realm.fetches == 2


async def test_an_unreachable_jwks_is_a_typed_error_and_not_hammered(
    realm: Realm, verifier: OidcVerifier, clock: FakeClock, rsa_key: SigningKey
) -> None:
    realm.failing = True
    token = realm.token(rsa_key)
    for _ in range(3):
        with pytest.raises(JwksUnavailable):
            await verifier.verify(token)
    assert realm.fetches == 1
    realm.failing = False
    clock.now += verifier.config.jwks_refetch_s
    assert (await verifier.verify(token)).role is Role.PROVIDER_ADMIN
    assert realm.fetches == 2


async def test_nothing_listening(realm: Realm, rsa_key: SigningKey) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = OidcConfig(issuer=realm.issuer, audience=AUDIENCE, jwks_url=f"http://127.0.0.1:{port}/certs")
    with pytest.raises(JwksUnavailable, match="signing keys unavailable"):
        await OidcVerifier(config).verify(realm.token(rsa_key))


async def test_a_hanging_jwks_endpoint_times_out(realm: Realm, rsa_key: SigningKey) -> None:
    release = asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response(realm.jwks)

    app = web.Application()
    app.router.add_get("/certs", hang)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    config = OidcConfig(
        issuer=realm.issuer, audience=AUDIENCE, jwks_url=f"http://{host}:{port}/certs", jwks_timeout_s=0.2
    )
    try:
        with pytest.raises(JwksUnavailable):
            await OidcVerifier(config).verify(realm.token(rsa_key))
    finally:
        release.set()
        await runner.cleanup()


async def test_concurrent_requests_share_one_fetch(realm: Realm, verifier: OidcVerifier, ec_key: SigningKey) -> None:
    token = realm.token(ec_key, realm.claims(roles=["metalgraph-tenant-member"], tenant="acme"))
    principals = await asyncio.gather(*(verifier.verify(token) for _ in range(20)))
    assert {principal.tenant for principal in principals} == {"acme"}
    assert realm.fetches == 1


def test_looks_like_jwt(realm: Realm, rsa_key: SigningKey) -> None:
    assert looks_like_jwt(realm.token(rsa_key))
    assert not looks_like_jwt("mg_abcdefghijklmnop_" + "s" * 43)
    assert not looks_like_jwt("a.b")
    assert not looks_like_jwt("a.b.c.d.e")
    assert not looks_like_jwt("a b.c.d")


async def test_the_authenticator_says_when_a_jwt_expires(
    realm: Realm, verifier: OidcVerifier, rsa_key: SigningKey
) -> None:
    """What an open websocket needs to close at the token's `exp`."""
    from datetime import UTC, datetime

    from metalgraph.server.auth.authenticator import Authenticator

    token = realm.token(rsa_key, realm.claims(roles=["metalgraph-tenant-member"], tenant="acme"))
    identity = await Authenticator(None, None, verifier, False).identify(f"Bearer {token}", None)  # type: ignore[arg-type]
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert identity.principal == Principal(SUBJECT, Role.TENANT_MEMBER, "acme", AuthMethod.OIDC)
    assert identity.expires_at == datetime.fromtimestamp(exp, UTC)
