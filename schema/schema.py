"""The assembled GraphQL schema."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from .access import AccessPolicy
from .errors import ErrorCodes
from .mutation import InventoryMutation
from .query import InventoryQuery
from .topology_query import TopologyQuery


@strawberry.type
class Query(InventoryQuery, TopologyQuery):
    pass


@strawberry.type
class Mutation(InventoryMutation):
    pass


class MetalgraphSchema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Expected errors are the caller's business; ErrorCodes logs the unexpected ones once."""


def build_schema(max_depth: int = 12, max_aliases: int = 30) -> MetalgraphSchema:
    return MetalgraphSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            AccessPolicy,
            lambda: QueryDepthLimiter(max_depth=max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
            ErrorCodes,
        ],
    )


schema = build_schema()
