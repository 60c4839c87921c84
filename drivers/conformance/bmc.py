"""The BMC checks. Read-only unless writes are allowed; then the boot override is set and read back,
and the node is powered off, on and cycled, ending in the power state it started in."""

from __future__ import annotations

import contextlib

from ..base import BmcDriver
from ..errors import MalformedResponse, Unsupported
from ..types import BootDevice, BootOverride, PowerAction, PowerState
from .harness import CallError, CheckFailed, Probe, fail_on, run_check, skipped
from .report import CheckResult
from .values import boot_problems, health_problems, inventory_problems

WRITE_CAPABILITIES = ("boot_device", "power_control")
NO_SUCH_JOB = "metalgraph-conformance-no-such-job"
POWER_STEPS = (
    (PowerAction.OFF, PowerState.OFF),
    (PowerAction.OFF, PowerState.OFF),
    (PowerAction.ON, PowerState.ON),
    (PowerAction.ON, PowerState.ON),
    (PowerAction.CYCLE, PowerState.ON),
)


class BmcSuite:
    """Checks one BMC driver instance; `run` returns one result per capability."""

    def __init__(self, driver: BmcDriver, *, allow_writes: bool) -> None:
        self.driver = driver
        self.probe = Probe(driver.config.timeout_s)
        self.allow_writes = allow_writes

    async def run(self) -> list[CheckResult]:
        results = [
            await run_check("power_state", self.check_power_state),
            await run_check("boot_override", self.check_boot_override),
            await run_check("inventory", self.check_inventory),
            await run_check("health", self.check_health),
            await run_check("errors", self.check_errors),
        ]
        if not self.allow_writes:
            return results + [
                skipped(cap, "read-only run (allow writes to check changes)") for cap in WRITE_CAPABILITIES
            ]
        # boot first: the power checks then boot the node once, which uses up the one-time override
        results.append(await run_check("boot_device", self.check_boot_device))
        results.append(await run_check("power_control", self.check_power_control))
        return results

    async def check_power_state(self) -> str:
        state = await self.probe("get_power_state", self.driver.get_power_state())
        if not isinstance(state, PowerState):
            raise CheckFailed(f"get_power_state returned {state!r}, not a PowerState")
        return f"power is {state}"

    async def check_boot_override(self) -> str:
        override = await self.probe("get_boot_override", self.driver.get_boot_override())
        fail_on(boot_problems(override))
        if override.device is None:
            return "no boot override set"
        return f"boot override {override.device} ({'persistent' if override.persistent else 'once'})"

    async def check_inventory(self) -> str:
        inventory = await self.probe("get_inventory", self.driver.get_inventory())
        fail_on(inventory_problems(inventory))
        return (
            f"{inventory.vendor or '?'} {inventory.model or '?'} serial {inventory.serial or '?'}: "
            f"{inventory.cpu_cores} cores, {inventory.memory_gb:g} GB, {len(inventory.gpus)} GPUs, "
            f"{len(inventory.nics)} NICs, {len(inventory.drives)} drives"
        )

    async def check_health(self) -> str:
        health = await self.probe("get_health", self.driver.get_health())
        fail_on(health_problems(health))
        return f"health {health.state}" + (f": {'; '.join(health.messages)}" if health.messages else "")

    async def check_errors(self) -> str:
        call = f"get_cleaning_job({NO_SUCH_JOB!r})"
        try:
            job = await self.probe(call, self.driver.get_cleaning_job(NO_SUCH_JOB))
        except CallError as error:
            if isinstance(error.error, MalformedResponse) and error.error.field == "job_id":
                return "an unknown cleaning job raises MalformedResponse (field 'job_id')"
            if isinstance(error.error, Unsupported):
                return "cleaning jobs are Unsupported"
            raise CheckFailed(f"{error}; an unknown job should raise MalformedResponse (field 'job_id')") from None
        raise CheckFailed(f"{call} returned {job!r} instead of raising MalformedResponse")

    async def check_boot_device(self) -> str:
        original = await self.probe("get_boot_override", self.driver.get_boot_override())
        fail_on(boot_problems(original))
        device = BootDevice.DISK if original.device is BootDevice.PXE else BootDevice.PXE
        await self._set_boot(BootOverride(device, persistent=False))
        if original.device is None:
            return f"{device} once set, read back, set again idempotently; no override was set before"
        await self._set_boot(original)
        return f"{device} once set, read back, set again idempotently; restored to {original.device}"

    async def _set_boot(self, wanted: BootOverride) -> None:
        assert wanted.device is not None
        for again in ("", " again"):
            call = f"set_boot_device({wanted.device}, persistent={wanted.persistent}){again}"
            await self.probe(call, self.driver.set_boot_device(wanted.device, persistent=wanted.persistent))
            seen = await self.probe("get_boot_override", self.driver.get_boot_override())
            if seen != wanted:
                raise CheckFailed(f"after {call} the boot override reads back as {seen}")

    async def check_power_control(self) -> str:
        original = await self.probe("get_power_state", self.driver.get_power_state())
        steps = [*POWER_STEPS, (PowerAction.OFF, PowerState.OFF)] if original is PowerState.OFF else POWER_STEPS
        try:
            for action, expected in steps:
                call = f"set_power_state({action})"
                await self.probe(call, self.driver.set_power_state(action))
                seen = await self.probe("get_power_state", self.driver.get_power_state())
                if seen is not expected:
                    raise CheckFailed(f"after {call} power reads {seen}, expected {expected}")
        except (CallError, CheckFailed):
            with contextlib.suppress(Exception):  # best effort: leave the node as it was found
                await self.probe("restore power", self.driver.set_power_state(PowerAction(original.value)))
            raise
        return f"off, on and cycle applied and read back, repeats idempotent; ends {original} as it started"
