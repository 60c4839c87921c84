"""Translate sushy's and requests' exceptions into the driver error family (`raise ... from e`).

| raised by sushy / requests                         | becomes                                          |
|----------------------------------------------------|--------------------------------------------------|
| connection refused, DNS, TLS, connect timeout      | `DeviceUnreachable`                              |
| read timeout                                       | `DeviceTimeout`                                  |
| HTTP 401 / 403                                     | `AuthenticationFailed`                           |
| HTTP 405 / 501, missing action, value not allowed  | `Unsupported`                                    |
| other 4xx/5xx on POST/PATCH/DELETE                 | `ChangeRejected` (with the BMC's message)        |
| HTTP 5xx on GET                                    | `DeviceUnreachable` (retryable: the service is   |
|                                                    | up but failing, often while the BMC restarts)    |
| other 4xx on GET, a body that is not JSON,         | `MalformedResponse` naming the resource path or  |
| sushy's missing/malformed attribute errors         | the attribute path sushy reports                 |

Messages carry the URL path and the BMC's error text, never credentials (sushy's own messages carry
neither the Authorization header nor the session token).
"""

from __future__ import annotations

import re

import requests
from sushy import exceptions as sx  # type: ignore[import-untyped]

from ..errors import (
    AuthenticationFailed,
    ChangeRejected,
    DeviceTimeout,
    DeviceUnreachable,
    DriverError,
    MalformedResponse,
    Unsupported,
)
from .doc import relative

_ATTRIBUTE = re.compile(
    r"The attribute (?P<attribute>\S+) is (?:missing from|malformed in) the resource (?P<resource>\S+?):?(?:\s|$)"
)

PARSE_ERRORS = (AttributeError, KeyError, IndexError, TypeError, ValueError)
"""What sushy's field parsing lets escape on a document of the wrong shape (a list where an object
belongs, ...). Only sushy calls are wrapped with these, never this package's own parsing."""


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _detail(error: sx.HTTPError) -> str:
    detail = error.detail or ""
    return f"HTTP {error.status_code}{': ' + detail if detail else ''}"


def translate(error: BaseException, *, device: str, method: str, path: str) -> DriverError:
    """The driver error for `error`, raised while doing `method` on `path` (a URI or a field)."""
    where = relative(path) or "ServiceRoot"
    if isinstance(error, DriverError):
        return error
    if isinstance(error, sx.AccessError):
        return AuthenticationFailed(f"the BMC refused the credentials (HTTP {error.status_code})", device=device)
    if isinstance(error, sx.HTTPError):
        return _http(error, device=device, method=method, where=where)
    if isinstance(error, sx.ConnectionError):
        causes = _chain(error)
        if any(isinstance(c, requests.exceptions.ReadTimeout) for c in causes):
            return DeviceTimeout(f"no answer to {method} {where} in time", device=device)
        reason = next((type(c).__name__ for c in causes[1:]), "connection error")
        return DeviceUnreachable(f"cannot reach the Redfish service ({reason})", device=device)
    if isinstance(error, sx.MissingActionError | sx.InvalidParameterValueError):
        return Unsupported(error.message or str(error), device=device)
    if isinstance(error, sx.MissingAttributeError | sx.MalformedAttributeError):
        match = _ATTRIBUTE.search(str(error))
        if match:
            field = "/".join(p for p in (relative(match["resource"]), match["attribute"].strip("/")) if p)
            problem = "missing" if isinstance(error, sx.MissingAttributeError) else "malformed"
            return MalformedResponse(f"{problem} ({error})", field=field, device=device)
        return MalformedResponse(str(error), field=where, device=device)
    if isinstance(error, requests.exceptions.JSONDecodeError):
        return MalformedResponse("the body is not valid JSON", field=where, device=device)
    if isinstance(error, (sx.SushyError, *PARSE_ERRORS)):
        return MalformedResponse(
            f"unexpected document shape ({type(error).__name__}: {error})", field=where, device=device
        )
    return DeviceUnreachable(f"{type(error).__name__} while talking to the BMC", device=device)


def _http(error: sx.HTTPError, *, device: str, method: str, where: str) -> DriverError:
    status = error.status_code or 0
    detail = _detail(error)
    if status in (405, 501):
        return Unsupported(f"{method} {where} is not supported ({detail})", device=device)
    if method != "GET":
        return ChangeRejected(f"{method} {where} refused ({detail})", device=device)
    if status >= 500:
        return DeviceUnreachable(f"GET {where} failed on the BMC ({detail})", device=device)
    if status == 404:
        return MalformedResponse(f"resource not found ({detail})", field=where, device=device)
    return MalformedResponse(f"GET refused ({detail})", field=where, device=device)
