"""One SNMP session (v2c or v3 USM) over pysnmp's asyncio API, speaking numeric OIDs, with every
pysnmp failure translated into the driver error family.

Translation: no answer in time -> `DeviceTimeout` (for v2c this is also what a wrong community
looks like: the agent drops the request); an unresolvable or unusable address -> `DeviceUnreachable`;
a USM report (unknown user, wrong digest, undecryptable) -> `AuthenticationFailed`; a PDU error on a
read -> `MalformedResponse` (or `AuthenticationFailed` for noAccess/authorizationError); any PDU
error on a SET -> `ChangeRejected` naming the object the agent pointed at.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    bulk_cmd,
    set_cmd,
)
from pysnmp.proto import errind
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject
from pysnmp.smi.rfc1902 import ObjectIdentity, ObjectType

from ..errors import (
    AuthenticationFailed,
    ChangeRejected,
    DeviceTimeout,
    DeviceUnreachable,
    DriverError,
    MalformedResponse,
)
from . import engines
from .oids import MibObject, Oid, label_of
from .settings import SessionSettings
from .values import Index

ERROR_STATUS = (
    *("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType", "wrongLength"),
    *("wrongEncoding", "wrongValue", "noCreation", "inconsistentValue", "resourceUnavailable", "commitFailed"),
    *("undoFailed", "authorizationError", "notWritable", "inconsistentName"),
)
"""SNMP PDU error-status names by number (RFC 3416)."""
_AUTH_INDICATIONS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.DecryptionError,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.UnknownCommunityName,
    errind.NotInTimeWindow,
)
_MALFORMED_INDICATIONS = (errind.SerializationError, errind.DeserializationError, errind.OidNotIncreasing)


class SnmpSession:
    """Requests to one agent. Created cheaply; the pysnmp engine and socket open on first use."""

    def __init__(self, settings: SessionSettings, device: str) -> None:
        self.settings = settings
        self.device = device
        self._engine: SnmpEngine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._target: UdpTransportTarget | Udp6TransportTarget | None = None
        self._context = ContextData(contextName=settings.context.encode())

    async def walk(self, columns: Sequence[MibObject]) -> dict[MibObject, dict[Index, Any]]:
        """Every instance of each column, walked together with GETBULK, by column then index.
        A column the agent does not have comes back empty."""
        result: dict[MibObject, dict[Index, Any]] = {column: {} for column in columns}
        cursors: dict[MibObject, Oid] = {column: column.oid for column in columns}
        while cursors:
            active = list(cursors)
            repetitions = max(1, self.settings.max_repetitions // len(active))
            requested = [(cursors[column], None) for column in active]
            response = await self._request("walk", bulk_cmd, (0, repetitions), requested)
            if not response:
                raise MalformedResponse("empty GETBULK response", field=active[0].label(), device=self.device)
            for position, (name, value) in enumerate(response):
                column = active[position % len(active)]
                if column not in cursors:
                    continue
                oid = tuple(name)
                if isinstance(value, EndOfMibView) or _absent(value) or oid[: len(column.oid)] != column.oid:
                    del cursors[column]
                    continue
                if oid <= cursors[column]:
                    raise MalformedResponse("OID not increasing", field=label_of(oid), device=self.device)
                result[column][oid[len(column.oid) :]] = value
                cursors[column] = oid
        return result

    async def set(self, changes: Sequence[tuple[Oid, Any]]) -> None:
        """SET all `changes` in one PDU (the agent applies all or none)."""
        response = await self._request("set", set_cmd, (), list(changes))
        for name, value in response:
            if _absent(value):
                raise ChangeRejected(f"{label_of(tuple(name))}: the agent has no such object", device=self.device)

    def close(self) -> None:
        """Give the shared engine back (the last user closes its socket). Idempotent; never raises."""
        engine, loop, self._engine, self._loop, self._target = self._engine, self._loop, None, None, None
        if engine is not None and loop is not None:
            engines.release(loop, self.settings.engine_identity, engine)

    async def _open(self) -> tuple[SnmpEngine, UdpTransportTarget | Udp6TransportTarget]:
        if self._engine is None or self._target is None:
            kind = Udp6TransportTarget if self.settings.ipv6 else UdpTransportTarget
            try:
                target = await kind.create(
                    (self.settings.host, self.settings.port),
                    timeout=self.settings.request_timeout_s,
                    retries=self.settings.retries,
                )
            except (PySnmpError, OSError) as e:
                raise DeviceUnreachable(f"cannot resolve {self.settings.host}: {e}", device=self.device) from e
            self._engine = engines.acquire(self.settings.engine_identity)
            self._loop, self._target = asyncio.get_running_loop(), target
        return self._engine, self._target

    async def _request(
        self, op: str, command: Any, leading: tuple[int, ...], binds: Sequence[tuple[Oid, Any]]
    ) -> list[tuple[Any, Any]]:
        engine, target = await self._open()
        auth, context = self.settings.auth, self._context
        objects = [
            ObjectType(ObjectIdentity(oid)) if value is None else ObjectType(ObjectIdentity(oid), value)
            for oid, value in binds
        ]
        try:
            indication, status, index, response = await command(
                engine, auth, target, context, *leading, *objects, lookupMib=False
            )
        except DriverError:
            raise
        except PyAsn1Error as e:
            raise MalformedResponse(f"undecodable {op} response: {e}", field="snmp", device=self.device) from e
        except (PySnmpError, OSError) as e:
            raise DeviceUnreachable(f"{op} failed: {e}", device=self.device) from e
        except Exception as e:  # pysnmp raises assorted types from its callbacks; callers get the family only
            raise DeviceUnreachable(f"{op} failed: {type(e).__name__}: {e}", device=self.device) from e
        if indication:
            raise self._translate_indication(op, indication)
        if status:
            raise self._translate_status(op, int(status), int(index or 0), [oid for oid, _ in binds])
        return [(bind[0], bind[1]) for bind in response]

    def _translate_indication(self, op: str, indication: Any) -> DriverError:
        if isinstance(indication, errind.RequestTimedOut):
            hint = " (or the community is wrong)" if self.settings.version == "2c" else ""
            attempts = self.settings.retries + 1
            return DeviceTimeout(f"no SNMP response to {op} after {attempts} attempt(s){hint}", device=self.device)
        if isinstance(indication, _AUTH_INDICATIONS):
            return AuthenticationFailed(f"the agent refused the credentials: {indication}", device=self.device)
        if isinstance(indication, _MALFORMED_INDICATIONS):
            return MalformedResponse(str(indication), field="snmp", device=self.device)
        return DeviceUnreachable(f"{op} failed: {indication}", device=self.device)

    def _translate_status(self, op: str, status: int, index: int, oids: Sequence[Oid]) -> DriverError:
        name = ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else f"error {status}"
        where = label_of(oids[index - 1]) if 0 < index <= len(oids) else "request"
        if op == "set":
            return ChangeRejected(f"{where}: the agent answered {name}", device=self.device)
        if name in ("noAccess", "authorizationError"):
            return AuthenticationFailed(f"{where}: the agent answered {name}", device=self.device)
        return MalformedResponse(f"the agent answered {name} to {op}", field=where, device=self.device)


def _absent(value: Any) -> bool:
    return isinstance(value, NoSuchObject | NoSuchInstance | EndOfMibView) or type(value) is univ.Null
