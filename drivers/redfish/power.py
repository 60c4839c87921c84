"""Power and boot override through sushy's `System` resource (its reset action, allowed values,
`@Redfish.Settings` handling and vendor quirks), with read-back by polling the system document.

Setters poll until the BMC reports the requested state; when `deadline` comes first the state "did not
follow" and `ChangeRejected` is raised (an HTTP request that hangs is `DeviceTimeout`, from the caller's
`asyncio.timeout`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sushy import BootSource, BootSourceOverrideEnabled, ResetType  # type: ignore[import-untyped]

from ..errors import ChangeRejected, MalformedResponse, Unsupported
from ..types import BootDevice, BootOverride, PowerAction, PowerState
from .client import RedfishClient
from .doc import Doc, relative

R = TypeVar("R")

POWER_READS = {
    "On": PowerState.ON,
    "PoweringOn": PowerState.ON,
    "Paused": PowerState.ON,
    "Off": PowerState.OFF,
    "PoweringOff": PowerState.OFF,
}
"""Redfish `PowerState` -> ours; a transition reads as the state it is heading to (as Ironic does)."""

BOOT_TARGETS = {
    BootDevice.PXE: BootSource.PXE,
    BootDevice.DISK: BootSource.HDD,
    BootDevice.CD: BootSource.CD,
    BootDevice.USB: BootSource.USB,
    BootDevice.BIOS: BootSource.BIOS_SETUP,
}
BOOT_READS = {source.value: device for device, source in BOOT_TARGETS.items()} | {"UsbCd": BootDevice.CD}
"""`UsbCd`: Supermicro's virtual media CD, which sushy selects when asked for `Cd` on those boards."""


def power_value(doc: Doc) -> str:
    """The system's `PowerState`, validated."""
    value = doc.text("PowerState", required=True)
    if value not in POWER_READS:
        raise doc.error(f"unknown power state {value!r}", "PowerState")
    return value


def boot_override(doc: Doc) -> BootOverride:
    """The boot source override of a system (or settings) document."""
    boot = doc.obj("Boot")
    if boot is None:
        return BootOverride(None)
    enabled = boot.text("BootSourceOverrideEnabled")
    target = boot.text("BootSourceOverrideTarget")
    if enabled == "Disabled" or target in ("", "None"):
        return BootOverride(None)
    if enabled not in ("Once", "Continuous"):
        raise boot.error(
            f"expected Once, Continuous or Disabled, got {enabled or 'nothing'}", "BootSourceOverrideEnabled"
        )
    device = BOOT_READS.get(target)
    if device is None:
        raise Unsupported(f"boot override target {target!r} has no BootDevice equivalent", device=doc.device)
    return BootOverride(device, persistent=enabled == "Continuous")


