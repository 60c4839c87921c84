"""The assembled GraphQL schema and its guards."""

from __future__ import annotations

from typing import Any

import strawberry

from metalgraph.server.settings import Settings

from .access import AccessPolicy
from .audit_query import AuditQuery
from .audit_trail import AuditTrail
from .cost import CostLimiter
from .discovery_schema import DiscoveryMutation, DiscoveryQuery
from .document_limits import DocumentLimiter, DocumentLimits
from .errors import ErrorCodes
from .execution_limit import field_limited
from .isolation_schema import IsolationQuery
from .lifecycle_mutation import LifecycleMutation
from .lifecycle_query import LifecycleQuery
from .mutation import InventoryMutation
from .query import InventoryQuery
from .subscription import OperationContext, Subscription, SubscriptionRefusals
from .tenancy_mutation import TenancyMutation
from .tenancy_query import TenancyQuery
from .topology_query import TopologyQuery


@strawberry.type
class Query(InventoryQuery, TopologyQuery, TenancyQuery, LifecycleQuery, IsolationQuery, AuditQuery, DiscoveryQuery):
    pass


@strawberry.type
class Mutation(InventoryMutation, TenancyMutation, LifecycleMutation, DiscoveryMutation):
    pass


class MetalgraphSchema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Expected errors are the caller's business; ErrorCodes logs the unexpected ones once."""


def build_schema(settings: Settings | None = None) -> MetalgraphSchema:
    limits = settings or Settings()
    document_limits = DocumentLimits(
        max_chars=limits.max_document_chars,
        max_tokens=limits.max_document_tokens,
        max_fields=limits.max_document_fields,
        max_depth=limits.max_query_depth,
        max_aliases=limits.max_aliases,
        max_directives=limits.max_directives,
        max_repeats=limits.max_field_repeats,
        max_fragments=limits.max_fragments,
    )
    return MetalgraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            OperationContext,
            AuditTrail,
            AccessPolicy,
            SubscriptionRefusals,
            lambda: DocumentLimiter(document_limits),
            lambda: CostLimiter(
                max_cost=limits.max_query_cost, default_page=min(100, limits.max_page_size), settings=limits
            ),
            ErrorCodes,
        ],
        execution_context_class=field_limited(limits.max_query_cost),
    )


schema = build_schema()
