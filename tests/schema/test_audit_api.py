"""The audit log through the API: what a tenant reads of it (nothing derived from other tenants'
entries), refusals that hostile input cannot keep out of it, refusals that cannot flood it, and
refusals that do not count as changes."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ADMIN_TOKEN, make_settings
from metalgraph.server.app import create_app
from metalgraph.server.audit import verify
from metalgraph.server.store.base import GraphStore

CREATE_TOKEN = "mutation($t: String) { createApiToken(role: TENANT_ADMIN, tenant: $t) { token } }"
LOG = """query($after: String) { auditLog(first: 3, after: $after) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { seq tenantSeq at actor role tenant operation variables outcome detail prevHash hash } } } }"""
TENANT_LOG = LOG.replace(" tenantSeq", "")


class Api:
    def __init__(self, client: httpx.AsyncClient, app: Any) -> None:
        self.client = client
        self.app = app

    async def call(self, query: str, token: str | None = ADMIN_TOKEN, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers["content-type"] = "application/json"
        content = json.dumps({"query": query, "variables": variables})  # ASCII: lone surrogates as escapes
        response = await self.client.post("/graphql", content=content, headers=headers)
        return response.json()

    async def ok(self, query: str, token: str | None = ADMIN_TOKEN, **variables: Any) -> dict[str, Any]:
        body = await self.call(query, token, **variables)
        assert "errors" not in body, body
        return body["data"]

    async def tenant_admin(self, tenant: str) -> str:
        await self.ok("mutation($n: String!) { createTenant(name: $n) { name } }", n=tenant)
        return str((await self.ok(CREATE_TOKEN, t=tenant))["createApiToken"]["token"])

    async def whole_log(self, token: str, query: str = LOG) -> list[dict[str, Any]]:
        """Every page of the caller's auditLog, as answered."""
        pages, after = [], None
        while True:
            data = (await self.ok(query, token, after=after))["auditLog"]
            pages.append(data)
            if not data["pageInfo"]["hasNextPage"]:
                return pages
            after = data["pageInfo"]["endCursor"]


async def _api(store: GraphStore, tmp_path: Path, **settings: Any) -> AsyncIterator[Api]:
    app = create_app(make_settings(tmp_path, **settings), store=store)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield Api(c, app)


@pytest.fixture
async def api(store: GraphStore, tmp_path: Path) -> AsyncIterator[Api]:
    async for client in _api(store, tmp_path):
        yield client


async def audit_rows(store: GraphStore) -> list[dict[str, Any]]:
    rows = await store.read("MATCH (e:AuditEntry) RETURN e{.*} AS e ORDER BY e.seq")
    return [row["e"] for row in rows]


# --- what a tenant reads ----------------------------------------------------------------------------


async def test_a_tenants_log_holds_nothing_derived_from_another_tenants_entries(api: Api) -> None:
    acme = await api.tenant_admin("acme")
    globex = await api.tenant_admin("globex")
    for _ in range(4):
        await api.ok("mutation { createApiToken(role: TENANT_MEMBER) { token } }", acme)
        await api.ok(CREATE_TOKEN, globex)
    before = await api.whole_log(acme, TENANT_LOG)
    nodes = [e["node"] for page in before for e in page["edges"]]
    assert [n["seq"] for n in nodes] == list(range(len(nodes), 0, -1)), "acme's own sequence, newest first"
    assert all(n["hash"] is None and n["prevHash"] is None for n in nodes)
    for page in before:
        for edge in page["edges"]:
            assert base64.urlsafe_b64decode(edge["cursor"]).decode() == f"key:{edge['node']['seq']:012d}"
    # globex acts, succeeds, fails and is refused: acme's log reads exactly as before.
    await api.ok(CREATE_TOKEN, globex)
    assert (await api.call('mutation { createTenant(name: "x") { name } }', globex))["errors"]
    assert (await api.call("{ auditLog(first: 100000) { totalCount } }", globex))["errors"]
    assert await api.whole_log(acme, TENANT_LOG) == before


async def test_providers_read_the_chain_and_each_entrys_tenant_seq(api: Api, store: GraphStore) -> None:
    acme = await api.tenant_admin("acme")
    await api.ok(CREATE_TOKEN, acme)
    nodes = [e["node"] for e in (await api.ok(LOG.replace("first: 3", "first: 50")))["auditLog"]["edges"]]
    assert [n["seq"] for n in nodes] == list(range(len(nodes), 0, -1))
    assert all(n["hash"] and n["prevHash"] for n in nodes)
    acme_seqs = [n["tenantSeq"] for n in nodes if n["tenant"] == "acme"]
    assert acme_seqs == list(range(len(acme_seqs), 0, -1)) and len(acme_seqs) >= 2
    assert all(n["tenantSeq"] is None for n in nodes if n["tenant"] is None)
    assert (await verify(store)).intact


