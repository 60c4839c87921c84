"""Query parameters as FalkorDB's `CYPHER name=value ...` header, fast enough for bulk imports.

FalkorDB takes parameters as Cypher literals in front of the query text. The client library
builds them value by value in Python, which dominates the time of a large import; JSON is a
Cypher literal except for quoted map keys, so this encodes with the C JSON encoder and unquotes
the keys. A document whose strings need escapes beyond quote and backslash falls back to the
client library's encoder, which is the reference.
"""

from __future__ import annotations

import json
import re
from typing import Any

from falkordb.helpers import stringify_param_value

from .base import InvalidValue

_KEY = re.compile(r'([{,])"([A-Za-z_][A-Za-z0-9_]*)":')
_OTHER_ESCAPES = re.compile(r"\\[^\"\\]")
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
"""A NUL character as JSON escapes it: backslash-u-0000 after an even number of backslashes (else it is text)."""
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _literal(value: Any) -> str:
    text = _encode(value)
    if "\\u0000" in text and _NUL.search(text):  # FalkorDB's query text is a C string
        raise InvalidValue("text may not contain NUL characters")
    if _OTHER_ESCAPES.search(text):
        return str(stringify_param_value(value))
    return _KEY.sub(r"\1\2:", text)


def params_header(params: dict[str, Any]) -> str:
    if not params:
        return ""
    return "CYPHER " + " ".join(f"{name}={_literal(value)}" for name, value in params.items()) + " "
