"""Loading drivers by name through the entry-point groups."""

from __future__ import annotations

import pytest

from metalgraph.drivers import registry
from metalgraph.drivers.base import BmcDriver, SwitchDriver
from metalgraph.drivers.errors import DriverLoadFailed, DriverNotValidated, UnknownDriver
from metalgraph.drivers.sim import SimBmc, SimSwitch
from metalgraph.drivers.types import DeviceConfig

SWITCH_GROUP = "metalgraph.drivers.switch"
BMC_GROUP = "metalgraph.drivers.bmc"


def test_the_built_in_drivers_are_installed() -> None:
    assert {"redfish", "sim"} <= set(registry.installed("bmc"))
    assert {"snmp", "sim"} <= set(registry.installed("switch"))


def test_drivers_load_by_name_and_open_on_a_device() -> None:
    assert registry.bmc_driver("sim") is SimBmc
    assert registry.switch_driver("sim") is SimSwitch
    config = DeviceConfig("sim://leaf-01")
    switch = registry.open_switch("sim", config)
    bmc = registry.open_bmc("sim", DeviceConfig("sim://node-01"))
    assert isinstance(switch, SwitchDriver) and switch.config is config
    assert isinstance(bmc, BmcDriver) and bmc.address == "sim://node-01"


def test_an_unknown_name_lists_the_installed_drivers_of_that_kind() -> None:
    with pytest.raises(UnknownDriver) as caught:
        registry.switch_driver("acme")
    message = str(caught.value)
    assert "'acme'" in message
    assert "snmp" in message and "sim" in message
    assert "redfish" not in message


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="bmc, switch"):
        registry.installed("router")  # type: ignore[arg-type]


def test_a_newly_installed_distribution_is_seen_without_restarting(register_distribution) -> None:
    register_distribution("acme-drivers", {SWITCH_GROUP: {"acme": "metalgraph.drivers.sim:SimSwitch"}})
    assert "acme" in registry.installed("switch")
    assert registry.switch_driver("acme") is SimSwitch


def test_an_entry_point_that_fails_to_import_names_its_distribution(register_distribution) -> None:
    register_distribution("acme-drivers", {SWITCH_GROUP: {"acme": "acme_driver_not_installed:AcmeSwitch"}})
    with pytest.raises(DriverLoadFailed) as caught:
        registry.switch_driver("acme")
    assert "'acme-drivers'" in str(caught.value)
    assert "failed to import" in str(caught.value)
    assert isinstance(caught.value.__cause__, ImportError)


@pytest.mark.parametrize(
    ("group", "target", "expected"),
    [
        (SWITCH_GROUP, "json:dumps", "is not a subclass of SwitchDriver"),
        (BMC_GROUP, "metalgraph.drivers.sim:SimSwitch", "is not a subclass of BmcDriver"),
        (SWITCH_GROUP, "metalgraph.drivers.base:SwitchDriver", "does not implement: get_lldp_neighbours"),
    ],
)
def test_an_entry_point_that_is_not_a_driver_of_the_kind_is_refused(
    register_distribution, group: str, target: str, expected: str
) -> None:
    register_distribution("acme-drivers", {group: {"acme": target}})
    kind = "switch" if group == SWITCH_GROUP else "bmc"
    with pytest.raises(DriverLoadFailed, match=expected) as caught:
        registry.load(kind, "acme")
    assert "'acme-drivers'" in str(caught.value)


def test_a_name_claimed_by_two_distributions_is_refused(register_distribution) -> None:
    register_distribution("acme-drivers", {SWITCH_GROUP: {"acme": "metalgraph.drivers.sim:SimSwitch"}})
    register_distribution("other-drivers", {SWITCH_GROUP: {"acme": "json:dumps"}})
    with pytest.raises(DriverLoadFailed, match="more than one distribution") as caught:
        registry.switch_driver("acme")
    assert "'acme-drivers'" in str(caught.value) and "'other-drivers'" in str(caught.value)


def test_only_drivers_listed_as_validated_are_allowed() -> None:
    validated = ["bmc:redfish", "switch:snmp"]
    registry.require_validated("switch", "snmp", validated)
    with pytest.raises(DriverNotValidated, match="'switch:acme'"):
        registry.require_validated("switch", "acme", validated)
    with pytest.raises(DriverNotValidated):
        registry.require_validated("bmc", "snmp", validated)
