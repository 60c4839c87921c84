"""Text that every store takes, whatever a request carried: an audit write never fails on its input.

FalkorDB's query text is a C string (no NUL), and neither store can encode a lone surrogate
(what Python makes of bytes that are not UTF-8) as UTF-8. Such characters are written as the
Python escape that names them (`\\x00`, `\\udc80`), so the entry still shows what was sent.
Values nested deeper than `MAX_DEPTH` are replaced by a marker before anything walks them.
"""

from __future__ import annotations

import re

MAX_DEPTH = 32
"""Levels of maps and lists an entry keeps; deeper values are replaced by `TOO_DEEP`."""
TOO_DEEP = f"[nested deeper than {MAX_DEPTH} levels]"

_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with NUL characters and lone surrogates replaced by their escapes (`\\x00`, `\\udc80`)."""
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
