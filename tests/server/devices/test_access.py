"""Opening an inventory device's driver: validated drivers only, credentials by reference, settings' timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_settings
from metalgraph.drivers.errors import DriverNotValidated, UnknownDriver
from metalgraph.drivers.sim import SimBmc, SimLab, SimSwitch
from metalgraph.server.devices.access import (
    DeviceAccess,
    DeviceRef,
    inventory_devices,
    node_bmc,
    node_device,
    open_device,
    switch_ref,
)
from metalgraph.server.devices.secrets import SecretNotFound, SecretStore
from metalgraph.server.errors import InvalidReference, NotFound
from metalgraph.server.inventory.model import Bmc, Inventory
from metalgraph.server.inventory.service import export_inventory, import_inventory
from metalgraph.server.store.base import GraphStore

PASSWORD = "bmc-pa55-4410"


def with_device_references(inventory: Inventory) -> Inventory:
    """The small fixture with a credentials reference on the BMC and addresses on the switches."""
    node = inventory.nodes[0]
    bmc = Bmc(driver="sim", address="sim://n1", credentials="ipmi-admin")
    switches = tuple(
        sw.model_copy(update={"mgmt_address": f"sim://{sw.name}", "credentials": "snmp-ro"})
        if sw.name == "leaf1"
        else sw
        for sw in inventory.switches
    )
    return inventory.model_copy(update={"nodes": (node.model_copy(update={"bmc": bmc}),), "switches": switches})


async def test_credentials_are_a_reference_in_the_graph_and_survive_export(
    store: GraphStore, small_inventory: Inventory
) -> None:
    inventory = with_device_references(small_inventory)
    await import_inventory(store, inventory)
    rows = await store.read("MATCH (n:Node {key: 'n1'}) RETURN n.bmc_credentials AS c")
    assert rows == [{"c": "ipmi-admin"}]
    exported = await export_inventory(store)
    assert exported == inventory
    assert exported.nodes[0].bmc == Bmc(driver="sim", address="sim://n1", credentials="ipmi-admin")
    assert {s.name: s.credentials for s in exported.switches} == {"leaf1": "snmp-ro", "spine1": None}
    assert (await import_inventory(store, exported)).empty


async def test_devices_come_from_the_graph(store: GraphStore, small_inventory: Inventory) -> None:
    await import_inventory(store, with_device_references(small_inventory))
    devices = await inventory_devices(store)
    assert devices == [
        DeviceRef("bmc", "n1", "sim", "sim://n1", "ipmi-admin"),
        DeviceRef("switch", "leaf1", "sim", "sim://leaf1", "snmp-ro"),
        DeviceRef("switch", "spine1", "sim", "", None),
    ]
    assert await inventory_devices(store, nodes=[], switches=["spine1"]) == devices[2:]
    assert await node_bmc(store, "n1") == devices[0]
    assert await switch_ref(store, "leaf1") == devices[1]
    with pytest.raises(NotFound, match="'nope'"):
        await inventory_devices(store, nodes=["n1", "nope"])
    with pytest.raises(NotFound):
        await node_bmc(store, "nope")


def test_the_driver_gets_address_credentials_options_and_the_settings_timeout(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[ipmi-admin]\nusername = "admin"\npassword = "{PASSWORD}"\n')
    secrets.chmod(0o600)
    lab = SimLab()
    settings = make_settings(tmp_path, secrets_file=secrets, device_timeout_s=3.5)
    ref = DeviceRef("bmc", "n1", "sim", "sim://n1", "ipmi-admin")
    driver = open_device(ref, settings, driver_options={"sim": {"lab": lab}})
    assert isinstance(driver, SimBmc) and driver.lab is lab
    assert driver.config.address == "sim://n1" and driver.config.timeout_s == 3.5
    assert driver.config.credentials.require("password") == PASSWORD
    switch = DeviceAccess.from_settings(settings).open_switch(DeviceRef("switch", "leaf1", "sim", "sim://leaf1"))
    assert isinstance(switch, SimSwitch) and switch.config.credentials.names() == []


def test_a_driver_not_marked_validated_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, validated_drivers=["switch:sim"])
    with pytest.raises(DriverNotValidated, match="bmc:sim"):
        open_device(DeviceRef("bmc", "n1", "sim", "sim://n1"), settings)
    with pytest.raises(UnknownDriver):
        DeviceAccess(["bmc:nosuch"]).open(DeviceRef("bmc", "n1", "nosuch", "x"))


def test_missing_credentials_or_address_are_refused_before_any_driver_runs() -> None:
    access = DeviceAccess(["bmc:sim", "switch:sim"], SecretStore(None, environ={}))
    with pytest.raises(SecretNotFound, match="'ipmi-admin'"):
        access.open(DeviceRef("bmc", "n1", "sim", "sim://n1", "ipmi-admin"))
    with pytest.raises(InvalidReference, match="no management address"):
        access.open(DeviceRef("switch", "spine1", "sim", ""))
    with pytest.raises(ValueError, match="not a switch"):
        access.open_switch(DeviceRef("bmc", "n1", "sim", "sim://n1"))


def test_a_node_without_a_bmc_is_no_device() -> None:
    assert node_device({"name": "n1"}) is None
    assert node_device({"name": "n1", "bmc_driver": "sim", "bmc_address": None}) == DeviceRef("bmc", "n1", "sim", "")
