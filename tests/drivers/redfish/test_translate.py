"""sushy's and requests' exceptions map onto the driver error family."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sushy import exceptions as sx  # type: ignore[import-untyped]

from metalgraph.drivers.errors import (
    AuthenticationFailed,
    ChangeRejected,
    DeviceTimeout,
    DeviceUnreachable,
    DriverError,
    MalformedResponse,
    Unsupported,
)
from metalgraph.drivers.redfish.translate import translate

DEVICE = "https://10.0.0.5"


class Response:
    def __init__(self, status: int, message: str = "refused") -> None:
        self.status_code = status
        self._body = {"error": {"code": "Base.1.8.GeneralError", "message": message}}

    def json(self) -> dict[str, Any]:
        return self._body


def http(status: int, method: str = "GET", message: str = "refused") -> sx.HTTPError:
    try:
        sx.raise_for_response(method, f"{DEVICE}/redfish/v1/Systems/1", Response(status, message))
    except sx.HTTPError as error:
        return error
    raise AssertionError("no error raised")


def connection_error(cause: Exception) -> sx.ConnectionError:
    try:
        try:
            raise cause
        except Exception as error:
            raise sx.ConnectionError(url=f"{DEVICE}/redfish/v1/", error=error)  # noqa: B904 - as sushy does
    except sx.ConnectionError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("error", "method", "kind"),
    [
        (http(401), "GET", AuthenticationFailed),
        (http(403, "POST"), "POST", AuthenticationFailed),
        (http(400, "PATCH", "PropertyValueNotInList"), "PATCH", ChangeRejected),
        (http(409, "POST"), "POST", ChangeRejected),
        (http(500, "POST"), "POST", ChangeRejected),
        (http(405, "PATCH"), "PATCH", Unsupported),
        (http(501, "POST"), "POST", Unsupported),
        (http(404), "GET", MalformedResponse),
        (http(400), "GET", MalformedResponse),
        (http(503), "GET", DeviceUnreachable),
        (connection_error(requests.exceptions.ConnectionError("refused")), "GET", DeviceUnreachable),
        (connection_error(requests.exceptions.ConnectTimeout("no route")), "GET", DeviceUnreachable),
        (connection_error(requests.exceptions.ReadTimeout("slow")), "GET", DeviceTimeout),
        (connection_error(requests.exceptions.SSLError("certificate verify failed")), "GET", DeviceUnreachable),
        (sx.MissingActionError(action="#ComputerSystem.Reset", resource="/redfish/v1/Systems/1"), "POST", Unsupported),
        (sx.InvalidParameterValueError(parameter="value", value="Nmi", valid_values="On"), "POST", Unsupported),
        (requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0), "GET", MalformedResponse),
        (AttributeError("'str' object has no attribute 'get'"), "GET", MalformedResponse),
    ],
)
def test_translation(error: Exception, method: str, kind: type[DriverError]) -> None:
    translated = translate(error, device=DEVICE, method=method, path="/redfish/v1/Systems/1")
    assert type(translated) is kind and translated.device == DEVICE


def test_rejection_carries_the_bmc_message() -> None:
    translated = translate(
        http(400, "PATCH", "The value Usb is not in the list"), device=DEVICE, method="PATCH", path="/x"
    )
    assert "Usb is not in the list" in str(translated)


def test_sushy_attribute_errors_name_the_field() -> None:
    missing = sx.MissingAttributeError(attribute="Id", resource="/redfish/v1/Systems/1")
    malformed = sx.MalformedAttributeError(
        attribute="ProcessorSummary/Count", resource="/redfish/v1/Systems/1", error="bad"
    )
    for error, field in [(missing, "Systems/1/Id"), (malformed, "Systems/1/ProcessorSummary/Count")]:
        translated = translate(error, device=DEVICE, method="GET", path="/redfish/v1/Systems/1")
        assert isinstance(translated, MalformedResponse) and translated.field == field
