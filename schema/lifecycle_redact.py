"""What tenants may read of placement text: infrastructure names replaced by what they are.

The planner explains an infeasible request with the names of domains and nodes ("no leaf domain has
16 eligible nodes: best is leaf-p02-su07 with 11"), and a job that cannot place a cluster keeps that
text as its reason and in its events. For a tenant:
- every spine pod, leaf domain and NVLink domain name becomes its level word ("best is a leaf domain
  with 11"; "leaf domain leaf-p02-su07 could hold it" reads "a leaf domain could hold it");
- node and switch names too, except those given as the tenant's own (`keep`: what its scope holds);
- sites keep their names (a tenant names sites in its requests).
Providers read the text as it is. Names are matched as whole words, exactly.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Set

from metalgraph.server.placement.explain import NOUN
from metalgraph.server.placement.index import PlacementIndex
from metalgraph.server.placement.spec import OUTER_FIRST

_NOUNS = "|".join(re.escape(NOUN[level][0]) for level in OUTER_FIRST[1:]) + "|node|switch"
_NAME = re.compile(rf"(?:\b(?:{_NOUNS}) )?([\w.:/@-]+)")
_TRAILING = ".:/@-"


def _article(noun: str) -> str:
    return ("an " if noun[0].lower() in "aeiou" else "a ") + noun


class Redactor:
    """The names of one placement index, and how a tenant reads text that holds them."""

    def __init__(self, index: PlacementIndex) -> None:
        t = index.topology
        self.sites = frozenset(t.domain_names[0])
        self.domains: dict[str, str] = {}
        for depth, level in enumerate(OUTER_FIRST):
            if depth:
                for name in t.domain_names[depth]:
                    self.domains.setdefault(name, _article(NOUN[level][0]))
        self.nodes = frozenset(t.node_names)
        self.switches = frozenset(t.switches)

    def _word(self, name: str, keep: Set[str]) -> str | None:
        """What a tenant reads instead of `name`; None when it may read the name."""
        if not name or name in self.sites:
            return None
        if name in self.nodes:
            return None if name in keep else "a node"
        if name in self.domains:
            return self.domains[name]
        if name in self.switches:
            return None if name in keep else "a switch"
        return None

    def redact(self, text: str, keep: Set[str] = frozenset()) -> str:
        def replace(m: re.Match[str]) -> str:
            token = m[1]
            name = token.rstrip(_TRAILING)
            word = self._word(name, keep)
            if word is None:
                return m[0]
            return word + token[len(name) :]

        return _NAME.sub(replace, text) if text else text


_CACHE: weakref.WeakKeyDictionary[PlacementIndex, Redactor] = weakref.WeakKeyDictionary()


def redactor(index: PlacementIndex) -> Redactor:
    found = _CACHE.get(index)
    if found is None:
        found = _CACHE[index] = Redactor(index)
    return found
