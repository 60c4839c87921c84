"""Entry points of the kit: `validate` loads a driver by name and checks it against a device;
`check_driver` checks a driver instance (for a driver package's own tests)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

from ..base import BmcDriver, Driver, SwitchDriver
from ..errors import DriverError
from ..registry import DriverKind, open_driver
from ..types import DeviceConfig
from .bmc import BmcSuite
from .harness import CheckFailed, failed, run_check
from .report import ConformanceReport
from .switch import SwitchSuite

_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@")


async def validate(
    kind: DriverKind,
    driver_name: str,
    config: DeviceConfig,
    *,
    allow_writes: bool = False,
    test_port: str | None = None,
    test_vlans: Sequence[int] | None = None,
) -> ConformanceReport:
    """Load the `kind` driver registered as `driver_name`, open it on `config` and run the kit.

    Never raises for a driver's or a device's failure: a driver that cannot be loaded or created
    gives a report with a failed `driver` check. `test_port` (switches, with `allow_writes`) is the
    port whose VLANs may be changed; `test_vlans` the VLAN ids to use there (default 3001..3099).
    """
    target = public_target(config.address)
    try:
        driver = open_driver(kind, driver_name, config)
    except DriverError as error:
        return ConformanceReport(driver_name, kind, target, (failed("driver", str(error)),), allow_writes, test_port)
    except Exception as error:  # a constructor may fail with anything
        message = f"creating the driver raised {type(error).__name__}: {error}"
        return ConformanceReport(driver_name, kind, target, (failed("driver", message),), allow_writes, test_port)
    try:
        return await check_driver(
            driver, name=driver_name, allow_writes=allow_writes, test_port=test_port, test_vlans=test_vlans
        )
    finally:
        with contextlib.suppress(Exception):  # the `close` check has reported it already
            await driver.close()


async def check_driver(
    driver: Driver,
    *,
    name: str | None = None,
    allow_writes: bool = False,
    test_port: str | None = None,
    test_vlans: Sequence[int] | None = None,
) -> ConformanceReport:
    """Run the kit against a driver instance (`name`: the entry-point name it is registered as,
    by default its `name` attribute). Closes the driver at the end, as the `close` check."""
    name = name or driver.name
    if isinstance(driver, SwitchDriver):
        kind = "switch"
        suite_results = SwitchSuite(driver, allow_writes=allow_writes, test_port=test_port, test_vlans=test_vlans).run
    elif isinstance(driver, BmcDriver):
        kind = "bmc"
        suite_results = BmcSuite(driver, allow_writes=allow_writes).run
    else:
        raise TypeError(f"{type(driver).__name__} is neither a BmcDriver nor a SwitchDriver")

    async def identity() -> str:
        cls = type(driver)
        if driver.name != name:
            raise CheckFailed(f"{cls.__qualname__}.name is {driver.name!r} but the driver is registered as {name!r}")
        return f"{cls.__module__}.{cls.__qualname__} registered as '{name}'"

    async def close_twice() -> str:
        try:
            await driver.close()
            await driver.close()
        except Exception as error:
            raise CheckFailed(f"close() raised {type(error).__name__}: {error}; it must be idempotent") from error
        return "close() is idempotent"

    results = [await run_check("driver", identity), *await suite_results(), await run_check("close", close_twice)]
    return ConformanceReport(name, kind, public_target(driver.address), tuple(results), allow_writes, test_port)


def public_target(address: str) -> str:
    """The address without any `user:password@` part, for reports."""
    return _USERINFO.sub(r"\1", address)