# --- hostile input --------------------------------------------------------------------------------------

HOSTILE = {
    "nul": "acme\x00evil",
    "surrogate": "acme\udc80",
    "escape-text": "acme\\u0000",
    "huge": "a" * 400_000,
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_a_refused_request_with_hostile_input_keeps_its_code_and_its_entry(
    api: Api, store: GraphStore, kind: str
) -> None:
    text = HOSTILE[kind]
    body = await api.call("mutation($n: String!) { createTenant(name: $n) { name } }", n=text)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"], body
    body = await api.call("query($n: String!) { tenant(name: $n) { name } }", None, n=text)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
    rows = await audit_rows(store)
    assert [(r["operation"], r["outcome"]) for r in rows] == [("createTenant", "invalid"), ("tenant", "denied")]
    assert (await verify(store)).intact


async def test_deeply_nested_variables_of_a_refused_request_are_audited(api: Api, store: GraphStore) -> None:
    deep: Any = "x"
    for _ in range(450):  # 900 levels: as deep as the JSON parser goes
        deep = {"a": [deep]}
    body = await api.call("mutation($n: String!) { createTenant(name: $n) { name } }", n=deep)
    assert body["errors"] and all(e["extensions"]["code"] != "INTERNAL" for e in body["errors"]), body
    assert len(await audit_rows(store)) == 1
    assert (await verify(store)).intact


# --- flooding ---------------------------------------------------------------------------------------------


async def test_a_flood_of_oversized_bodies_writes_a_bounded_number_of_exact_counts(
    store: GraphStore, tmp_path: Path
) -> None:
    async for api in _api(store, tmp_path):
        for _ in range(1000):
            response = await api.client.post(
                "/graphql", content=b"{}", headers={"content-length": "999999999", "content-type": "application/json"}
            )
            assert response.status_code == 413
        assert len(await audit_rows(store)) == 1, "one entry for the window, the rest counted"
    rows = await audit_rows(store)  # the server stopped: the count is written
    assert [r["operation"] for r in rows] == ["http", "refusals"]
    assert '"refusals":999' in rows[1]["variables"]
    assert (await verify(store)).intact


async def test_rate_limited_refusals_are_counted_not_written_one_by_one(store: GraphStore, tmp_path: Path) -> None:
    async for api in _api(store, tmp_path, rate_limit_per_s=0.01, rate_limit_burst=2):
        codes = [await api.call("{ viewer { role } }") for _ in range(50)]
        assert sum("errors" in c for c in codes) == 48
        assert len([r for r in await audit_rows(store) if r["outcome"] == "limited"]) == 1
    limited = [r for r in await audit_rows(store) if r["outcome"] == "limited"]
    assert [r["operation"] for r in limited] == ["(not parsed)", "refusals"], "refused before it was parsed"
    assert '"refusals":47' in limited[1]["variables"] and limited[1]["actor"] == "admin"


# --- refusals are not changes -------------------------------------------------------------------------


async def test_refusals_leave_the_cached_tenant_scopes_alone(api: Api) -> None:
    acme = await api.tenant_admin("acme")
    scopes = api.app.state.services.scopes
    cached = await scopes.scope("acme")
    for token in (None, "mg_aaaaaaaaaaaaaaaa_" + "x" * 43, acme):
        assert (await api.call("{ auditLog(first: 100000) { totalCount } }", token))["errors"]
    assert await scopes.scope("acme") is cached, "refusals moved the visibility clock"
    await api.ok(CREATE_TOKEN, acme)  # a change
    assert await scopes.scope("acme") is not cached


async def test_a_timeout_is_audited_under_the_callers_principal(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = store._read

    async def slow_sites(query: str, params: dict[str, Any]) -> Any:
        if ":Site" in query:
            await asyncio.sleep(30)
        return await read(query, params)

    monkeypatch.setattr(store, "_read", slow_sites)
    async for api in _api(store, tmp_path, request_timeout_s=0.5):
        response = await api.client.post(
            "/graphql", json={"query": "{ sites { totalCount } }"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert response.status_code == 503 and response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    (row,) = await audit_rows(store)
    assert (row["actor"], row["role"], row["outcome"]) == ("admin", "provider-admin", "limited")
    assert row["detail"].startswith("TIMEOUT")
