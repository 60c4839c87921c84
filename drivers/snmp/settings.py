"""How to reach one agent, parsed from a `DeviceConfig`.

Address: `udp:HOST:PORT`, `HOST:PORT`, `HOST` (port 161), `udp6:[ADDR]:PORT` or `[ADDR]:PORT`.
Options: `version` ("2c" or "3"; default "3" when a `username` credential is set), `context` (the
SNMPv3 context name, default empty), `auth_protocol` (md5, sha, sha224, sha256, sha384, sha512;
default sha), `priv_protocol` (des, 3des, aes/aes128, aes192, aes256, aes192c, aes256c; default
aes), `retries` (default 1), `request_timeout_s` (one attempt; default splits `timeout_s` over the
attempts, at most 2 s), `max_repetitions` (GETBULK, default 40 var-binds per response).
Credentials: `community` (v2c); `username`, `auth_key`, `priv_key` (v3; no auth_key gives
noAuthNoPriv, no priv_key authNoPriv).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import auth as usm
from pysnmp.hlapi.v3arch.asyncio.auth import CommunityData, UsmUserData

from ..errors import Unsupported
from ..types import DeviceConfig

AUTH_PROTOCOLS = {
    "none": usm.USM_AUTH_NONE,
    "md5": usm.USM_AUTH_HMAC96_MD5,
    "sha": usm.USM_AUTH_HMAC96_SHA,
    "sha1": usm.USM_AUTH_HMAC96_SHA,
    "sha224": usm.USM_AUTH_HMAC128_SHA224,
    "sha256": usm.USM_AUTH_HMAC192_SHA256,
    "sha384": usm.USM_AUTH_HMAC256_SHA384,
    "sha512": usm.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "none": usm.USM_PRIV_NONE,
    "des": usm.USM_PRIV_CBC56_DES,
    "3des": usm.USM_PRIV_CBC168_3DES,
    "aes": usm.USM_PRIV_CFB128_AES,
    "aes128": usm.USM_PRIV_CFB128_AES,
    "aes192": usm.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "aes256": usm.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "aes192c": usm.USM_PRIV_CFB192_AES,
    "aes256c": usm.USM_PRIV_CFB256_AES,
}
_ADDRESS = re.compile(r"(?:(?P<scheme>udp6?):)?(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]+))(?::(?P<port>\d+))?")


@dataclass(frozen=True)
class SessionSettings:
    host: str
    port: int
    ipv6: bool
    version: str
    auth: CommunityData | UsmUserData
    context: str
    request_timeout_s: float
    retries: int
    max_repetitions: int
    engine_identity: str
    """Which shared pysnmp engine serves this session (see `engines`); a digest, not a secret."""

    def __repr__(self) -> str:  # the auth data holds secrets
        return f"SessionSettings({self.host}:{self.port}, v{self.version}, context={self.context!r})"


def parse_settings(config: DeviceConfig) -> SessionSettings:
    """Settings for `config`; `Unsupported` for an address, version or protocol this driver lacks,
    `AuthenticationFailed` when a needed credential is missing."""
    match = _ADDRESS.fullmatch(config.address.strip())
    if match is None:
        raise Unsupported(f"not an SNMP agent address: {config.address!r}", device=config.address)
    host = match["v6"] or match["host"]
    ipv6 = match["scheme"] == "udp6" or match["v6"] is not None
    port = int(match["port"] or 161)
    options = config.options
    creds = config.credentials
    version = str(options.get("version") or ("3" if creds.get("username") else "2c")).lower().lstrip("v")
    if version in ("2", "2c"):
        auth: CommunityData | UsmUserData = CommunityData(creds.require("community"), mpModel=1)
        version, identity = "2c", "v2c"
    elif version == "3":
        auth = _usm(config)
        identity = _usm_identity(auth)
    else:
        raise Unsupported(f"SNMP version {version!r} (use '2c' or '3')", device=config.address)
    try:
        retries = max(0, int(_option(options, "retries", 1)))
        request_timeout_s = float(_option(options, "request_timeout_s", min(2.0, config.timeout_s / (retries + 1))))
        max_repetitions = int(_option(options, "max_repetitions", 40))
    except (TypeError, ValueError) as e:
        raise Unsupported(f"bad SNMP option: {e}", device=config.address) from e
    return SessionSettings(
        host=host,
        port=port,
        ipv6=ipv6,
        version=version,
        auth=auth,
        context=str(options.get("context", "")),
        request_timeout_s=max(0.1, request_timeout_s),
        retries=retries,
        max_repetitions=max(1, max_repetitions),
        engine_identity=identity,
    )


def _usm(config: DeviceConfig) -> UsmUserData:
    creds, options = config.credentials, config.options
    username = creds.require("username")
    auth_key, priv_key = creds.get("auth_key"), creds.get("priv_key")
    auth_name = str(options.get("auth_protocol", "sha" if auth_key else "none")).lower()
    priv_name = str(options.get("priv_protocol", "aes" if priv_key else "none")).lower()
    if auth_name not in AUTH_PROTOCOLS:
        raise Unsupported(f"auth_protocol {auth_name!r}; known: {', '.join(AUTH_PROTOCOLS)}", device=config.address)
    if priv_name not in PRIV_PROTOCOLS:
        raise Unsupported(f"priv_protocol {priv_name!r}; known: {', '.join(PRIV_PROTOCOLS)}", device=config.address)
    if auth_name != "none":
        auth_key = creds.require("auth_key")
    if priv_name != "none":
        priv_key = creds.require("priv_key")
    return UsmUserData(
        username,
        authKey=auth_key if auth_name != "none" else None,
        privKey=priv_key if priv_name != "none" else None,
        authProtocol=AUTH_PROTOCOLS[auth_name],
        privProtocol=PRIV_PROTOCOLS[priv_name],
    )


def _usm_identity(auth: UsmUserData) -> str:
    """A digest of the USM user and keys: sessions with equal ones may share a pysnmp engine."""
    keys = (auth.authentication_protocol, auth.authentication_key, auth.privacy_protocol, auth.privacy_key)
    return "v3:" + hashlib.sha256(repr((auth.userName, *keys)).encode()).hexdigest()


def _option(options: Any, name: str, default: float) -> Any:
    value = options.get(name)
    return default if value is None else value
