"""RedfishBmc against the sushy-tools emulator (fake system driver, basic auth), end to end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from metalgraph.drivers.errors import (
    AuthenticationFailed,
    ChangeRejected,
    DeviceUnreachable,
    MalformedResponse,
    Unsupported,
)
from metalgraph.drivers.redfish import RedfishBmc
from metalgraph.drivers.types import (
    BootDevice,
    BootOverride,
    Credentials,
    DeviceConfig,
    DriveInfo,
    HealthState,
    NicPortInfo,
    PowerAction,
    PowerState,
)

pytestmark = pytest.mark.slow
Make = Callable[..., Any]


async def test_power_on_off_and_read_back(emulator: Any, make_driver: Make) -> None:
    async with make_driver(emulator.url) as bmc:
        await bmc.set_power_state(PowerAction.ON)
        assert await bmc.get_power_state() is PowerState.ON
        await bmc.set_power_state(PowerAction.ON)  # idempotent
        assert await bmc.get_power_state() is PowerState.ON
        await bmc.set_power_state(PowerAction.OFF)
        assert await bmc.get_power_state() is PowerState.OFF
        await bmc.set_power_state(PowerAction.SOFT_OFF)  # already off: nothing to do
        assert await bmc.get_power_state() is PowerState.OFF


async def test_soft_off_from_on(emulator: Any, make_driver: Make) -> None:
    async with make_driver(emulator.url) as bmc:
        await bmc.set_power_state(PowerAction.ON)
        await bmc.set_power_state(PowerAction.SOFT_OFF)
        assert await bmc.get_power_state() is PowerState.OFF


async def test_cycle_ends_on_from_on_and_from_off(emulator: Any, make_driver: Make) -> None:
    async with make_driver(emulator.url) as bmc:
        await bmc.set_power_state(PowerAction.ON)
        await bmc.set_power_state(PowerAction.CYCLE)  # ForceRestart: the fake shows Off, then On
        assert await bmc.get_power_state() is PowerState.ON
        await bmc.set_power_state(PowerAction.OFF)
        await bmc.set_power_state(PowerAction.CYCLE)
        assert await bmc.get_power_state() is PowerState.ON


async def test_boot_override_persistent_reads_back(emulator: Any, make_driver: Make) -> None:
    async with make_driver(emulator.url) as bmc:
        await bmc.set_boot_device(BootDevice.PXE, persistent=True)
        assert await bmc.get_boot_override() == BootOverride(BootDevice.PXE, persistent=True)
        await bmc.set_boot_device(BootDevice.PXE, persistent=True)  # idempotent
        await bmc.set_boot_device(BootDevice.DISK, persistent=True)
        assert await bmc.get_boot_override() == BootOverride(BootDevice.DISK, persistent=True)


async def test_boot_override_once_is_rejected_because_the_emulator_keeps_continuous(
    emulator: Any, make_driver: Make
) -> None:
    """The emulator ignores BootSourceOverrideEnabled (it always reports Continuous): the driver's
    read-back catches a BMC that did not apply "once" instead of reporting success."""
    async with make_driver(emulator.url, timeout_s=2.0) as bmc:
        await bmc.set_boot_device(BootDevice.DISK, persistent=True)
        with pytest.raises(ChangeRejected, match="Continuous"):
            await bmc.set_boot_device(BootDevice.CD)
        assert await bmc.get_boot_override() == BootOverride(BootDevice.CD, persistent=True)


async def test_boot_device_the_emulator_does_not_offer_is_unsupported(emulator: Any, make_driver: Make) -> None:
    async with make_driver(emulator.url) as bmc:
        with pytest.raises(Unsupported, match="BiosSetup"):
            await bmc.set_boot_device(BootDevice.BIOS, persistent=True)


async def test_inventory(emulator: Any, make_driver: Make) -> None:
    async with make_driver(emulator.url) as bmc:
        inventory = await bmc.get_inventory()
    assert inventory.vendor == "Sushy Emulator"
    assert inventory.nics == (NicPortInfo(name="00:5C:52:31:3A:9C", mac="00:5c:52:31:3a:9c"),)
    assert inventory.drives == (
        DriveInfo(name="32ADF365C6C1B7BD", capacity_gb=899.53, media="hdd", serial="1234570"),
        DriveInfo(name="58CFF987G8J2V9KL", capacity_gb=12.35, media="hdd", serial="1234570"),
    )
    assert inventory.cpus == () and inventory.gpus == () and inventory.memory_gb == 0  # the fake driver has none


async def test_health_and_cleaning(emulator: Any, make_driver: Make) -> None:
    async with make_driver(emulator.url) as bmc:
        health = await bmc.get_health()
        assert health.state is HealthState.OK and health.messages == ()
        with pytest.raises(Unsupported, match="no drive offers"):
            await bmc.start_cleaning()


async def test_system_by_id_and_by_alias(emulator: Any, make_driver: Make) -> None:
    for system_id in (emulator.system_uuid, emulator.system_name):
        async with make_driver(emulator.url, system_id=system_id) as bmc:
            assert await bmc.get_power_state() in (PowerState.ON, PowerState.OFF)


async def test_unknown_system_id_is_a_typed_error(emulator: Any, make_driver: Make) -> None:
    async with make_driver(emulator.url, system_id="no-such-node") as bmc:
        with pytest.raises(MalformedResponse) as caught:
            await bmc.get_power_state()
    assert caught.value.field == "system_id"
    assert emulator.system_uuid in str(caught.value)  # lists what the BMC has


async def test_wrong_credentials(emulator: Any, make_driver: Make) -> None:
    async with make_driver(emulator.url, password="wrong-password") as bmc:
        with pytest.raises(AuthenticationFailed) as caught:
            await bmc.get_power_state()
    assert "wrong-password" not in str(caught.value) and emulator.password not in str(caught.value)


async def test_missing_credentials(emulator: Any, make_driver: Make) -> None:
    config = DeviceConfig(address=emulator.url, credentials=Credentials(username="admin"))
    async with RedfishBmc(config) as bmc:
        with pytest.raises(AuthenticationFailed, match="password"):
            await bmc.get_power_state()


async def test_closed_port_is_unreachable(closed_url: str, make_driver: Make) -> None:
    async with make_driver(closed_url, timeout_s=5.0) as bmc:
        with pytest.raises(DeviceUnreachable):
            await bmc.get_power_state()
