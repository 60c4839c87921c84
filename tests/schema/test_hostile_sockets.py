"""Hostile callers of /metrics from another machine: every credential that does not open it gets one and the
same answer (none tells a token's state apart), each refusal is audited, and the rate limit of GraphQL
requests bounds them too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.server.app import create_app
from metalgraph.server.store.base import GraphStore

REMOTE = ("198.51.100.31", 40000)


async def _ok(api: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = await api.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


async def _token(api: httpx.AsyncClient, tenant: str) -> str:
    query = 'mutation($t: String) { createApiToken(role: TENANT_ADMIN, tenant: $t) { token } }'
    return str((await _ok(api, query, t=tenant))["createApiToken"]["token"])


async def test_metrics_refuse_every_bad_credential_alike_audit_it_and_limit_its_rate(
    store: GraphStore, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, metrics_loopback=True, rate_limit_per_s=0.001, rate_limit_burst=6)
    app = create_app(settings, store=store)
    transport = httpx.ASGITransport(app=app, client=REMOTE)  # not loopback: credentials are needed
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as api:
        await _ok(api, 'mutation { createTenant(name: "acme") { name } }')
        tenant, revoked = await _token(api, "acme"), await _token(api, "acme")
        await _ok(api, "mutation($id: ID!) { revokeApiToken(id: $id) { id } }", id=revoked.split("_")[1])
        answers = []
        for authorization in (None, "Bearer wrong", f"Bearer {revoked}", f"Bearer {revoked}x", f"Bearer {tenant}"):
            headers = {"Authorization": authorization} if authorization else {}
            response = await api.get("/metrics", headers=headers)
            answers.append((response.status_code, response.json()))
        assert len(set(map(str, answers))) == 1, answers
        status, body = answers[0]
        assert status == 401 and [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
        provider = await api.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert provider.status_code == 200 and "metalgraph_graphql_requests_total" in provider.text
        # The anonymous caller spent four of its six requests (the tenant's token is a caller of its own).
        assert [(await api.get("/metrics")).status_code for _ in range(2)] == [401, 401]
        limited = await api.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert limited.status_code == 429 and limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["Retry-After"]) >= 1
        # Each caller's first refusal is written at once, saying what was wrong; the others are counted.
        await app.state.services.audit.refusals.flush(everything=True)
        query = '{ auditLog(first: 20) { edges { node { actor operation outcome detail variables } } } }'
        entries = [e["node"] for e in (await _ok(api, query))["auditLog"]["edges"]]
        anonymous, tenant_caller = f"anonymous@{REMOTE[0]}", f"token:{tenant.split('_')[1]}"
        refused = {(e["actor"], e["outcome"], e["detail"][:41]) for e in entries if e["operation"] == "metrics"}
        assert refused == {
            (anonymous, "DENIED", "UNAUTHENTICATED: no credentials"),
            (tenant_caller, "DENIED", "UNAUTHENTICATED: a token of tenant 'acme'"),
            (anonymous, "LIMITED", "RATE_LIMITED: too many requests; retry in"),
        }, entries
        counted = [e["variables"] for e in entries if e["operation"] == "refusals"]
        assert counted == [{**counted[0], "code": "UNAUTHENTICATED", "refusals": 5}], entries
