"""A GraphQL source that finds the line of a position by bisection.

graphql-core's `Source.get_location` scans every line break before the position, each time an error
is created; a document of many lines with many errors would make that quadratic. Here the line breaks
are found once, and each location is a binary search.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from graphql import Source, SourceLocation

_LINE_BREAK = re.compile(r"\r\n|[\n\r]")  # graphql-core's own definition of a line break


class IndexedSource(Source):
    """Line breaks are found at the first location asked for (most documents have no error), in a
    loop of Python steps, so that the thread doing it lets others run meanwhile."""

    _break_starts: list[int]
    _line_starts: list[int]

    def _index(self) -> None:
        starts: list[int] = []
        ends: list[int] = []
        body = self.body
        if "\r" in body:
            for match in _LINE_BREAK.finditer(body):
                starts.append(match.start())
                ends.append(match.end())
        else:
            at = body.find("\n")
            while at >= 0:
                starts.append(at)
                ends.append(at + 1)
                at = body.find("\n", at + 1)
        self._break_starts, self._line_starts = starts, ends

    def get_location(self, position: int) -> SourceLocation:
        if "_break_starts" not in self.__dict__:
            self._index()
        line = bisect_left(self._break_starts, position)  # line breaks before the position
        line_start = self._line_starts[line - 1] if line else 0
        return SourceLocation(line + 1, position + 1 - line_start)
