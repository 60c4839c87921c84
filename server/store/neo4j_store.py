"""The production store: Neo4j through the official async driver.

One driver per process; reads and writes are managed transactions routed to readers or the
leader, with the database named on every call. `write_atomically` runs its statements in one
transaction, so a failure leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import neo4j
import neo4j.exceptions
from neo4j import AsyncGraphDatabase, AsyncManagedTransaction

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


class Neo4jStore(GraphStore):
    kind = "neo4j"

    def __init__(
        self,
        uri: str,
        keyed_labels: Sequence[str],
        *,
        user: str = "neo4j",
        password: str | None = None,
        database: str = "neo4j",
    ) -> None:
        super().__init__()
        self._uri = uri
        self._auth = (user, password) if password else None
        self._database = database
        self._keyed_labels = tuple(keyed_labels)
        self._driver: neo4j.AsyncDriver | None = None

    async def start(self) -> None:
        # Server notifications (e.g. "relationship type does not exist yet" on an empty graph) are
        # advice for query authors; the driver would log each one as a warning at run time.
        self._driver = AsyncGraphDatabase.driver(
            self._uri, auth=self._auth, notifications_min_severity=neo4j.NotificationMinimumSeverity.OFF
        )
        try:
            await self.ping()
            for label in self._keyed_labels:
                await self._write(
                    f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{label}) REQUIRE n.key IS UNIQUE", {}
                )
            await self._write("CALL db.awaitIndexes(300)", {})
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._driver is not None:
            await self._driver.close()
            self._driver = None

    @property
    def driver(self) -> neo4j.AsyncDriver:
        if self._driver is None:
            raise StoreUnavailable("the Neo4j store is not connected")
        return self._driver

    async def ping(self) -> None:
        try:
            await self.driver.verify_connectivity()
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, OSError) as e:
            raise StoreUnavailable(f"Neo4j at {self._uri} is unreachable: {e}") from e
        except neo4j.exceptions.AuthError as e:
            raise StoreUnavailable(f"Neo4j at {self._uri} refused the credentials") from e

    async def _read(self, query: str, params: dict[str, Any]) -> list[Row]:
        return await self._execute(query, params, neo4j.RoutingControl.READ)

    async def _write(self, query: str, params: dict[str, Any]) -> list[Row]:
        return await self._execute(query, params, neo4j.RoutingControl.WRITE)

    async def _execute(self, query: str, params: dict[str, Any], routing: neo4j.RoutingControl) -> list[Row]:
        try:
            records, _summary, _keys = await self.driver.execute_query(
                query, params, database_=self._database, routing_=routing
            )
        except Exception as e:
            raise _translate(e) from e
        return [record.data() for record in records]

    async def _write_atomically(self, statements: Sequence[Statement], step_done: StepDone) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            for index, (query, params) in enumerate(statements):
                result = await tx.run(query, params)
                await result.consume()
                step_done(index)

        try:
            async with self.driver.session(database=self._database) as session:
                await session.execute_write(work)
        except Exception as e:
            raise _translate(e) from e

    async def clear(self) -> None:
        while (await self.write("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS deleted"))[0][
            "deleted"
        ]:
            pass


def _translate(error: Exception) -> Exception:
    if isinstance(error, UnicodeEncodeError):
        return unencodable_text(error)
    if isinstance(error, neo4j.exceptions.ServiceUnavailable | neo4j.exceptions.SessionExpired | OSError):
        return StoreUnavailable(f"Neo4j is unreachable: {error}")
    if isinstance(error, neo4j.exceptions.ConstraintError):
        return ConstraintViolation(getattr(error, "message", None) or str(error))
    if isinstance(error, neo4j.exceptions.Neo4jError):
        return StoreQueryError(getattr(error, "message", None) or str(error))
    return StoreQueryError(str(error))
