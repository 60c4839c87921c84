"""The driver interfaces a BMC or switch driver implements (placeholders until the drivers land).

A driver is found by name through the entry-point groups `metalgraph.drivers.bmc` and
`metalgraph.drivers.switch`; it never imports the server, and credentials reach it from the
provider's secrets, never from the graph.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class DriverError(Exception):
    """Base of the driver error family."""


class BmcDriver(ABC):
    """Controls one node through its baseboard management controller."""

    name: str = "abstract"

    @abstractmethod
    async def power_state(self) -> str:
        """`on` or `off`. Raises DriverError when the BMC cannot be reached."""


class SwitchDriver(ABC):
    """Reads and configures one switch."""

    name: str = "abstract"

    @abstractmethod
    async def port_names(self) -> list[str]:
        """The switch's ports by name, in index order. Raises DriverError when unreachable."""
