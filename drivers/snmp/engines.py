"""Shared pysnmp engines. Creating an `SnmpEngine` costs about a third of a second of CPU (it loads
its own MIB instrumentation), so sessions on the same event loop share one engine, and its UDP
socket, per security identity: one for every SNMPv2c community, one per distinct set of SNMPv3 USM
credentials (pysnmp keeps one USM entry per user name, so differing keys must not meet in one
engine). The identity is a digest; credentials are never kept here in clear. An engine is closed
`IDLE_S` seconds after its last session released it, unless a new session takes it up first.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from dataclasses import dataclass

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

IDLE_S = 30.0
"""How long an engine nobody uses stays open for the next session."""


@dataclass
class _Shared:
    engine: SnmpEngine
    users: int
    closing: asyncio.TimerHandle | None = None


_POOL: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Shared]] = weakref.WeakKeyDictionary()


def acquire(identity: str) -> SnmpEngine:
    """The engine for `identity` on the running loop (created on first use); pair with `release`."""
    engines = _POOL.setdefault(asyncio.get_running_loop(), {})
    shared = engines.get(identity)
    if shared is None:
        shared = engines[identity] = _Shared(SnmpEngine(), 0)
    shared.users += 1
    if shared.closing is not None:
        shared.closing.cancel()
        shared.closing = None
    return shared.engine


def release(loop: asyncio.AbstractEventLoop, identity: str, engine: SnmpEngine) -> None:
    """Give `engine` back; it closes `IDLE_S` after its last user left (at once when the loop is
    closed or `IDLE_S` is 0). Never raises."""
    engines = _POOL.get(loop, {})
    shared = engines.get(identity)
    if shared is None or shared.engine is not engine:
        return
    shared.users -= 1
    if shared.users > 0 or shared.closing is not None:
        return
    if IDLE_S > 0 and not loop.is_closed():
        with contextlib.suppress(RuntimeError):
            shared.closing = loop.call_later(IDLE_S, _close, engines, identity, shared)
            return
    _close(engines, identity, shared)


def _close(engines: dict[str, _Shared], identity: str, shared: _Shared) -> None:
    if engines.get(identity) is shared and shared.users <= 0:
        del engines[identity]
    with contextlib.suppress(Exception):  # best effort on shutdown
        shared.engine.close_dispatcher()
