"""Fault injection for one simulated device. Every call through a sim driver passes `Faults.enter`
first; tests and demos flip the fields at any time and the next call sees them (in a persistent
`SimLab`, change them inside `lab.edit_switch(...)`/`lab.edit_node(...)` so that they are saved)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ..errors import ChangeRejected, DeviceTimeout, DeviceUnreachable


@dataclass
class Faults:
    """What is wrong with a device now. All off by default.

    - `unreachable`: every call raises `DeviceUnreachable`.
    - `latency_s`: every call takes this long; beyond the caller's `timeout_s` the call waits out
      the timeout and raises `DeviceTimeout` (a slow device).
    - `reject_changes`: setters raise `ChangeRejected` and change nothing.
    - `die_after_calls`: after this many successful calls every call raises `DeviceUnreachable`
      (a device that dies half way through a job).
    - `flapping_ports`: these ports' oper status toggles on each read of the ports.
    - `rising_errors`: port name -> in_errors added on each read of the ports or counters.
    - `fail_cleaning`: cleaning jobs end `failed` instead of `completed`.
    - `lost_changes`: ports whose next VLAN change is acknowledged but does not stay (another
      manager wrote back a table it had read before); once per port.
    - `device_text`: words the device adds to every error it raises and to the message of a failed
      cleaning job (firmware text, or text a host wrote into its BMC); may hold anything, NUL
      characters and lone surrogates included.
    """

    unreachable: bool = False
    latency_s: float = 0.0
    reject_changes: bool = False
    die_after_calls: int | None = None
    flapping_ports: set[str] = field(default_factory=set)
    rising_errors: dict[str, int] = field(default_factory=dict)
    fail_cleaning: bool = False
    lost_changes: set[str] = field(default_factory=set)
    device_text: str = ""
    calls: int = 0
    """Successful calls so far (what `die_after_calls` counts); in a persistent lab, by every process."""

    def clear(self) -> None:
        """Back to a healthy device; the call count restarts."""
        vars(self).update(vars(Faults()))

    async def enter(self, address: str, timeout_s: float, *, change: bool = False) -> None:
        """Apply the faults to one call: wait the latency, then raise what the faults say."""
        await self.delay(address, timeout_s)
        self.admit(address, change=change)

    async def delay(self, address: str, timeout_s: float) -> None:
        """The waiting half of `enter`: refuse an unreachable device, wait the latency (or time out)."""
        if self.unreachable or self._dead:
            raise DeviceUnreachable(self.said("no answer (simulated)"), device=address)
        if self.latency_s > timeout_s:
            await asyncio.sleep(timeout_s)
            raise DeviceTimeout(self.said(f"no answer within {timeout_s:g} s (simulated)"), device=address)
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)

    def admit(self, address: str, *, change: bool = False) -> None:
        """The deciding half of `enter`, after the wait: refuse or count the call."""
        if self.unreachable or self._dead:  # it may have died while this call waited
            raise DeviceUnreachable(self.said("no answer (simulated)"), device=address)
        if change and self.reject_changes:
            raise ChangeRejected(self.said("the device refused the change (simulated)"), device=address)
        self.calls += 1

    def said(self, message: str) -> str:
        """`message` as the device reports it: with its `device_text`, if it has one."""
        return f"{message}: {self.device_text}" if self.device_text else message

    @property
    def _dead(self) -> bool:
        return self.die_after_calls is not None and self.calls >= self.die_after_calls
