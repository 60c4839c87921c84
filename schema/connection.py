"""Relay-style connections over keyset pages: `first`/`after`, `edges`, `pageInfo`, `totalCount`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from metalgraph.server.topology.pages import Props, Selection, count, fetch_page
from metalgraph.server.topology.reader import TopologyReader

from .errors import ApiError, Code

T = TypeVar("T")
_CURSOR_PREFIX = "key:"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{key}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_CURSOR_PREFIX):
        raise ApiError(Code.INVALID_INPUT, "`after` is not a cursor returned by this API", argument="after")
    return text[len(_CURSOR_PREFIX) :]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items match, across all pages.")
    async def total_count(self) -> int:
        return await self._count()


def check_page_size(first: int | None, limit: int) -> int:
    if first is None:
        return min(100, limit)
    if first < 0:
        raise ApiError(Code.INVALID_INPUT, "`first` must not be negative", argument="first")
    if first > limit:
        raise ApiError(Code.PAGE_SIZE_LIMIT, f"`first` may be at most {limit}", argument="first", limit=limit)
    return first


def connection_of(
    rows: Sequence[Props],
    more: bool,
    after: str | None,
    wrap: Callable[[Props], T],
    total: Callable[[], Awaitable[int]],
) -> Connection[T]:
    edges = [Edge(node=wrap(row), cursor=encode_cursor(row["key"])) for row in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=more,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        _count=total,
    )


async def paginate(
    reader: TopologyReader,
    selection: Selection,
    first: int | None,
    after: str | None,
    wrap: Callable[[Props], T],
    max_page_size: int,
) -> Connection[T]:
    size = check_page_size(first, max_page_size)
    rows, more = await fetch_page(reader.store, reader.scope, selection, size, decode_cursor(after) if after else None)

    async def total() -> int:
        return await count(reader.store, reader.scope, selection)

    return connection_of(rows, more, after, wrap, total)
