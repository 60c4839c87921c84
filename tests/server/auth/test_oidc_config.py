"""The OIDC configuration: Keycloak defaults, and the settings it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from metalgraph.server.auth.oidc_config import OidcConfig
from metalgraph.server.auth.principal import Role

ISSUER = "https://keycloak.moc.example/realms/moc"
CERTS = f"{ISSUER}/protocol/openid-connect/certs"


def config(**fields: Any) -> OidcConfig:
    return OidcConfig(**{"issuer": ISSUER, "audience": "metalgraph", "jwks_url": CERTS, **fields})


def test_keycloak_defaults() -> None:
    c = config()
    assert c.algorithms == ["RS256", "ES256"]
    assert (c.leeway_s, c.jwks_cache_s, c.required_typ) == (30, 300, "Bearer")
    assert (c.subject_claim, c.tenant_claim, c.role_claim) == ("sub", "tenant", "realm_access.roles")
    assert (c.groups_claim, c.tenant_group_prefix, c.client_id) == ("groups", "/tenants/", None)
    assert c.role_values[Role.TENANT_MEMBER] == "metalgraph-tenant-member"
    assert c.audiences == {"metalgraph"}


def test_from_a_toml_shaped_dict(tmp_path: Path) -> None:
    c = OidcConfig.model_validate(
        {
            "issuer": ISSUER,
            "audience": ["metalgraph", "metalgraph-cli"],
            "jwks_file": str(tmp_path / "certs.json"),
            "role_values": {"provider-admin": "moc-admins", "tenant-member": "moc-users"},
        }
    )
    assert c.role_values == {Role.PROVIDER_ADMIN: "moc-admins", Role.TENANT_MEMBER: "moc-users"}
    assert c.audiences == {"metalgraph", "metalgraph-cli"}


@pytest.mark.parametrize("algorithms", [["HS256"], ["RS256", "none"], ["RS256", "HS512"], []])
def test_only_asymmetric_algorithms(algorithms: list[str]) -> None:
    with pytest.raises(ValidationError):
        config(algorithms=algorithms)


@pytest.mark.parametrize(
    "fields",
    [
        {"jwks_url": None},
        {"jwks_file": "/etc/metalgraph/certs.json"},
        {"jwks_url": "http://keycloak.moc.example/certs"},
        {"jwks_url": "ftp://127.0.0.1/certs"},
        {"audience": []},
        {"audience": ""},
        {"issuer": ""},
        {"role_values": {"tenant-admin": "x", "tenant-member": "x"}},
        {"role_values": {"superuser": "x"}},
        {"role_claim": "realm_access..roles"},
        {"leeway_s": -1},
        {"jwks_cache_s": 0},
        {"client_secret": "s3cret"},
    ],
)
def test_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        config(**fields)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8081/certs", "http://localhost/certs", "http://[::1]:8081/certs"])
def test_plain_http_only_on_loopback(url: str) -> None:
    assert config(jwks_url=url).jwks_url == url
