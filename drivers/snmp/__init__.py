"""The `snmp` switch driver: SNMP v2c / v3 with IF-MIB, LLDP-MIB, BRIDGE-MIB and Q-BRIDGE-MIB, vendor
differences kept as data in `vendors.yaml`."""

from __future__ import annotations

from .switch import SnmpSwitch
from .vendors import VendorProfile, profiles

__all__ = ["SnmpSwitch", "VendorProfile", "profiles"]
