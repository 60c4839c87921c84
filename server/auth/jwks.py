"""The identity provider's signing keys (a JWKS), fetched from a URL or a file and cached.

Keys are trusted for `cache_s`. A token naming an unknown key id triggers a refetch (Keycloak
rotates keys by publishing the new one first), but at most once per `refetch_s`, so a stream of
tokens with invented key ids cannot turn metalgraph into a load generator against Keycloak. A
failed fetch raises `JwksUnavailable` when there are no keys to fall back on; otherwise the
previous keys stay in use and the failure is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiohttp
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from .errors import AuthenticationError
from .oidc_config import OidcConfig

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 1_000_000
"""A JWKS is a few kilobytes; anything near this is not one."""

_CURVE_ALGORITHMS = {"P-256": {"ES256"}, "P-384": {"ES384"}, "P-521": {"ES512"}, "Ed25519": {"EdDSA"}}
_RSA_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

KeyTable = Mapping[str, Mapping[str, PyJWK]]
"""Key id -> algorithm -> a key bound to that algorithm."""


class JwksUnavailable(AuthenticationError):
    """The signing keys could not be fetched, so no token can be checked (answer 503, not 401)."""


def _algorithms_for(jwk: Mapping[str, Any], allowed: frozenset[str]) -> set[str]:
    """The allowed algorithms this public signing key can verify: those of its type, narrowed by its `alg`."""
    if jwk.get("use", "sig") != "sig" or "d" in jwk:
        return set()  # encryption keys (Keycloak publishes RSA-OAEP ones) and private keys never verify
    if jwk.get("kty") == "RSA":
        candidates = set(_RSA_ALGORITHMS)
    elif jwk.get("kty") in ("EC", "OKP"):
        candidates = set(_CURVE_ALGORITHMS.get(str(jwk.get("crv")), ()))
    else:
        candidates = set()  # "oct" (shared secrets) and unknown types
    if "alg" in jwk:
        candidates &= {jwk["alg"]}
    return candidates & allowed


def parse_jwks(data: Any, allowed: frozenset[str]) -> dict[str, dict[str, PyJWK]]:
    """The usable signing keys of a JWKS document, by key id and algorithm.

    Keys without a `kid` are skipped. Encryption keys, symmetric keys, keys of algorithms not in
    `allowed` and keys PyJWT cannot load are listed with no algorithm, so a token naming them is
    refused for its algorithm rather than for an unknown key. Raises `ValueError` when `data` is
    not a JWKS at all.
    """
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("not a JWKS: expected an object with a 'keys' list")
    table: dict[str, dict[str, PyJWK]] = {}
    for index, jwk in enumerate(data["keys"]):
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            log.debug("JWKS key %d skipped: no kid", index)
            continue
        entry = table.setdefault(jwk["kid"], {})
        for alg in sorted(_algorithms_for(jwk, allowed)):
            try:
                entry[alg] = PyJWK(jwk, algorithm=alg)
            except PyJWTError:
                log.warning("JWKS key %r cannot be loaded for %s; skipped", jwk["kid"], alg)
    return table


class JwksCache:
    """Signing keys from `url` or `file`, cached; see the module docstring for the refetch rules."""

    def __init__(
        self,
        *,
        url: str | None = None,
        file: Path | None = None,
        algorithms: frozenset[str] | set[str] | list[str],
        cache_s: float = 300.0,
        refetch_s: float = 10.0,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (url is None) == (file is None):
            raise ValueError("give exactly one of url and file")
        self._url = url
        self._file = file
        self._algorithms = frozenset(algorithms)
        self._cache_s = cache_s
        self._refetch_s = refetch_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._keys: KeyTable | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._last_error = "not fetched yet"
        self._lock = asyncio.Lock()
        self.fetches = 0
        """Fetch attempts so far, successful or not (for tests and metrics)."""

    @classmethod
    def from_config(cls, config: OidcConfig, *, clock: Callable[[], float] = time.monotonic) -> JwksCache:
        """The cache an `OidcConfig` describes."""
        return cls(
            url=config.jwks_url,
            file=config.jwks_file,
            algorithms=config.algorithms,
            cache_s=config.jwks_cache_s,
            refetch_s=config.jwks_refetch_s,
            timeout_s=config.jwks_timeout_s,
            clock=clock,
        )

    @property
    def source(self) -> str:
        """Where the keys come from (for messages and logs)."""
        return self._url if self._url is not None else str(self._file)

    async def keys_for(self, kid: str) -> Mapping[str, PyJWK] | None:
        """The keys with id `kid`, by algorithm; None when the provider does not publish that id.

        Raises `JwksUnavailable` when the keys cannot be fetched and none are cached.
        """
        keys = self._keys
        if keys is not None and kid in keys and not self._stale():
            return keys[kid]
        async with self._lock:
            if self._keys is None or self._stale():
                await self._refresh(must_succeed=self._keys is None)
            assert self._keys is not None
            if kid not in self._keys and self._may_fetch():
                await self._refresh(must_succeed=True)
            return self._keys.get(kid)

    async def refresh(self) -> None:
        """Fetch the keys now, ignoring the cache and the refetch limit; raises `JwksUnavailable`."""
        async with self._lock:
            self._attempted_at = None
            await self._refresh(must_succeed=True)

    def _stale(self) -> bool:
        return self._clock() - self._fetched_at >= self._cache_s

    def _may_fetch(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._refetch_s

    async def _refresh(self, *, must_succeed: bool) -> None:
        if not self._may_fetch():
            if must_succeed:
                raise JwksUnavailable(f"signing keys unavailable from {self.source}: {self._last_error}")
            return
        self._attempted_at = self._clock()
        self.fetches += 1
        try:
            data = await (self._fetch_url(self._url) if self._url is not None else self._read_file())
            keys = parse_jwks(data, self._algorithms)
        except (OSError, aiohttp.ClientError, TimeoutError, ValueError) as e:
            self._last_error = f"{type(e).__name__}: {e}"
            if must_succeed or self._keys is None:
                raise JwksUnavailable(f"signing keys unavailable from {self.source}: {self._last_error}") from e
            log.warning("JWKS refresh from %s failed (%s); keeping the previous keys", self.source, self._last_error)
            return
        self._keys = MappingProxyType(keys)
        self._fetched_at = self._clock()
        log.info("JWKS from %s: %d signing key(s)", self.source, len(keys))

    async def _fetch_url(self, url: str) -> Any:
        timeout = aiohttp.ClientTimeout(total=self._timeout_s)
        body = bytearray()
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            async for chunk in response.content.iter_chunked(65536):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("JWKS too large")
        return json.loads(body)

    async def _read_file(self) -> Any:
        assert self._file is not None
        body = await asyncio.to_thread(self._file.read_bytes)
        return json.loads(body)
