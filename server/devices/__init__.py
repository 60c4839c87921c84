"""Reaching inventory devices: credentials by reference (`secrets`), drivers opened under the
configuration's rules (`access`), and simulated devices for demos (`demo_lab`)."""

from .access import (
    DeviceAccess,
    DeviceRef,
    inventory_devices,
    node_bmc,
    node_device,
    open_device,
    switch_device,
    switch_ref,
)
from .secrets import InsecureSecretsFile, InvalidSecretsFile, SecretError, SecretNotFound, SecretStore

__all__ = [
    "DeviceAccess",
    "DeviceRef",
    "InsecureSecretsFile",
    "InvalidSecretsFile",
    "SecretError",
    "SecretNotFound",
    "SecretStore",
    "inventory_devices",
    "node_bmc",
    "node_device",
    "open_device",
    "switch_device",
    "switch_ref",
]
