"""GraphQL types of tenancy: the caller, tenants, clusters and API tokens."""

from __future__ import annotations

import strawberry

from metalgraph.server.auth import principal as auth
from metalgraph.server.auth.tokens import TokenRecord
from metalgraph.server.lifecycle import states
from metalgraph.server.topology.reader import Props, Relation

from .cost import max_items, unbounded
from .errors import ApiError, Code
from .lifecycle_scope import explainer
from .lifecycle_types import ClusterEventView, ClusterSpecView, ClusterState
from .types import Ctx, Node, Wrapped, _many

Role = strawberry.enum(auth.Role)


@strawberry.type(description="A tenant of the cloud: it owns clusters, and its members hold tokens.")
class Tenant(Wrapped):
    name: str
    display_name: str
    created_at: str

    def __init__(self, props: Props) -> None:
        self._p = props
        self.name = props["name"]
        self.display_name = props.get("display_name", "")
        self.created_at = props.get("created_at", "")

    @strawberry.field(description="Contact e-mail (personal data): providers and the tenant's admins only.")
    def contact_email(self, info: Ctx) -> str | None:
        principal = info.context.principal
        if principal is None or principal.role is auth.Role.TENANT_MEMBER:
            return None
        return self._p.get("contact_email") or None

    @strawberry.field(metadata=unbounded("a released cluster stays listed until it is deleted", label="Cluster"))
    async def clusters(self, info: Ctx) -> list[Cluster]:
        return [Cluster(r.props) for r in await _many(info, Relation("Tenant", "OWNS", "Cluster"), self.key)]


@strawberry.type(description="A set of nodes a tenant owns, isolated in its own VLAN.")
class Cluster(Wrapped):
    name: str
    state: ClusterState = strawberry.field(  # type: ignore[valid-type]
        description="Where the cluster is in its lifecycle; watch `events` (or subscribe to `clusterEvents`)."
    )
    description: str
    created_at: str
    vlan: int | None = strawberry.field(description="The cluster's own VLAN on the switches.")
    site: str | None = strawberry.field(description="The site the cluster lives in, once placed.")

    def __init__(self, props: Props) -> None:
        self._p = props
        self.name = props["name"]
        self.state = states.ClusterState(props.get("state") or states.ClusterState.READY)
        self.description = props.get("description", "")
        self.created_at = props.get("created_at", "")
        self.vlan = props.get("vlan")
        self.site = props.get("site")

    @strawberry.field(description="What the cluster was asked for; null for a cluster made before specs were kept.")
    def spec(self) -> ClusterSpecView | None:
        return ClusterSpecView.of(self._p.get("spec"))

    @strawberry.field(description="Why the cluster failed (or why its last change was undone); null when it did not.")
    async def reason(self, info: Ctx) -> str | None:
        reason = self._p.get("reason")
        if not reason:
            return None
        return (await explainer(info, keep_own=True, site=self.site))(reason)

    @strawberry.field(
        description="The error of the last failed attempt at a step of the cluster's current (or last) job, as "
        "the device or the server reported it; a rollback that keeps failing shows why here. "
        "Providers only: null for tenants."
    )
    def last_error(self, info: Ctx) -> str | None:
        principal = info.context.principal
        if principal is None or not principal.is_provider:
            return None
        return self._p.get("last_error") or None

    @strawberry.field(
        description="How often the current step of the cluster's job has failed so far (a rollback is tried again "
        "until it succeeds). Providers only: null for tenants."
    )
    def failed_attempts(self, info: Ctx) -> int | None:
        principal = info.context.principal
        if principal is None or not principal.is_provider:
            return None
        return int(self._p.get("failed_attempts") or 0)

    @strawberry.field(description="The cluster's events after `after` (a `seq`), oldest first.")
    async def events(self, info: Ctx, after: int = 0, first: int = 100) -> list[ClusterEventView]:
        limit = info.context.settings.max_page_size
        if first < 0 or after < 0:
            raise ApiError(Code.INVALID_INPUT, "`first` and `after` must be at least 0")
        if first > limit:
            raise ApiError(Code.PAGE_SIZE_LIMIT, f"`first` may be at most {limit}", argument="first", limit=limit)
        if first == 0:
            return []
        found = await info.context.services.lifecycle.events(self._p["tenant"], self.name, after, first)
        explain = await explainer(info, keep_own=True, site=self.site)
        return [ClusterEventView.of(e, explain(e.message)) for e in found]

    @strawberry.field
    async def tenant(self, info: Ctx) -> Tenant | None:
        props = await info.context.loaders.vertex("Tenant").load(self._p["tenant"])
        return Tenant(props) if props else None

    @strawberry.field(
        description="The nodes in the cluster, in name order.",
        metadata=max_items("max_cluster_nodes", label="Node"),  # the admission rule of every allocation
    )
    async def nodes(self, info: Ctx) -> list[Node]:
        members = await _many(info, Relation("Cluster", "MEMBER", "Node"), self.key)
        return [Node(r.props) for r in sorted(members, key=lambda r: r.props["key"])]


@strawberry.type(description="An API token's record; the secret itself is shown once, at creation.")
class ApiToken:
    id: str
    tenant: str | None
    role: Role  # type: ignore[valid-type]
    description: str
    created_at: str
    created_by: str
    expires_at: str | None
    revoked_at: str | None
    active: bool

    @classmethod
    def of(cls, record: TokenRecord) -> ApiToken:
        return cls(
            id=record.id,
            tenant=record.tenant,
            role=record.role,
            description=record.description,
            created_at=record.created_at,
            created_by=record.created_by,
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
            active=record.active,
        )


@strawberry.type(description="A new token: `token` is the secret, shown this once and never stored.")
class IssuedApiToken:
    token: str
    api_token: ApiToken


@strawberry.type(description="Who the server thinks you are.")
class Viewer:
    subject: str
    role: Role  # type: ignore[valid-type]
    method: str
    tenant_name: str | None = strawberry.field(description="Your tenant; null for provider roles.")


@strawberry.type(description="Free capacity of the pool in one topology domain: counts only, never node names.")
class CapacityBucket:
    site: str
    pod: str = strawberry.field(description="The spine pod (block); empty outside pods, and for tenants.")
    gpu_model: str
    free_nodes: int
    free_gpus: int
