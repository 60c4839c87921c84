"""How metalgraph trusts an OIDC identity provider: issuer, audience, keys, and the claim mapping.

The defaults follow Keycloak, which the Mass Open Cloud runs: realm roles in `realm_access.roles`,
client roles in `resource_access.<client_id>.roles`, group paths such as `/tenants/acme` in
`groups`, and `typ: Bearer` on access tokens (ID tokens say `typ: ID` and are refused).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from .principal import Role

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""The signature algorithms a verifier may accept: public-key ones only, never HS* or `none`."""

DEFAULT_ROLE_VALUES: dict[Role, str] = {
    Role.PROVIDER_ADMIN: "metalgraph-provider-admin",
    Role.PROVIDER_VIEWER: "metalgraph-provider-viewer",
    Role.TENANT_ADMIN: "metalgraph-tenant-admin",
    Role.TENANT_MEMBER: "metalgraph-tenant-member",
}

ClaimPath = Annotated[str, StringConstraints(pattern=r"^[^.]+(\.[^.]+)*$")]
"""A claim name, or a dotted path into nested claims (`realm_access.roles`)."""


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OidcConfig(BaseModel):
    """Trust in one OIDC issuer (a Keycloak realm) and how its tokens map to a `Principal`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(
        min_length=1,
        description="Expected `iss`, compared exactly (Keycloak: https://host/realms/<realm>, no trailing slash)",
    )
    audience: str | list[str] = Field(
        description="Accepted `aud` value(s); a token passes if its `aud` holds any of them",
    )
    accept_azp: bool = Field(
        default=False,
        description="Also accept a token whose `azp` (Keycloak's client id) is one of the audiences",
    )
    jwks_url: str | None = Field(
        default=None,
        description="Where the signing keys are published (Keycloak: <issuer>/protocol/openid-connect/certs); "
        "https, or http on a loopback address",
    )
    jwks_file: Path | None = Field(default=None, description="A local JWKS file, instead of `jwks_url`")
    algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "ES256"],
        min_length=1,
        description="Accepted signature algorithms (asymmetric only)",
    )
    leeway_s: float = Field(default=30.0, ge=0, le=600, description="Clock skew tolerated on exp, nbf and iat")
    jwks_cache_s: float = Field(default=300.0, gt=0, description="How long fetched keys are trusted before refetching")
    jwks_refetch_s: float = Field(
        default=10.0,
        ge=0,
        description="Least time between two fetches caused by an unknown key id or a failed fetch",
    )
    jwks_timeout_s: float = Field(default=5.0, gt=0, description="Time limit of one JWKS fetch")
    required_typ: str | None = Field(
        default="Bearer",
        description="Required `typ` claim (Keycloak access tokens); None skips the check",
    )
    subject_claim: ClaimPath = Field(default="sub", description="Claim that identifies the caller")
    display_claim: ClaimPath = Field(default="preferred_username", description="Claim kept as a display name")
    tenant_claim: ClaimPath | None = Field(default="tenant", description="Claim holding the tenant name")
    groups_claim: ClaimPath = Field(default="groups", description="Claim holding Keycloak group paths")
    tenant_group_prefix: str | None = Field(
        default="/tenants/",
        min_length=1,
        description="Group paths under this prefix name the tenant (/tenants/acme => acme); None disables",
    )
    role_claim: ClaimPath = Field(default="realm_access.roles", description="Claim holding the role values")
    client_id: str | None = Field(
        default=None,
        min_length=1,
        description="Also read client roles from resource_access.<client_id>.roles",
    )
    role_values: dict[Role, str] = Field(
        default_factory=lambda: dict(DEFAULT_ROLE_VALUES),
        description="Claim value that grants each metalgraph role; several granted => the most privileged",
    )

    @property
    def audiences(self) -> frozenset[str]:
        """The accepted audiences as a set."""
        return frozenset([self.audience] if isinstance(self.audience, str) else self.audience)

    @field_validator("audience")
    @classmethod
    def _some_audience(cls, value: str | list[str]) -> str | list[str]:
        values = [value] if isinstance(value, str) else value
        if not values or not all(values):
            raise ValueError("audience must name at least one non-empty audience")
        return value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        refused = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if refused:
            raise ValueError(
                f"algorithms {refused} not allowed; use asymmetric ones only: {sorted(ASYMMETRIC_ALGORITHMS)}"
            )
        return list(dict.fromkeys(value))

    @field_validator("jwks_url")
    @classmethod
    def _safe_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and _is_loopback(parts.hostname):
            return value
        raise ValueError("jwks_url must be https (plain http only on a loopback address)")

    @field_validator("role_values")
    @classmethod
    def _distinct_values(cls, value: dict[Role, str]) -> dict[Role, str]:
        if not value:
            raise ValueError("role_values must grant at least one role")
        if not all(value.values()):
            raise ValueError("role_values must not be empty strings")
        if len(set(value.values())) != len(value):
            raise ValueError("role_values must give each role its own claim value")
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> OidcConfig:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("set exactly one of jwks_url and jwks_file")
        return self
