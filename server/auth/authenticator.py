"""From an `Authorization` header to a principal: the bootstrap admin token, API tokens, OIDC JWTs.

The one place that decides who a request comes from. A request without credentials is anonymous
(None), except from the server's own machine when the provider allows loopback reads.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Protocol

from pydantic import SecretStr

from ..store.base import GraphStore
from .errors import AuthenticationError
from .oidc import looks_like_jwt
from .principal import AuthMethod, Principal, Role
from .tokens import authenticate as authenticate_api_token
from .tokens import looks_like_api_token

ADMIN = Principal(subject="admin", role=Role.PROVIDER_ADMIN, tenant=None, method=AuthMethod.ADMIN_TOKEN)
LOOPBACK = Principal(subject="loopback", role=Role.PROVIDER_VIEWER, tenant=None, method=AuthMethod.LOOPBACK)


class JwtVerifier(Protocol):
    async def verify(self, token: str) -> Principal: ...


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
        if not authorization:
            return LOOPBACK if self.loopback_reads and is_loopback(client_host) else None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnrecognisedCredentials("expected 'Authorization: Bearer <token>'")
        if self._admin is not None and hmac.compare_digest(token.encode(), self._admin):
            return ADMIN
        if looks_like_api_token(token):
            return await authenticate_api_token(self.store, token)
        if looks_like_jwt(token):
            if self.oidc is None:
                raise UnrecognisedCredentials("OIDC is not configured on this server")
            return await self.oidc.verify(token)
        raise UnrecognisedCredentials("unknown kind of bearer token")
