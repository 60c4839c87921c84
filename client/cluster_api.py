"""The GraphQL documents of `metalgraph cluster` and how the commands talk to the server: calls,
events, and following a job over the `clusterEvents` subscription or by polling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

from .cli import EXIT_API_ERROR, EXIT_UNREACHABLE, fail
from .config import Resolved
from .errors import ApiError, ConnectionFailed, ProtocolError, SubscriptionUnavailable

if TYPE_CHECKING:
    from .sdk import MetalgraphClient


EXIT_INTERRUPTED = 130
RESTING = frozenset({"READY", "FAILED", "RELEASED"})
JOB_STARTS = frozenset({"requested", "grow", "shrink", "replace", "release"})
"""Event kinds that open a job: `watch` starts at the last of them by default."""
PAGE = 100
POLL_S = 1.0


# --- GraphQL documents ---------------------------------------------------------------------

EVENT_FIELDS = "seq at kind state message done total"
CLUSTER_FIELDS = "name state reason vlan site description createdAt tenant { name } nodes { name }"
PLAN = (
    "query PlanCluster($spec: ClusterSpecInput!) { planCluster(spec: $spec) {"
    " feasible nodeCount gpuCount nodes site domains { level count names } hopDiameter bottleneckGbps"
    " fragmentation { level score } explanations } }"
)
CREATE = (
    "mutation CreateCluster($name: String!, $spec: ClusterSpecInput!, $tenant: String, $description: String!) {"
    " createCluster(name: $name, spec: $spec, tenant: $tenant, description: $description)"
    f" {{ {CLUSTER_FIELDS} }} }}"
)
RELEASE = (
    "mutation ReleaseCluster($name: String!, $tenant: String) {"
    f" releaseCluster(name: $name, tenant: $tenant) {{ {CLUSTER_FIELDS} }} }}"
)
RESIZE = (
    "mutation ResizeCluster($name: String!, $tenant: String, $add: Int, $remove: [String!], $removeCount: Int) {"
    " resizeCluster(name: $name, tenant: $tenant, add: $add, remove: $remove, removeCount: $removeCount)"
    f" {{ {CLUSTER_FIELDS} }} }}"
)
REPLACE = (
    "mutation ReplaceNode($name: String!, $node: String!, $tenant: String) {"
    f" replaceNode(name: $name, node: $node, tenant: $tenant) {{ {CLUSTER_FIELDS} }} }}"
)
DELETE = (
    "mutation DeleteCluster($name: String!, $tenant: String) {"
    " deleteCluster(name: $name, tenant: $tenant) { deleted name } }"
)
CLUSTER = (
    f"query Cluster($name: String!, $tenant: String) {{ cluster(name: $name, tenant: $tenant) {{ {CLUSTER_FIELDS} }} }}"
)
CLUSTERS = (
    "query Clusters($first: Int, $after: String, $tenant: String) {"
    " clusters(first: $first, after: $after, tenant: $tenant) {"
    " edges { node { name state reason vlan createdAt tenant { name } nodes { name } } }"
    " pageInfo { hasNextPage endCursor } } }"
)
EVENTS = (
    "query ClusterEventsPage($name: String!, $tenant: String, $after: Int!, $first: Int!) {"
    f" cluster(name: $name, tenant: $tenant) {{ state events(after: $after, first: $first) {{ {EVENT_FIELDS} }} }} }}"
)
SUBSCRIBE = (
    "subscription ClusterEvents($cluster: String!, $tenant: String, $after: Int!) {"
    f" clusterEvents(cluster: $cluster, tenant: $tenant, after: $after) {{ {EVENT_FIELDS} }} }}"
)


# --- talking to the server ---------------------------------------------------------------


def _client(target: Resolved) -> MetalgraphClient:
    from .sdk import MetalgraphClient

    return MetalgraphClient(target.url, token=target.token or "")


def _api_failure(error: ApiError, target: Resolved) -> NoReturn:
    hint = ""
    if error.code == "UNAUTHENTICATED":
        hint = f"; log in with `metalgraph login --url {target.url}` or pass --token"
    fail(f"{error}{hint}", EXIT_API_ERROR)


def call(target: Resolved, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one operation; any failure is a one-line error and the matching exit code."""
    try:
        return _client(target).execute_sync(document, variables)
    except ApiError as e:
        _api_failure(e, target)
    except (ConnectionFailed, ProtocolError) as e:
        fail(str(e), EXIT_UNREACHABLE)


