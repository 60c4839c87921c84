"""The Redfish BMC driver (entry point `redfish` in `metalgraph.drivers.bmc`), built on sushy.

Modules: `client` (sushy connection, worker threads), `translate` (errors), `doc` (typed JSON reads
naming their path), `power` (power and boot override), `collect` (walking the tree), `inventory` and
`health` (pure parsing), `cleaning` (secure erase jobs), `driver` (`RedfishBmc`).
"""

from .driver import RedfishBmc

__all__ = ["RedfishBmc"]
