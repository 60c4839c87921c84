"""Identities, roles and the audit trail through the API: token lifecycle, refusals, limits, and
secrets that never reach a log, an audit entry or an error message."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.server.app import create_app
from metalgraph.server.audit import verify
from metalgraph.server.store.base import GraphStore

CREATE_TOKEN = """
mutation($role: Role!, $tenant: String, $expires: String) {
  createApiToken(role: $role, tenant: $tenant, expiresIn: $expires) { token apiToken { id role tenant active } }
}"""


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.responses: list[str] = []

    async def call(self, query: str, token: str | None = ADMIN_TOKEN, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        self.responses.append(response.text)
        return response.json()

    async def ok(self, query: str, token: str | None = ADMIN_TOKEN, **variables: Any) -> dict[str, Any]:
        body = await self.call(query, token, **variables)
        assert "errors" not in body, body
        return body["data"]

    async def codes(self, query: str, token: str | None = ADMIN_TOKEN, **variables: Any) -> list[str]:
        body = await self.call(query, token, **variables)
        return [e["extensions"]["code"] for e in body.get("errors", [])]

    async def token(self, role: str, tenant: str | None, by: str = ADMIN_TOKEN, expires: str | None = None) -> str:
        data = await self.ok(CREATE_TOKEN, by, role=role, tenant=tenant, expires=expires)
        return str(data["createApiToken"]["token"])


async def _api(store: GraphStore, tmp_path: Path, **settings: Any) -> AsyncIterator[Api]:
    app = create_app(make_settings(tmp_path, **settings), store=store)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))  # not loopback
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield Api(c)


@pytest.fixture
async def api(store: GraphStore, tmp_path: Path) -> AsyncIterator[Api]:
    async for client in _api(store, tmp_path):
        yield client


async def test_token_lifecycle_and_roles(api: Api, store: GraphStore) -> None:
    await api.ok('mutation { createTenant(name: "acme", contactEmail: "ops@acme.example") { name } }')
    admin = await api.token("TENANT_ADMIN", "acme")
    assert (await api.ok("{ viewer { role tenantName method } }", admin))["viewer"] == {
        "role": "TENANT_ADMIN",
        "tenantName": "acme",
        "method": "api-token",
    }
    member = await api.token("TENANT_MEMBER", None, by=admin)  # a tenant-admin's tokens are its tenant's
    assert (await api.ok("{ viewer { tenantName } }", member))["viewer"]["tenantName"] == "acme"
    assert await api.codes(CREATE_TOKEN, member, role="TENANT_MEMBER") == ["FORBIDDEN"]
    assert await api.codes(CREATE_TOKEN, admin, role="PROVIDER_ADMIN") == ["FORBIDDEN"]
    assert await api.codes("{ apiTokens { id } }", member) == ["FORBIDDEN"]
    listed = (await api.ok("{ apiTokens { id role tenant active } }", admin))["apiTokens"]
    assert {t["role"] for t in listed} == {"TENANT_ADMIN", "TENANT_MEMBER"}
    member_id = next(t["id"] for t in listed if t["role"] == "TENANT_MEMBER")
    revoked = await api.ok("mutation($id: ID!) { revokeApiToken(id: $id) { active revokedAt } }", admin, id=member_id)
    assert revoked["revokeApiToken"]["active"] is False
    assert await api.codes("{ viewer { role } }", member) == ["UNAUTHENTICATED"]
    # Expiry: a token whose time has passed is refused like an unknown one.
    short = await api.token("TENANT_MEMBER", "acme", expires="1h")
    short_id = short.split("_")[1]
    await store.write(
        "MATCH (t:ApiToken {key: $id}) SET t.expires_at = '2000-01-01T00:00:00.000+00:00'", {"id": short_id}
    )
    assert await api.codes("{ viewer { role } }", short) == ["UNAUTHENTICATED"]
    # Anonymous callers from another host get nothing; a provider-viewer reads but cannot write.
    assert await api.codes("{ sites { totalCount } }", None) == ["UNAUTHENTICATED"]
    viewer = await api.token("PROVIDER_VIEWER", None)
    assert (await api.ok("{ tenants { totalCount } }", viewer))["tenants"]["totalCount"] == 1
    assert await api.codes('mutation { createTenant(name: "x") { name } }', viewer) == ["FORBIDDEN"]


async def test_every_mutation_and_refusal_is_audited_and_the_chain_verifies(api: Api, store: GraphStore) -> None:
    await api.ok('mutation { createTenant(name: "acme") { name } }')
    assert await api.codes('mutation { createTenant(name: "Not Valid!") { name } }') == ["INVALID_INPUT"]
    assert await api.codes("{ viewer { role } }", "mg_aaaaaaaaaaaaaaaa_" + "x" * 43) == ["UNAUTHENTICATED"]
    member = await api.token("TENANT_MEMBER", "acme")
    assert await api.codes('mutation { createTenant(name: "x") { name } }', member) == ["FORBIDDEN"]
    log = await api.ok("{ auditLog(first: 50) { totalCount edges { node { operation outcome tenant actor } } } }")
    entries = [e["node"] for e in log["auditLog"]["edges"]]
    outcomes = [(e["operation"], e["outcome"]) for e in reversed(entries)]
    assert outcomes == [
        ("createTenant", "OK"),
        ("createTenant", "INVALID"),
        ("viewer", "DENIED"),
        ("createApiToken", "OK"),
        ("createTenant", "DENIED"),
    ]
    assert entries[0]["tenant"] == "acme"  # a tenant's attempt is filed under its tenant
    # An invalid mutation wrote its entry and nothing else.
    assert (await api.ok("{ tenants { totalCount } }"))["tenants"]["totalCount"] == 1
    assert (await verify(store)).intact


async def test_token_lifetimes_are_bounded_and_a_bad_one_is_invalid_input(api: Api, store: GraphStore) -> None:
    await api.ok('mutation { createTenant(name: "acme") { name } }')
    for bad in ("3000000d", "12345678901234567890", "12345678901234567890d", "-5d", "0d", "0", "10y", "5 days", ""):
        body = await api.call(CREATE_TOKEN, role="TENANT_MEMBER", tenant="acme", expires=bad)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"], (bad, body)
        message = body["errors"][0]["message"]
        assert "366" in message and ("30d" in message or "366d" in message), message
    assert (await api.ok("{ apiTokens { id } }"))["apiTokens"] == [], "nothing was issued"
    await api.token("TENANT_MEMBER", "acme", expires="366d")
    await api.token("TENANT_MEMBER", "acme", expires="52w")
    assert len((await api.ok("{ apiTokens { id } }"))["apiTokens"]) == 2


async def test_names_end_where_they_end_and_deleting_a_missing_tenant_is_not_found(
    api: Api, store: GraphStore
) -> None:
    create = "mutation($n: String!, $e: String!) { createTenant(name: $n, contactEmail: $e) { name } }"
    for name, email in (("acme\n", ""), ("acme", "ops@acme.example\n"), ("\nacme", "")):
        assert await api.codes(create, n=name, e=email) == ["INVALID_INPUT"], (name, email)
    assert (await api.ok("{ tenants { totalCount } }"))["tenants"]["totalCount"] == 0
    delete = "mutation($n: String!) { deleteTenant(name: $n) { deleted } }"
    assert await api.codes(delete, n="never-was") == ["NOT_FOUND"]
    await api.ok(create, n="acme", e="")
    assert (await api.ok(delete, n="acme"))["deleteTenant"]["deleted"] is True
    assert await api.codes(delete, n="acme") == ["NOT_FOUND"], "deleted once"
    log = await api.ok("{ auditLog(first: 3) { edges { node { operation outcome } } } }")
    assert [e["node"]["outcome"] for e in log["auditLog"]["edges"]] == ["NOT_FOUND", "OK", "OK"]


async def test_rate_limits_are_per_caller_and_audited(store: GraphStore, tmp_path: Path) -> None:
    async for api in _api(store, tmp_path, rate_limit_per_s=0.01, rate_limit_burst=3):
        for _ in range(3):
            await api.ok("{ viewer { role } }")
        body = await api.call("{ viewer { role } }")
        assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
        assert body["errors"][0]["extensions"]["retryAfterSeconds"] > 0
        # Guessing tokens is limited per address: the same bucket size, then refusals.
        codes = [await api.codes("{ viewer { role } }", "mg_aaaaaaaaaaaaaaaa_" + "x" * 43) for _ in range(4)]
        assert codes == [["UNAUTHENTICATED"]] * 3 + [["RATE_LIMITED"]]
    rows = await store.read("MATCH (e:AuditEntry {outcome: 'limited'}) RETURN e.detail AS d")
    assert [r["d"].split(":")[0] for r in rows] == ["RATE_LIMITED", "RATE_LIMITED"]


async def test_secrets_never_reach_logs_audit_entries_or_errors(
    api: Api, store: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await api.ok('mutation { createTenant(name: "acme") { name } }')
    admin = await api.token("TENANT_ADMIN", "acme")
    await api.ok("{ viewer { role } }", admin)
    wrong = admin[:-4] + "AAAA"
    jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."  # unsigned; this server has no OIDC configured
    for presented in (wrong, jwt, "Basic " + admin):
        await api.codes("{ viewer { role } }", presented)
    await api.codes(CREATE_TOKEN, admin, role="TENANT_MEMBER", tenant="acme", expires=admin)  # a secret as input
    audit = json.dumps(await store.read("MATCH (e:AuditEntry) RETURN e{.*} AS e"))
    # The secret may appear in exactly one place: the answer that created it.
    answers = [r for r in api.responses if admin in r]
    assert len(answers) == 1 and "createApiToken" in answers[0]
    for secret in (admin, admin.split("_", 2)[2], wrong, jwt):
        assert secret not in caplog.text
        assert secret not in audit
        assert not any(secret in r for r in api.responses if r is not answers[0])
    assert "[redacted]" in audit


async def test_keycloak_jwts_identify_callers_through_the_api(store: GraphStore, tmp_path: Path) -> None:
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    from metalgraph.server.auth.oidc_config import OidcConfig

    key = ec.generate_private_key(ec.SECP256R1())
    jwks = tmp_path / "certs.json"
    jwks.write_text(
        json.dumps(
            {
                "keys": [
                    {"kid": "k1", "use": "sig", "alg": "ES256", **ECAlgorithm.to_jwk(key.public_key(), as_dict=True)}
                ]
            }
        )
    )
    issuer = "https://sso.example/realms/moc"
    oidc = OidcConfig(issuer=issuer, audience="metalgraph", jwks_file=jwks)

    def token(**overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": "metalgraph",
            "sub": "8d1c-user",
            "typ": "Bearer",
            "iat": now,
            "exp": now + 300,
            "preferred_username": "alice",
            "realm_access": {"roles": ["metalgraph-tenant-member", "offline_access"]},
            "groups": ["/tenants/acme"],
            **overrides,
        }
        return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1"})

    async for api in _api(store, tmp_path, oidc=oidc):
        await api.ok('mutation { createTenant(name: "acme") { name } }')
        viewer = (await api.ok("{ viewer { subject role tenantName method } }", token()))["viewer"]
        assert viewer == {"subject": "8d1c-user", "role": "TENANT_MEMBER", "tenantName": "acme", "method": "oidc"}
        expired = token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
        assert await api.codes("{ viewer { role } }", expired) == ["UNAUTHENTICATED"]
        assert await api.codes("{ viewer { role } }", token(aud="someone-else")) == ["UNAUTHENTICATED"]
        assert await api.codes('mutation { createTenant(name: "x") { name } }', token()) == ["FORBIDDEN"]


async def test_graphiql_lets_a_user_present_a_token(store: GraphStore, tmp_path: Path) -> None:
    async for api in _api(store, tmp_path, graphiql=True):
        page = await api.client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "isHeadersEditorEnabled: true" in page.text  # the "Headers" tab: {"Authorization": "Bearer mg_..."}
        assert "shouldPersistHeaders: true" in page.text
