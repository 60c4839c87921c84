"""How many vertices of some labels a caller can see: what bounds the lists of many distinct parents together."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..store.base import GraphStore
from .scope import Scope

_LABEL = re.compile(r"[A-Z][A-Za-z0-9_]*")


async def visible_counts(store: GraphStore, scope: Scope, labels: Iterable[str]) -> dict[str, int]:
    """Vertices per label the caller sees: counted from a restricted scope itself (what it holds is all
    its readers return), or for everything in one store round trip."""
    wanted = sorted(set(labels))
    if not scope.unrestricted:
        return {label: len(scope.keys(label) or ()) for label in wanted}
    for label in wanted:
        if not _LABEL.fullmatch(label):  # spliced into Cypher
            raise ValueError(f"not a label: {label!r}")
    if not wanted:
        return {}
    query = " UNION ALL ".join(f"MATCH (n:{label}) RETURN '{label}' AS label, count(n) AS n" for label in wanted)
    return {row["label"]: int(row["n"]) for row in await store.read(query, {})}
