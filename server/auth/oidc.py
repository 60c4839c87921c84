"""OIDC bearer JWTs, as Keycloak issues them, verified and mapped to a `Principal`.

The order of the checks matters: the header's `alg` must be one the configuration allows before
any key is looked up (which defeats `alg: none` and HS256 signed with the public key as the
secret), the key is the one the header's `kid` names and must suit that algorithm, and only a
token with a valid signature has its claims read. A refusal raises `InvalidToken` with a reason in
general terms; neither the message nor the exception chain quotes the token or its claims.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from .errors import AuthenticationError
from .jwks import JwksCache, JwksUnavailable
from .oidc_config import OidcConfig
from .principal import AuthMethod, Principal, Role

__all__ = ["InvalidToken", "JwksUnavailable", "OidcConfig", "OidcIdentity", "OidcVerifier", "looks_like_jwt"]

MAX_TOKEN_CHARS = 65_536
"""Keycloak tokens with many groups reach a few kilobytes; far beyond that is not a token."""

ROLE_PRECEDENCE: tuple[Role, ...] = (Role.PROVIDER_ADMIN, Role.PROVIDER_VIEWER, Role.TENANT_ADMIN, Role.TENANT_MEMBER)
"""Most privileged first: when a token grants several roles, the first of these wins."""

_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""The inventory's `Name` rule: a tenant claim must name a tenant that could exist."""

_DECODE_REFUSALS: tuple[tuple[type[PyJWTError], str], ...] = (
    (ExpiredSignatureError, "token expired"),
    (ImmatureSignatureError, "token not yet valid"),
    (InvalidIssuerError, "wrong issuer"),
    (InvalidSignatureError, "signature invalid"),
    (InvalidAlgorithmError, "algorithm not allowed"),
    (InvalidKeyError, "signing key not acceptable"),
    (DecodeError, "malformed token"),
)


class InvalidToken(AuthenticationError):
    """A bearer JWT was refused; `reason` says why in general terms and never quotes the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OidcIdentity:
    """A verified token: the principal, plus what `Principal` has no field for."""

    principal: Principal
    display_name: str | None
    """`preferred_username` (or the configured display claim), for logs and the UI; never for decisions."""
    expires_at: int
    """The token's `exp`, in seconds since the epoch."""


def looks_like_jwt(value: str) -> bool:
    """Whether a bearer credential has the shape of a compact JWS: three dot-separated base64url segments."""
    return len(value) <= MAX_TOKEN_CHARS and _JWT_SHAPE.fullmatch(value) is not None


def _lookup(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted claim path, or None where any step is missing or not an object."""
    value: Any = claims
    for step in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _strings(value: Any, path: str) -> list[str]:
    """A claim that holds a string or a list of strings, as a list; absent means empty."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise InvalidToken(f"claim {path} is not a string or a list of strings")


class OidcVerifier:
    """Verifies bearer JWTs from one issuer and maps their claims to a `Principal`."""

    def __init__(self, config: OidcConfig, *, jwks: JwksCache | None = None) -> None:
        self.config = config
        self.jwks = jwks if jwks is not None else JwksCache.from_config(config)

    async def verify(self, token: str) -> Principal:
        """The principal a token identifies.

        Raises `InvalidToken` when the token is refused, `JwksUnavailable` when the signing keys
        cannot be fetched (both are `AuthenticationError`s).
        """
        return (await self.identify(token)).principal

    async def identify(self, token: str) -> OidcIdentity:
        """Like `verify`, with the display name and expiry as well."""
        if not isinstance(token, str) or not looks_like_jwt(token):
            raise InvalidToken("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise InvalidToken("malformed token") from None  # PyJWT's messages may quote the header
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.config.algorithms:
            raise InvalidToken("algorithm not allowed")
        kid = header.get("kid")
        keys = await self.jwks.keys_for(kid) if isinstance(kid, str) else None
        if keys is None:
            raise InvalidToken("unknown signing key")
        key = keys.get(alg)
        if key is None:
            raise InvalidToken("algorithm not allowed")  # not for this key: RS256 header on an EC key, say
        return self._identity(self._decode(token, key, alg))

    def _decode(self, token: str, key: PyJWK, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss"], "verify_aud": False, "enforce_minimum_key_length": True},
            )
        except MissingRequiredClaimError as e:
            raise InvalidToken(f"missing claim {e.claim}") from None
        except PyJWTError as e:
            reason = next((reason for kind, reason in _DECODE_REFUSALS if isinstance(e, kind)), "invalid token")
            # Not `from e`: PyJWT's messages can quote header fields (an unsupported `crit` entry).
            raise InvalidToken(reason) from None

    def _identity(self, claims: dict[str, Any]) -> OidcIdentity:
        config = self.config
        if config.required_typ is not None and claims.get("typ") != config.required_typ:
            raise InvalidToken("wrong token type")
        self._check_audience(claims)
        subject = _lookup(claims, config.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise InvalidToken(f"missing claim {config.subject_claim}")
        role = self._role(claims)
        tenant = None if role.is_provider else self._tenant(claims)
        display = _lookup(claims, config.display_claim)
        return OidcIdentity(
            principal=Principal(subject=subject, role=role, tenant=tenant, method=AuthMethod.OIDC),
            display_name=display if isinstance(display, str) and display else None,
            expires_at=int(claims["exp"]),
        )

    def _check_audience(self, claims: dict[str, Any]) -> None:
        audiences = self.config.audiences
        aud = claims.get("aud")
        presented = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if any(isinstance(item, str) and item in audiences for item in presented):
            return
        azp = claims.get("azp")
        if self.config.accept_azp and isinstance(azp, str) and azp in audiences:
            return
        raise InvalidToken("wrong audience")

    def _role(self, claims: dict[str, Any]) -> Role:
        config = self.config
        values = set(_strings(_lookup(claims, config.role_claim), config.role_claim))
        if config.client_id is not None:
            resource_access = claims.get("resource_access")
            client = resource_access.get(config.client_id) if isinstance(resource_access, Mapping) else None
            roles = client.get("roles") if isinstance(client, Mapping) else None
            values.update(_strings(roles, f"resource_access.{config.client_id}.roles"))
        for role in ROLE_PRECEDENCE:
            if config.role_values.get(role) in values:
                return role
        raise InvalidToken("no metalgraph role in token")

    def _tenant(self, claims: dict[str, Any]) -> str:
        config = self.config
        candidates: set[str] = set()
        if config.tenant_claim is not None:
            candidates = set(_strings(_lookup(claims, config.tenant_claim), config.tenant_claim))
        if not candidates and config.tenant_group_prefix is not None:
            prefix = config.tenant_group_prefix
            groups = _strings(_lookup(claims, config.groups_claim), config.groups_claim)
            # A subgroup (/tenants/acme/admins) belongs to its tenant too.
            candidates = {group[len(prefix) :].split("/")[0] for group in groups if group.startswith(prefix)}
            candidates.discard("")
        if not candidates:
            raise InvalidToken("tenant role without a tenant")
        if len(candidates) > 1:
            raise InvalidToken("token names more than one tenant")
        (tenant,) = candidates
        if not _TENANT_NAME.fullmatch(tenant):
            raise InvalidToken("tenant name not valid")
        return tenant