def run_async(target: Resolved, work: Callable[[MetalgraphClient], Any]) -> Any:
    """Run `work(client)` (a coroutine function) in an event loop of its own, with the CLI's error
    handling; Ctrl-C stops following (the server's job goes on) with exit 130."""

    async def main() -> Any:
        async with _client(target) as client:
            return await work(client)

    try:
        return asyncio.run(main())
    except ApiError as e:
        _api_failure(e, target)
    except (ConnectionFailed, ProtocolError) as e:
        fail(str(e), EXIT_UNREACHABLE)
    except KeyboardInterrupt:
        Console(stderr=True, highlight=False).print("interrupted: stopped following; the job goes on on the server")
        raise typer.Exit(EXIT_INTERRUPTED) from None


async def _events_page(client: MetalgraphClient, name: str, tenant: str | None, after: int) -> dict[str, Any]:
    """The cluster's state and up to `PAGE` events after `after`; NOT_FOUND when there is no such cluster."""
    data = await client.execute(EVENTS, {"name": name, "tenant": tenant, "after": after, "first": PAGE})
    cluster = data.get("cluster")
    if cluster is None:
        raise ApiError("NOT_FOUND", f"cluster {name!r} not found")
    return dict(cluster)


async def all_events(client: MetalgraphClient, name: str, tenant: str | None, after: int = 0) -> list[dict[str, Any]]:
    """Every event of the cluster after `after`, page by page."""
    events: list[dict[str, Any]] = []
    while True:
        page = (await _events_page(client, name, tenant, after))["events"]
        events += page
        if len(page) < PAGE:
            return events
        after = page[-1]["seq"]


async def job_start(client: MetalgraphClient, name: str, tenant: str | None) -> int:
    """The `after` that shows the cluster's current (or last) job from its first event."""
    starts = [e["seq"] for e in await all_events(client, name, tenant) if e["kind"] in JOB_STARTS]
    return starts[-1] - 1 if starts else 0


@dataclass
class Followed:
    """What following a cluster saw: the last event (None when there was none to see)."""

    last: dict[str, Any] | None = None


async def follow(
    client: MetalgraphClient,
    name: str,
    tenant: str | None,
    after: int,
    on_event: Callable[[dict[str, Any]], None],
    on_notice: Callable[[str], None],
    *,
    poll_s: float = POLL_S,
) -> Followed:
    """Pass every event after `after` to `on_event` until the cluster rests: over the `clusterEvents`
    subscription, else (no websocket, or it dropped midway) by polling, from the last event seen."""
    seen = Followed()

    def take(event: dict[str, Any]) -> None:
        seen.last = event
        on_event(event)

    variables = {"cluster": name, "tenant": tenant, "after": after}
    try:
        async with contextlib.aclosing(client.subscribe(SUBSCRIBE, variables)) as stream:
            async for data in stream:
                event = data["clusterEvents"]
                after = max(after, event["seq"])
                take(event)
        return seen
    except SubscriptionUnavailable as e:
        notice = f"cannot open the websocket ({e.reason}); polling for events every {poll_s:g} s instead"
    except ConnectionFailed as e:
        notice = f"the websocket closed ({e.reason}); polling for events every {poll_s:g} s instead"
    on_notice(notice)
    await poll(client, name, tenant, after, take, poll_s=poll_s)
    return seen


async def poll(
    client: MetalgraphClient,
    name: str,
    tenant: str | None,
    after: int,
    on_event: Callable[[dict[str, Any]], None],
    *,
    poll_s: float = POLL_S,
) -> None:
    """`follow` without a websocket: read `cluster { state events(after:) }` until the cluster rests
    and no event is left (the state and the events of one answer may be read a moment apart, so a
    resting state is confirmed by one more read that finds nothing new)."""
    while True:
        cluster = await _events_page(client, name, tenant, after)
        events = cluster["events"]
        for event in events:
            after = max(after, event["seq"])
            on_event(event)
        if len(events) == PAGE:
            continue
        if cluster["state"] in RESTING:
            if not events:
                return
            continue
        await asyncio.sleep(poll_s)
