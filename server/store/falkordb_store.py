"""The embedded store: FalkorDB in a child process, reached over a unix socket with its asyncio client.

FalkorDB runs each query atomically. `write_atomically` sends its statements as one MULTI/EXEC
block, so no other client sees a state between them; FalkorDB cannot roll back a statement
that already ran if a later one fails, so callers validate before they write.
"""

from __future__ import annotations

import asyncio
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
    StoreQueryError,
    StoreUnavailable,
)
from .embedded_process import EmbeddedFalkorProcess
from .falkordb_params import params_header

GRAPH_NAME = "metalgraph"


class FalkorStore(GraphStore):
    kind = "embedded"

    def __init__(self, data_dir: Path, keyed_labels: Sequence[str]) -> None:
        super().__init__()
        self.process = EmbeddedFalkorProcess(data_dir)
        self._keyed_labels = tuple(keyed_labels)
        self._db: FalkorDB | None = None
        self._graph_handle: Any = None

    async def start(self) -> None:
        self.process.start()
        self._db = FalkorDB(unix_socket_path=str(self.process.socket_path))
        self._graph_handle = self._db.select_graph(GRAPH_NAME)
        self._graph_handle._build_params_header = params_header  # the client's own encoder is the bulk-import bottleneck
        try:
            await self.ping()
            await self._ensure_schema()
        except BaseException:
            await self.close()
            raise

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

    async def close(self) -> None:
        if self._db is not None:
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
        graph = self._graph
        try:
            result = await (graph.ro_query if read_only else graph.query)(query, params)
        except Exception as e:  # the client raises plain redis errors and its own exceptions
            raise _translate(e) from e
        columns = [column[1] for column in result.header]
        return [dict(zip(columns, row, strict=True)) for row in result.result_set]

    async def _write_atomically(self, statements: Sequence[Statement]) -> None:
        if self._db is None:
            raise StoreUnavailable("the embedded store is not running")
        pipe = self._db.connection.pipeline(transaction=True)
        for query, params in statements:
            pipe.execute_command("GRAPH.QUERY", GRAPH_NAME, params_header(params) + query, "--compact")
        try:
            replies = await pipe.execute(raise_on_error=True)
        except Exception as e:
            raise _translate(e) from e
        for reply in replies:
            if isinstance(reply, Exception):
                raise _translate(reply)

    async def clear(self) -> None:
        await self.write("MATCH (n) DETACH DELETE n")


async def _list_constraints(graph: Any) -> list[dict[str, Any]]:
    try:
        return list(await graph.list_constraints())
    except redis.exceptions.ResponseError:  # the graph does not exist yet
        return []


def _translate(error: BaseException) -> Exception:
    if isinstance(error, redis.exceptions.ConnectionError | ConnectionError | OSError):
        return StoreUnavailable(f"embedded FalkorDB is unreachable: {error}")
    if "unique constraint" in str(error).lower():
        return ConstraintViolation(str(error))
    return StoreQueryError(str(error))
