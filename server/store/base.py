"""The graph store interface that every adapter implements, and its error family.

The domain layer speaks one Cypher vocabulary (the subset that both FalkorDB and Neo4j run,
see README "Design") through `read`, `write` and `write_atomically`. Rows come back as
plain dicts of plain values: queries return scalars, lists and maps (`n{.*}`), never
driver-specific node objects. Every call is one store round trip and is counted, so tests and
`/metrics` can see how many a request costs.
"""

from __future__ import annotations

import contextvars
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .cypher_text import check_returns_nothing

Row = dict[str, Any]
Statement = tuple[str, dict[str, Any]]
StepDone = Callable[[int], None]
"""Told the index of each statement of an atomic write as it finishes (for progress bars)."""


class StoreError(Exception):
    """Base of the store's error family."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or is not running."""


class StoreLocked(StoreError):
    """Another server already owns this data directory."""


class StoreQueryError(StoreError):
    """The store refused a query (a bug in metalgraph, or a constraint violation)."""


class InvalidValue(StoreQueryError):
    """A value the store cannot hold, such as text with a NUL character; the caller's input is at fault."""


def unencodable_text(error: UnicodeEncodeError) -> InvalidValue:
    """Text that is not valid Unicode (a lone surrogate, which JSON and GraphQL escapes can carry)
    cannot be sent to either store: the caller's input is at fault."""
    return InvalidValue(f"text must be valid Unicode: {error.reason} at position {error.start}")


class ConstraintViolation(StoreQueryError):
    """A write would break a uniqueness constraint."""


def _ignore(_index: int) -> None:
    pass


@dataclass
class RoundTripCounter:
    count: int = 0


_request_counter: contextvars.ContextVar[RoundTripCounter | None] = contextvars.ContextVar(
    "metalgraph_round_trips", default=None
)


@contextmanager
def count_round_trips() -> Iterator[RoundTripCounter]:
    """Count the store round trips made inside this block (in this task and the tasks it starts)."""
    counter = RoundTripCounter()
    token = _request_counter.set(counter)
    try:
        yield counter
    finally:
        _request_counter.reset(token)


class GraphStore(ABC):
    """A property graph that runs Cypher. Labels and keys follow schema/MODEL.md."""

    kind: str = "abstract"

    def __init__(self) -> None:
        self.round_trips_total = 0

    @property
    def underlying(self) -> GraphStore:
        """The store itself; a wrapper answers the store it wraps (so per-store locks are shared)."""
        return self

    def _count_round_trip(self) -> None:
        self.round_trips_total += 1
        counter = _request_counter.get()
        if counter is not None:
            counter.count += 1

    async def read(self, query: str, params: dict[str, Any] | None = None) -> list[Row]:
        self._count_round_trip()
        return await self._read(query, params or {})

    async def read_collected(self, match: str, row: str, params: dict[str, Any] | None = None) -> list[Row]:
        """The rows of `match`, each the map expression `row`, fetched as one list in one record.

        Same answer as `read(match + " RETURN " + row)`, but the store sends one record instead of
        one per row: the async Neo4j driver pays a few socket reads per record, which made reading
        50,000 rows take seconds. Order is kept as `match` produces it.
        """
        rows = await self.read(f"{match} RETURN collect({row}) AS rows", params)
        return [dict(item) for item in rows[0]["rows"]] if rows else []

    async def write(self, query: str, params: dict[str, Any] | None = None) -> list[Row]:
        self._count_round_trip()
        return await self._write(query, params or {})

    async def write_atomically(self, statements: Sequence[Statement], step_done: StepDone | None = None) -> None:
        """Run the statements in order as one unit: all of them or none.

        Atomic statements return nothing: a statement with a top-level RETURN (or UNION) is refused
        with ValueError before anything runs (a `RETURN` inside `CALL { }` is fine). A statement
        whose MATCH finds nothing changes nothing and the later statements still run; a statement
        that fails (a constraint violation, a division by zero) undoes all of them and raises.

        On Neo4j this is one transaction, whatever its size. The embedded FalkorDB runs one query
        atomically, so it joins a short list into one query (at most `ATOMIC_MAX_STATEMENTS`
        statements with fewer than `BULK_ROWS` list rows, see falkordb_store). A bulk write beyond
        that (an inventory import) runs there statement by statement, each atomic on its own, and
        is NOT atomic as a whole: a failure leaves the statements before it applied.
        """
        for query, _params in statements:
            check_returns_nothing(query)
        if statements:
            self._count_round_trip()
            await self._write_atomically(statements, step_done or _ignore)

    @abstractmethod
    async def start(self) -> None:
        """Connect (and for the embedded store, launch), then create constraints and indexes."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; the embedded store also stops its database process."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""

    @abstractmethod
    async def _read(self, query: str, params: dict[str, Any]) -> list[Row]: ...

    @abstractmethod
    async def _write(self, query: str, params: dict[str, Any]) -> list[Row]: ...

    @abstractmethod
    async def _write_atomically(self, statements: Sequence[Statement], step_done: StepDone) -> None: ...

    @abstractmethod
    async def clear(self) -> None:
        """Delete every vertex and edge (tests and `import --replace`)."""
