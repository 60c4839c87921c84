"""Refusals a caller can repeat at will, audited per caller and window: the first at once, the rest counted.

A refused oversized body, a rate-limit refusal or an anonymous caller's refusal costs the caller
nothing and would cost the server an fsynced entry each. So the first refusal of a caller (actor,
role, tenant) with a code in a window of `window_s` is written at once, and the later ones of that
window are counted; the count goes into one entry (operation `refusals`, variables `refusals: n`)
when the window closes, or at the next refusal after that, or at shutdown (`close`). Anonymous
callers open at most `anonymous_per_window` windows per window; the refusals of any further
anonymous caller are counted together, under `anonymous@*`. Every refusal is in exactly one entry:
its own, or a count. A count that cannot be written is kept and tried again, and logged if it is
still unwritten at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..store.base import StoreError
from .entry import AuditEvent, now_iso

log = logging.getLogger(__name__)

ANONYMOUS_OVERFLOW = "anonymous@*"
"""The actor of the counts of anonymous callers beyond a window's allowance."""
OPERATION = "refusals"
"""The operation of an entry that counts refusals."""
MAX_OPERATIONS = 20
"""Operation names a count lists by name; the rest are counted as `OTHER`."""
OTHER = "[other]"
MAX_CALLERS = 1000
"""Distinct anonymous callers an overflow count tells apart (more read as this many)."""

Write = Callable[[AuditEvent], Awaitable[object]]
_Key = tuple[str, str, str | None, str]


@dataclass
class _Window:
    first: AuditEvent
    """The refusal that opened the window (written at once, except in the anonymous overflow)."""
    code: str
    opened: float
    counted: int = 0
    """Refusals since, not yet written."""
    since: str = ""
    last: str = ""
    last_detail: str = ""
    operations: Counter[str] = field(default_factory=Counter)
    callers: set[str] = field(default_factory=set)

    def count(self, event: AuditEvent) -> None:
        self.counted += 1
        moment = now_iso()
        self.since = self.since or moment
        self.last, self.last_detail = moment, event.detail
        operation = event.operation[:100]
        if operation in self.operations or len(self.operations) < MAX_OPERATIONS:
            self.operations[operation] += 1
        else:
            self.operations[OTHER] += 1
        if self.first.actor == ANONYMOUS_OVERFLOW and len(self.callers) < MAX_CALLERS:
            self.callers.add(event.actor)

    def summary(self, window_s: float) -> AuditEvent:
        variables: dict[str, object] = {
            "code": self.code,
            "refusals": self.counted,
            "since": self.since,
            "until": self.last,
            "operations": dict(self.operations),
        }
        if self.first.actor == ANONYMOUS_OVERFLOW:
            variables["callers"] = len(self.callers)
        return AuditEvent(
            actor=self.first.actor,
            role=self.first.role,
            tenant=self.first.tenant,
            operation=OPERATION,
            variables=variables,
            outcome=self.first.outcome,
            detail=f"{self.code}: {self.counted} more in a {window_s:g} s window; the last: {self.last_detail}",
        )


class RefusalWindows:
    """Writes each caller's first refusal of a window through `write` and counts the rest (see the module)."""

    def __init__(
        self,
        write: Write,
        window_s: float,
        anonymous_per_window: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self.window_s = window_s
        self.anonymous_per_window = anonymous_per_window
        self._clock = clock
        self._windows: dict[_Key, _Window] = {}
        self._anonymous_since = float("-inf")
        self._anonymous_opened = 0
        self._timer: asyncio.Task[None] | None = None

    @property
    def counted(self) -> int:
        """Refusals counted and not yet written."""
        return sum(w.counted for w in self._windows.values())

    async def refused(self, event: AuditEvent, code: str) -> None:
        """Audit one refusal: written now if it opens its caller's window, else counted."""
        await self.flush()
        key: _Key = (event.actor, event.role, event.tenant, code)
        window = self._windows.get(key)
        if window is None and not event.role and not self._anonymous_allowed():
            key = (ANONYMOUS_OVERFLOW, "", None, code)
            window = self._windows.get(key)
            if window is None:
                overflow = AuditEvent(ANONYMOUS_OVERFLOW, "", None, OPERATION, outcome=event.outcome)
                window = self._windows[key] = _Window(overflow, code, self._clock())
        if window is not None:
            window.count(event)
            self._start_timer()
            return
        window = self._windows[key] = _Window(event, code, self._clock())
        try:
            await self._write(event)
        except BaseException:
            if window.counted == 0 and self._windows.get(key) is window:
                del self._windows[key]  # the next refusal tries to write again
            raise

    async def flush(self, *, everything: bool = False) -> None:
        """Write the counts of the windows that closed (of all windows with `everything`)."""
        now = self._clock()
        closed = [
            key for key, w in self._windows.items() if everything or now - w.opened >= self.window_s
        ]
        windows = [self._windows.pop(key) for key in closed]
        for key, window in zip(closed, windows, strict=True):
            if window.counted == 0:
                continue
            try:
                await self._write(window.summary(self.window_s))
            except StoreError as e:
                self._keep(key, window)
                log.warning("could not audit %d refusals of %s yet: %s", window.counted, window.first.actor, e)

    async def close(self) -> None:
        """Stop the timer and write every count now; a count that still cannot be written is logged."""
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
        await self.flush(everything=True)
        for window in self._windows.values():
            log.error(
                "%d refusals of %s (%s) could not be audited: %s",
                window.counted,
                window.first.actor,
                window.code,
                window.last_detail,
            )
        self._windows.clear()

    def _keep(self, key: _Key, window: _Window) -> None:
        """Put back a window whose count could not be written, merged with one opened since."""
        newer = self._windows.get(key)
        if newer is not None:
            window.counted += newer.counted
            window.operations.update(newer.operations)
            window.callers |= newer.callers
            window.last, window.last_detail = newer.last or window.last, newer.last_detail or window.last_detail
        window.opened = self._clock()  # tried again when this window closes, not at once
        self._windows[key] = window

    def _anonymous_allowed(self) -> bool:
        now = self._clock()
        if now - self._anonymous_since >= self.window_s:
            self._anonymous_since, self._anonymous_opened = now, 0
        if self._anonymous_opened >= self.anonymous_per_window:
            return False
        self._anonymous_opened += 1
        return True

    def _start_timer(self) -> None:
        if self._timer is None or self._timer.done():
            self._timer = asyncio.get_running_loop().create_task(self._write_when_windows_close())

    async def _write_when_windows_close(self) -> None:
        while True:
            pending = [w.opened for w in self._windows.values() if w.counted]
            if not pending:
                return
            await asyncio.sleep(max(0.0, min(pending) + self.window_s - self._clock()) + 0.001)
            try:
                await self.flush()
            except Exception:  # the next refusal, or close(), writes the counts instead
                log.exception("could not write the counts of closed refusal windows")
                return
