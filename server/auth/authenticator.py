"""From an `Authorization` header to a principal: the bootstrap admin token, API tokens, OIDC JWTs.

The one place that decides who a request comes from. A request without credentials is anonymous
(None), except from the server's own machine when the provider allows loopback reads.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pydantic import SecretStr

from ..store.base import GraphStore
from .errors import AuthenticationError
from .oidc import OidcIdentity, looks_like_jwt
from .principal import AuthMethod, Principal, Role
from .tokens import looks_like_api_token
from .tokens import verify as verify_api_token

ADMIN = Principal(subject="admin", role=Role.PROVIDER_ADMIN, tenant=None, method=AuthMethod.ADMIN_TOKEN)
LOOPBACK = Principal(subject="loopback", role=Role.PROVIDER_VIEWER, tenant=None, method=AuthMethod.LOOPBACK)


class JwtVerifier(Protocol):
    async def identify(self, token: str) -> OidcIdentity: ...


@dataclass(frozen=True)
class Identity:
    principal: Principal | None
    """None for an anonymous caller."""
    expires_at: datetime | None = None
    """When the credentials lapse by themselves (an API token's expiry, a JWT's `exp`); None: never."""


class UnrecognisedCredentials(AuthenticationError):
    """The header carries something that is neither an API token nor a JWT we can verify."""


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Authenticator:
    def __init__(
        self, store: GraphStore, admin_token: SecretStr | None, oidc: JwtVerifier | None, loopback_reads: bool
    ) -> None:
        self.store = store
        self._admin = admin_token.get_secret_value().encode() if admin_token else None
        self.oidc = oidc
        self.loopback_reads = loopback_reads

    async def principal(self, authorization: str | None, client_host: str | None) -> Principal | None:
        """The caller; None for an anonymous one. `AuthenticationError` for credentials that fail."""
        return (await self.identify(authorization, client_host)).principal

    async def identify(self, authorization: str | None, client_host: str | None) -> Identity:
        """The caller and when its credentials expire; `AuthenticationError` for credentials that fail."""
        if not authorization:
            return Identity(LOOPBACK if self.loopback_reads and is_loopback(client_host) else None)
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnrecognisedCredentials("expected 'Authorization: Bearer <token>'")
        if self._admin is not None and hmac.compare_digest(token.encode(), self._admin):
            return Identity(ADMIN)
        if looks_like_api_token(token):
            return Identity(*await verify_api_token(self.store, token))
        if looks_like_jwt(token):
            if self.oidc is None:
                raise UnrecognisedCredentials("OIDC is not configured on this server")
            identity = await self.oidc.identify(token)
            return Identity(identity.principal, datetime.fromtimestamp(identity.expires_at, UTC))
        raise UnrecognisedCredentials("unknown kind of bearer token")
