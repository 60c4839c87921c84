"""The driver error family. Every driver translates its protocol's failures into these, with
`raise ... from e`, so callers handle one vocabulary whatever the device speaks."""

from __future__ import annotations


class DriverError(Exception):
    """Base of the family. `device` names the address the driver was talking to."""

    retryable = False

    def __init__(self, message: str, *, device: str = "") -> None:
        super().__init__(f"{device}: {message}" if device else message)
        self.device = device
        self.reason = message


class DeviceUnreachable(DriverError):
    """No answer at the transport level (connection refused, no route, DNS)."""

    retryable = True


class DeviceTimeout(DriverError):
    """The device accepted the request but did not answer in time."""

    retryable = True


class AuthenticationFailed(DriverError):
    """The device refused the credentials (never includes them in the message)."""


class Unsupported(DriverError):
    """The device, or this driver, cannot do what was asked (a missing capability or table)."""


class ChangeRejected(DriverError):
    """The device refused a change (a SET error, an HTTP 4xx on a PATCH), or read-back disagrees."""


class MalformedResponse(DriverError):
    """The device answered something that is not what the protocol promises; `field` names where."""

    def __init__(self, message: str, *, field: str, device: str = "") -> None:
        super().__init__(f"{field}: {message}", device=device)
        self.field = field


class UnknownDriver(DriverError):
    """No installed driver has this name; the message lists the installed ones."""


class DriverNotValidated(DriverError):
    """The driver has not passed the conformance kit for this kind of device (see settings)."""


class DriverLoadFailed(DriverError):
    """An installed driver could not be loaded: its entry point failed to import, or names
    something that is not a driver class of the right kind. The message names the distribution."""
