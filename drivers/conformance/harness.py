"""Running one check: driver calls go through a `Probe` (a deadline, and the call's name on any
error); the outcome becomes a `CheckResult` whatever the check or the driver raised."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..errors import DriverError, Unsupported
from .report import CheckResult, CheckStatus

T = TypeVar("T")
MAX_PROBLEMS_SHOWN = 5


class CheckFailed(Exception):
    """The driver did something the interface does not allow; the message says what."""


class CheckSkipped(Exception):
    """The check cannot run (a missing prerequisite); the message says why."""


class CallError(Exception):
    """A driver call raised; `error` is what it raised, `call` names the call."""

    def __init__(self, call: str, error: BaseException) -> None:
        super().__init__(f"{call} raised {type(error).__name__}: {error}")
        self.call = call
        self.error = error

    @property
    def typed(self) -> bool:
        return isinstance(self.error, DriverError)


class Probe:
    """Calls the driver for a check. A call must end within the driver's own timeout (plus a
    grace for scheduling), since drivers promise to raise `DeviceTimeout` themselves."""

    def __init__(self, timeout_s: float) -> None:
        self.deadline_s = timeout_s * 1.2 + 1.0

    async def __call__(self, call: str, awaitable: Awaitable[T]) -> T:
        deadline = asyncio.timeout(self.deadline_s)
        try:
            async with deadline:
                return await awaitable
        except Exception as error:
            if deadline.expired():
                raise CheckFailed(
                    f"{call} did not return within {self.deadline_s:g} s; a driver must raise DeviceTimeout "
                    "within its configured timeout"
                ) from error
            raise CallError(call, error) from error


def fail_on(problems: list[str]) -> None:
    """Fail the check with the first few problems, if there are any."""
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        raise CheckFailed(shown + (f" (and {more} more)" if more > 0 else ""))


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


async def run_check(capability: str, check: Callable[[], Awaitable[str]], *, optional: bool = False) -> CheckResult:
    """Run `check`, which returns a success message; an optional capability the driver reports
    `Unsupported` is skipped, everything else that goes wrong fails it."""
    started = time.perf_counter()

    def result(status: CheckStatus, message: str) -> CheckResult:
        return CheckResult(capability, status, message, time.perf_counter() - started)

    try:
        return result(CheckStatus.PASSED, await check())
    except CheckSkipped as skipped:
        return result(CheckStatus.SKIPPED, str(skipped))
    except CheckFailed as failed:
        return result(CheckStatus.FAILED, str(failed))
    except CallError as error:
        if optional and isinstance(error.error, Unsupported):
            return result(CheckStatus.SKIPPED, f"not supported: {error}")
        if not error.typed:
            return result(CheckStatus.FAILED, f"{error} (drivers must raise only DriverError subclasses)")
        return result(CheckStatus.FAILED, str(error))
    except Exception as error:  # a bug in a check must still end in a report
        return result(CheckStatus.FAILED, f"the check crashed: {type(error).__name__}: {error}")


def skipped(capability: str, message: str) -> CheckResult:
    return CheckResult(capability, CheckStatus.SKIPPED, message)


def failed(capability: str, message: str) -> CheckResult:
    return CheckResult(capability, CheckStatus.FAILED, message)