async def poll(read: Callable[[], Awaitable[R]], done: Callable[[R], bool], deadline: float, interval: float) -> R:
    """`read()` every `interval` s until `done(value)`; the last value when the next read would not
    finish before `deadline` (judged by how long the last read took), so that the caller can report
    "did not follow" rather than run into the timeout."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        value = await read()
        if done(value):
            return value
        spent = loop.time() - started
        if loop.time() + interval + 2 * spent + 0.05 >= deadline:
            return value
        await asyncio.sleep(interval)


@dataclass
class PowerControl:
    """Power and boot of one system. `deadline` values are `loop.time()` instants."""

    client: RedfishClient
    system_path: str
    poll_interval: float

    async def _doc(self) -> Doc:
        return await self.client.get(self.system_path)

    async def get_power_state(self) -> PowerState:
        return POWER_READS[power_value(await self._doc())]

    async def set_power_state(self, action: PowerAction, deadline: float) -> None:
        system = await self.client.system(self.system_path)
        state = power_value(Doc(system.json, relative(self.system_path), device=self.client.device))
        if action is PowerAction.ON and state in ("On", "PoweringOn"):
            return await self._wait_power("On", action, deadline)
        if action in (PowerAction.OFF, PowerAction.SOFT_OFF) and state in ("Off", "PoweringOff"):
            return await self._wait_power("Off", action, deadline)
        allowed = await self.client.run(system.get_allowed_reset_system_values, path=self.system_path)

        def pick(*choices: ResetType) -> ResetType:
            for choice in choices:
                if choice in allowed:
                    return choice
            names = ", ".join(choice.value for choice in choices)
            raise Unsupported(f"ComputerSystem.Reset offers none of {names}", device=self.client.device)

        async def reset(kind: ResetType) -> None:
            target = f"{self.system_path.rstrip('/')}/Actions/ComputerSystem.Reset"
            await self.client.run(system.reset_system, kind, method="POST", path=target)

        if action is PowerAction.ON or (action is PowerAction.CYCLE and POWER_READS[state] is PowerState.OFF):
            await reset(pick(ResetType.ON, ResetType.FORCE_ON))
            return await self._wait_power("On", action, deadline)
        if action is PowerAction.OFF:
            await reset(pick(ResetType.FORCE_OFF))
            return await self._wait_power("Off", action, deadline)
        if action is PowerAction.SOFT_OFF:
            await reset(pick(ResetType.GRACEFUL_SHUTDOWN))
            return await self._wait_power("Off", action, deadline)
        if ResetType.FORCE_RESTART in allowed or ResetType.POWER_CYCLE in allowed:
            await reset(pick(ResetType.FORCE_RESTART, ResetType.POWER_CYCLE))
            return await self._wait_power("On", action, deadline)
        await reset(pick(ResetType.FORCE_OFF))
        await self._wait_power("Off", action, deadline)
        await reset(pick(ResetType.ON, ResetType.FORCE_ON))
        await self._wait_power("On", action, deadline)

    async def _wait_power(self, wanted: str, action: PowerAction, deadline: float) -> None:
        doc = await poll(self._doc, lambda doc: power_value(doc) == wanted, deadline, self.poll_interval)
        state = power_value(doc)
        if state != wanted:
            raise ChangeRejected(
                f"{action}: the power state is still {state!r}, not {wanted!r}", device=self.client.device
            )

    async def get_boot_override(self) -> BootOverride:
        return boot_override(await self._doc())

    async def set_boot_device(self, device: BootDevice, persistent: bool, deadline: float) -> None:
        wanted = BootOverride(device, persistent)
        system = await self.client.system(self.system_path)
        doc = Doc(system.json, relative(self.system_path), device=self.client.device)
        if await self._reads_back(doc, wanted):
            return
        target = BOOT_TARGETS[device]
        allowed = doc.texts("Boot", "BootSourceOverrideTarget@Redfish.AllowableValues")
        if allowed and target.value not in allowed and not (device is BootDevice.CD and "UsbCd" in allowed):
            raise Unsupported(
                f"boot device {target.value} is not offered (offered: {', '.join(allowed)})", device=doc.device
            )
        enabled = BootSourceOverrideEnabled.CONTINUOUS if persistent else BootSourceOverrideEnabled.ONCE
        await self.client.run(
            system.set_system_boot_options, target=target, enabled=enabled, method="PATCH", path=self.system_path
        )
        matched = False

        async def read() -> Doc:
            nonlocal matched
            doc = await self._doc()
            matched = await self._reads_back(doc, wanted)
            return doc

        doc = await poll(read, lambda _: matched, deadline, self.poll_interval)
        if not matched:
            raise ChangeRejected(
                f"boot override set to {device} ({'continuous' if persistent else 'once'}) but the BMC reads back "
                f"{self._describe(doc)}",
                device=doc.device,
            )

    async def _reads_back(self, doc: Doc, wanted: BootOverride) -> bool:
        """The override in the system document, or pending in its `@Redfish.Settings` object."""
        for source in (doc, await self.client.get_optional(doc.link("@Redfish.Settings", "SettingsObject"))):
            if source is None:
                continue
            try:
                if boot_override(source) == wanted:
                    return True
            except (Unsupported, MalformedResponse):  # an override we cannot read is not the one we want
                continue
        return False

    @staticmethod
    def _describe(doc: Doc) -> str:
        boot = doc.obj("Boot")
        if boot is None:
            return "no Boot object"
        return (
            f"{boot.text('BootSourceOverrideTarget') or 'None'} ({boot.text('BootSourceOverrideEnabled') or 'unset'})"
        )
