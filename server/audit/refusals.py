"""Refusals a caller can repeat at will, audited per caller and window: the first at once, the rest counted.

A refused oversized body, a rate-limit refusal or an anonymous caller's refusal costs the caller
nothing and would cost the server an fsynced entry each. So the first refusal of a caller (actor,
role, tenant) with a code in a window of `window_s` is written at once, and the later ones of that
window are counted; the count goes into one entry (operation `refusals`, variables `refusals: n`)
by a background task once the window closed, or at shutdown (`close`); a refusal never waits for
another's count. Anonymous callers open at most `anonymous_per_window` windows per window; the
refusals of any further anonymous caller are counted together, under `anonymous@*`. Every refusal
is in exactly one entry: its own, or a count. A count is forgotten only once its entry is written:
a write that fails or is cancelled leaves it to be tried again, a first refusal that cannot be
written is counted, and what is still unwritten when shutdown's time is up is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

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
CLOSE_TIMEOUT_S = 10.0
"""How long shutdown waits for the counts to be written before it logs those that were not."""

Write = Callable[[AuditEvent], Awaitable[object]]
_Key = tuple[str, str, str | None, str]


@dataclass(eq=False)
class _Window:
    first: AuditEvent
    """The refusal that opened the window (written at once, except in the anonymous overflow)."""
    code: str
    opened: float
    counted: int = 0
    """Refusals not written one by one (since the first, and the first too if it could not be written)."""
    first_written: bool = True
    retry_at: float = float("-inf")
    """When a closed window whose count could not be written is tried again."""
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

    def forget(self, written: _Window) -> None:
        """Take out what `written` (a copy of this window when its count was written) counted."""
        self.counted -= written.counted
        self.operations.subtract(written.operations)
        self.operations = +self.operations
        self.callers -= written.callers
        self.since = self.last if self.counted else ""

    def snapshot(self) -> _Window:
        return replace(self, operations=Counter(self.operations), callers=set(self.callers))

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
            detail=f"{self.code}: {self.counted} {'more ' if self.first_written else ''}in a {window_s:g} s window"
            f"; the last: {self.last_detail}",
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
        """The open windows (and closed ones no refusal or flush has retired yet)."""
        self._closed: list[_Window] = []
        """Closed windows whose count is still to be written; a closed window counts nothing more."""
        self._anonymous_since = float("-inf")
        self._anonymous_opened = 0
        self._timer: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

    @property
    def counted(self) -> int:
        """Refusals counted and not yet written."""
        return sum(w.counted for w in (*self._windows.values(), *self._closed))

    async def refused(self, event: AuditEvent, code: str) -> None:
        """Audit one refusal: written now if it opens its caller's window, else counted.

        A first refusal that cannot be written is counted into its window (written with the count)
        and the write's error is raised."""
        key: _Key = (event.actor, event.role, event.tenant, code)
        window = self._open_window(key)
        if window is None and not event.role and not self._anonymous_allowed():
            key = (ANONYMOUS_OVERFLOW, "", None, code)
            window = self._open_window(key)
            if window is None:
                overflow = AuditEvent(ANONYMOUS_OVERFLOW, "", None, OPERATION, outcome=event.outcome)
                window = self._windows[key] = _Window(overflow, code, self._clock())
        if window is not None:
            window.count(event)
            self._start_timer()
            return
        window = self._windows[key] = _Window(event, code, self._clock())
        self._start_timer()
        try:
            await self._write(event)
        except BaseException:
            window.first_written = False
            window.count(event)
            if self._windows.get(key) is not window and all(w is not window for w in self._closed):
                self._closed.append(window)  # retired and written while this write was under way
            raise

    async def flush(self, *, everything: bool = False) -> None:
        """Write the counts of the windows that closed (of all windows with `everything`).

        A count is dropped only after its entry is written; one whose write fails is tried again a
        window later (at once with `everything`)."""
        async with self._flushing:
            now = self._clock()
            for key, window in list(self._windows.items()):
                if everything or self._is_closed(window, now):
                    self._retire(key)
            for window in list(self._closed):
                if not everything and window.retry_at > now:
                    continue
                written = window.snapshot()
                try:
                    await self._write(written.summary(self.window_s))
                except StoreError as e:
                    window.retry_at = self._clock() + self.window_s
                    log.warning("could not audit %d refusals of %s yet: %s", window.counted, window.first.actor, e)
                    continue
                window.forget(written)
                if not window.counted:
                    self._closed.remove(window)

    async def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Stop the timer and write every count, within `timeout_s` (cancelling `close` does not stop the
        write); a count still unwritten then is logged."""
        if self._timer is not None:
            self._timer.cancel()  # a flush under way goes on (it is shielded) and the last one waits for it
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
        last = asyncio.get_running_loop().create_task(self.flush(everything=True))
        try:
            await asyncio.wait_for(asyncio.shield(last), timeout_s)
        except TimeoutError:
            last.cancel()
            await asyncio.gather(last, return_exceptions=True)
        except Exception:  # shutdown goes on; what is unwritten is logged below
            log.exception("could not write the refusal counts at shutdown")
        finally:
            for window in (*self._windows.values(), *self._closed):
                if window.counted:
                    log.error(
                        "%d refusals of %s (%s) were not audited by shutdown: %s",
                        window.counted,
                        window.first.actor,
                        window.code,
                        window.last_detail,
                    )
            if last.done():
                self._windows.clear()
                self._closed.clear()

    def _open_window(self, key: _Key) -> _Window | None:
        """The window of `key` if it is still open; a closed one is retired, to be written by the timer."""
        window = self._windows.get(key)
        if window is not None and self._is_closed(window, self._clock()):
            self._retire(key)
            return None
        return window

    def _is_closed(self, window: _Window, now: float) -> bool:
        return now - window.opened >= self.window_s

    def _retire(self, key: _Key) -> None:
        window = self._windows.pop(key)
        if window.counted:
            self._closed.append(window)

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
        """Flushes as windows close, while there are windows; each flush runs on even if this task is cancelled."""
        while self._windows or self._closed:
            due = [w.opened + self.window_s for w in self._windows.values()]
            due += [max(w.retry_at, self._clock()) for w in self._closed]
            await asyncio.sleep(max(0.0, min(due) - self._clock()) + 0.001)
            flush = asyncio.get_running_loop().create_task(self.flush())
            try:
                await asyncio.shield(flush)
            except Exception:  # the windows stay; close() writes them, or logs them
                log.exception("could not write the counts of closed refusal windows")
                return
