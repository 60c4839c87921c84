"""`metalgraph cluster ...`: plan, create, watch and give back clusters through the GraphQL API.

    metalgraph cluster plan --nodes 4 --level leaf --mode required
    metalgraph cluster create train --gpus 64 --gpu-model H100-SXM5-80GB      # waits on a terminal
    metalgraph cluster watch train
    metalgraph cluster status train
    metalgraph cluster resize train --add 2 --wait
    metalgraph cluster release train --wait && metalgraph cluster delete train

Jobs run on the server; `--wait` (the default of `create` on a terminal) follows the cluster's events
over a websocket subscription (`clusterEvents`), or, when no websocket can be opened, by polling
`cluster { events(after:) }` every second. The display shows the state, a progress bar fed by each
event's done/total, and each event's message as a line; off a terminal only the lines are printed
(`--json`: one JSON object per event). `--url`, `--token` and the exit codes are those of the other
client commands (`cli`): 0 ok (a followed job ended ready or released), 1 the server refused, the plan
is infeasible, or the job failed or was rolled back, 2 bad input, 4 server unreachable, 130 interrupted
(the job goes on on the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .cli import EXIT_API_ERROR, EXIT_BAD_INPUT, EXIT_UNREACHABLE, TokenOption, UrlOption, fail, resolve_or_fail
from .config import Resolved
from .errors import ApiError, ConnectionFailed, ProtocolError, SubscriptionUnavailable

if TYPE_CHECKING:
    from .sdk import MetalgraphClient

EXIT_INTERRUPTED = 130

LEVELS = ("NVLINK_DOMAIN", "LEAF", "SPINE_POD", "SITE")
MODES = ("REQUIRED", "PREFERRED", "UNCONSTRAINED")
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

out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)  # server data is never markup

cluster_app = typer.Typer(
    help="Plan, create, watch, resize and release clusters (the server runs the jobs).", no_args_is_help=True
)

# --- options -------------------------------------------------------------------------------

JsonOption = Annotated[bool, typer.Option("--json", help="Plain JSON on stdout (for scripts).")]
TenantOption = Annotated[
    str | None,
    typer.Option("--tenant", help="The cluster's tenant (providers must name one; tenants act on their own)."),
]
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The cluster's name.", show_default=False)]
WaitOption = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job's events until the cluster rests.")]
NodesOpt = Annotated[int | None, typer.Option("--nodes", min=1, help="Whole nodes wanted (or --gpus).")]
GpusOpt = Annotated[int | None, typer.Option("--gpus", min=1, help="GPUs wanted (or --nodes).")]
GpuModelOpt = Annotated[str | None, typer.Option("--gpu-model", help="GPU model, e.g. H100-SXM5-80GB.")]
GpusPerNodeOpt = Annotated[int | None, typer.Option("--gpus-per-node", min=1, help="Least GPUs per node.")]
CpuCoresOpt = Annotated[int | None, typer.Option("--cpu-cores", min=1, help="Least CPU cores per node.")]
MemoryOpt = Annotated[float | None, typer.Option("--memory-gb", min=0, help="Least memory per node (GB).")]
StorageOpt = Annotated[float | None, typer.Option("--storage-gb", min=0, help="Least local storage per node (GB).")]
BackendOpt = Annotated[
    float | None, typer.Option("--backend-gbps", min=0, help="Least speed of each backend NIC (Gbps).")
]
LevelOpt = Annotated[
    str,
    typer.Option("--level", help="Topology level to keep the nodes in: nvlink-domain, leaf, spine-pod, site."),
]
ModeOpt = Annotated[str, typer.Option("--mode", help="How strict the level is: required, preferred, unconstrained.")]
MaxHopsOpt = Annotated[int | None, typer.Option("--max-hops", min=0, help="Most switch hops between two nodes.")]
SiteOpt = Annotated[list[str] | None, typer.Option("--site", help="Allowed site; repeatable.")]
RegionOpt = Annotated[list[str] | None, typer.Option("--region", help="Allowed region; repeatable.")]
JurisdictionOpt = Annotated[list[str] | None, typer.Option("--jurisdiction", help="Allowed jurisdiction; repeatable.")]
CertificationOpt = Annotated[
    list[str] | None, typer.Option("--certification", help="Certification the site must hold; repeatable.")
]
UnhealthyOpt = Annotated[bool, typer.Option("--include-unhealthy", help="Also consider unhealthy nodes.")]
MaintenanceOpt = Annotated[bool, typer.Option("--include-maintenance", help="Also consider nodes in maintenance.")]
LinkErrorsOpt = Annotated[
    bool, typer.Option("--include-link-errors", help="Also consider nodes whose links report errors.")
]


def enum_value(text: str, choices: tuple[str, ...], what: str) -> str:
    """`spine-pod`, `spine_pod` and `SPINE_POD` all as the API's `SPINE_POD`; ValueError otherwise."""
    value = text.strip().upper().replace("-", "_")
    if value not in choices:
        raise ValueError(f"unknown {what} {text!r}; expected one of {', '.join(label(c) for c in choices)}")
    return value


def label(value: str | None) -> str:
    """An API enum value as the CLI spells it: `SPINE_POD` as `spine-pod`."""
    return (value or "-").lower().replace("_", "-")


def spec_input(
    *,
    nodes: int | None,
    gpus: int | None,
    gpu_model: str | None,
    gpus_per_node: int | None,
    cpu_cores: int | None,
    memory_gb: float | None,
    storage_gb: float | None,
    backend_gbps: float | None,
    level: str,
    mode: str,
    max_hops: int | None,
    sites: list[str] | None,
    regions: list[str] | None,
    jurisdictions: list[str] | None,
    certifications: list[str] | None,
    include_unhealthy: bool,
    include_maintenance: bool,
    include_link_errors: bool,
) -> dict[str, Any]:
    """The `ClusterSpecInput` the options describe; ValueError for options that cannot go together.
    Fields left unset are not sent, so the server's defaults apply."""
    if (nodes is None) == (gpus is None):
        raise ValueError("give exactly one of --nodes and --gpus")
    spec: dict[str, Any] = {
        "nodes": nodes,
        "gpus": gpus,
        "gpuModel": gpu_model,
        "gpusPerNode": gpus_per_node,
        "cpuCores": cpu_cores,
        "memoryGb": memory_gb,
        "storageGb": storage_gb,
        "backendGbps": backend_gbps,
        "maxHops": max_hops,
    }
    spec = {k: v for k, v in spec.items() if v is not None}
    spec["level"] = enum_value(level, LEVELS, "level")
    spec["mode"] = enum_value(mode, MODES, "mode")
    for key, values in (
        ("sites", sites),
        ("regions", regions),
        ("jurisdictions", jurisdictions),
        ("certifications", certifications),
    ):
        if values:
            spec[key] = list(values)
    spec["excludeUnhealthy"] = not include_unhealthy
    spec["excludeMaintenance"] = not include_maintenance
    spec["excludeLinkErrors"] = not include_link_errors
    return spec


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


def _not_found(name: str) -> ApiError:
    return ApiError("NOT_FOUND", f"cluster {name!r} not found")


async def all_events(client: MetalgraphClient, name: str, tenant: str | None, after: int = 0) -> list[dict[str, Any]]:
    """Every event of the cluster after `after`, page by page."""
    events: list[dict[str, Any]] = []
    while True:
        data = await client.execute(EVENTS, {"name": name, "tenant": tenant, "after": after, "first": PAGE})
        cluster = data.get("cluster")
        if cluster is None:
            raise _not_found(name)
        page = cluster["events"]
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
        data = await client.execute(EVENTS, {"name": name, "tenant": tenant, "after": after, "first": PAGE})
        cluster = data.get("cluster")
        if cluster is None:
            raise _not_found(name)
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


# --- the progress display ----------------------------------------------------------------


def _clock(iso: str | None) -> str:
    """An event's ISO timestamp as local `HH:MM:SS`; what the server sent when it is not ISO."""
    if not iso:
        return "--:--:--"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso


def _when(iso: str | None) -> str:
    """An ISO timestamp as `2025-06-01 14:03 UTC` (in UTC); what the server sent when it is not ISO."""
    if not iso:
        return "-"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.utcoffset() is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def event_line(event: dict[str, Any]) -> Text:
    """`HH:MM:SS  state                message`."""
    return Text.assemble(
        (f"{_clock(event.get('at'))}  ", "dim"),
        (f"{label(event.get('state')):<20}", "bold"),
        " " + str(event.get("message", "")),
    )


class EventDisplay:
    """Shows followed events: a line per event, and on a terminal a live bar with the state and the
    step's done/total under them. With `as_json`, one JSON object per event on stdout instead."""

    def __init__(self, console: Console, as_json: bool = False) -> None:
        self.console = console
        self.as_json = as_json
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self._title = ""
        self._state: str | None = None

    @contextlib.contextmanager
    def live(self, title: str) -> Iterator[EventDisplay]:
        if self.as_json or not self.console.is_terminal:
            yield self
            return
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[bold]{task.fields[state]}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._title = title
        self.task = self.progress.add_task(title, total=None, state="waiting", count="")
        try:
            with self.progress:
                yield self
        finally:
            self.progress, self.task = None, None

    def event(self, event: dict[str, Any]) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        self.console.print(event_line(event))
        if self.progress is None or self.task is None:
            return
        state, done, total = event.get("state"), event.get("done"), event.get("total")
        in_progress = done is not None and bool(total) and done < total
        if state != self._state and not in_progress:
            # A new state starts with an empty, pulsing bar (an event that finishes a step often
            # carries the next state with the finished step's done/total).
            self.progress.remove_task(self.task)
            self.task = self.progress.add_task(self._title, total=None, state=label(state), count="")
        elif done is not None and total:
            self.progress.update(self.task, total=total, completed=done, state=label(state), count=f"{done}/{total}")
        self._state = state

    def notice(self, message: str) -> None:
        Console(stderr=True, highlight=False).print(Text("note: ", style="bold yellow") + Text(message), soft_wrap=True)


def _nodes_text(cluster: dict[str, Any]) -> str:
    count = len(cluster.get("nodes") or ())
    vlan = cluster.get("vlan")
    return f"{count} node(s)" + (f" on VLAN {vlan}" if vlan is not None else "")


def wait_for(target: Resolved, name: str, tenant: str | None, as_json: bool, after: int | None = None) -> None:
    """Follow the cluster's job until it rests; exit 0 when it ended ready or released, 1 when it
    failed or the change was rolled back."""
    display = EventDisplay(out, as_json)

    async def work(client: MetalgraphClient) -> tuple[Followed, dict[str, Any] | None]:
        start = await job_start(client, name, tenant) if after is None else after
        with display.live(f"cluster {name}"):
            seen = await follow(client, name, tenant, start, display.event, display.notice)
        final = (await client.execute(CLUSTER, {"name": name, "tenant": tenant})).get("cluster")
        return seen, final

    seen, cluster = run_async(target, work)
    finish(name, seen, cluster, as_json)


def finish(name: str, seen: Followed, cluster: dict[str, Any] | None, as_json: bool) -> None:
    if cluster is None:
        fail(f"[NOT_FOUND] cluster {name!r} not found", EXIT_API_ERROR)
    state = cluster.get("state")
    last = seen.last or {}
    if state == "FAILED":
        fail(f"cluster {name} failed: {cluster.get('reason') or last.get('message') or 'no reason given'}")
    if last.get("kind") == "rolled_back":
        fail(f"cluster {name}: {last.get('message')}")
    if as_json:
        return
    if state == "READY":
        out.print(Text(f"cluster {name} is ready: ", style="bold green") + Text(_nodes_text(cluster)))
    elif state == "RELEASED":
        out.print(Text(f"cluster {name} is released", style="bold green"))
    else:
        out.print(f"cluster {name} is {label(state)}")


def _wants_wait(wait: bool | None) -> bool:
    return sys.stdout.isatty() if wait is None else wait


def _print_cluster_started(cluster: dict[str, Any], verb: str) -> None:
    out.print(f"{verb} cluster {cluster['name']} ({label(cluster.get('state'))}).")
    out.print(f"Follow it with: metalgraph cluster watch {cluster['name']}")


# --- commands ------------------------------------------------------------------------------


@cluster_app.command("plan")
def plan_command(
    nodes: NodesOpt = None,
    gpus: GpusOpt = None,
    gpu_model: GpuModelOpt = None,
    gpus_per_node: GpusPerNodeOpt = None,
    cpu_cores: CpuCoresOpt = None,
    memory_gb: MemoryOpt = None,
    storage_gb: StorageOpt = None,
    backend_gbps: BackendOpt = None,
    level: LevelOpt = "leaf",
    mode: ModeOpt = "preferred",
    max_hops: MaxHopsOpt = None,
    site: SiteOpt = None,
    region: RegionOpt = None,
    jurisdiction: JurisdictionOpt = None,
    certification: CertificationOpt = None,
    include_unhealthy: UnhealthyOpt = False,
    include_maintenance: MaintenanceOpt = False,
    include_link_errors: LinkErrorsOpt = False,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show where a cluster would go now (nothing is reserved); exit 1 when it cannot be placed."""
    try:
        spec = spec_input(
            nodes=nodes,
            gpus=gpus,
            gpu_model=gpu_model,
            gpus_per_node=gpus_per_node,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            storage_gb=storage_gb,
            backend_gbps=backend_gbps,
            level=level,
            mode=mode,
            max_hops=max_hops,
            sites=site,
            regions=region,
            jurisdictions=jurisdiction,
            certifications=certification,
            include_unhealthy=include_unhealthy,
            include_maintenance=include_maintenance,
            include_link_errors=include_link_errors,
        )
    except ValueError as e:
        fail(str(e), EXIT_BAD_INPUT)
    found = call(resolve_or_fail(url, token), PLAN, {"spec": spec})["planCluster"]
    if json_output:
        sys.stdout.write(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    else:
        print_plan(found)
    if not found.get("feasible"):
        raise typer.Exit(EXIT_API_ERROR)


def print_plan(found: dict[str, Any]) -> None:
    explanations = found.get("explanations") or []
    if not found.get("feasible"):
        out.print(Text("Not feasible:", style="bold red"))
        for line in explanations or ["the server gave no reason"]:
            out.print(f"  - {line}")
        return
    where = f" at {found['site']}" if found.get("site") else ""
    out.print(
        Text("Feasible: ", style="bold green")
        + Text(f"{found.get('nodeCount')} node(s), {found.get('gpuCount')} GPU(s){where}")
    )
    grid = Table.grid(padding=(0, 2))
    hops = found.get("hopDiameter")
    bottleneck = found.get("bottleneckGbps")
    grid.add_row("hop diameter", "-" if hops is None else str(hops))
    grid.add_row("bottleneck", "-" if bottleneck is None else f"{bottleneck:g} Gbps")
    out.print(grid)
    fragmentation = {f.get("level"): f.get("score") for f in found.get("fragmentation") or []}
    table = Table(box=None)
    for header in ("level", "domains used", "fragmentation left"):
        table.add_column(header, overflow="fold")
    levels = [d.get("level") for d in found.get("domains") or []]
    levels += [lvl for lvl in fragmentation if lvl not in levels]
    domains = {d.get("level"): d for d in found.get("domains") or []}
    for lvl in levels:
        use = domains.get(lvl) or {}
        score = fragmentation.get(lvl)
        table.add_row(label(lvl), _used(use), "-" if score is None else f"{score:.2f}")
    if levels:
        out.print(table)
    if found.get("nodes"):  # names are for providers; tenants get the counts
        out.print(Text("nodes: ", style="bold") + Text(", ".join(found["nodes"])))
    for line in explanations:
        out.print(f"  - {line}")


def _used(use: dict[str, Any], limit: int = 6) -> str:
    """`3: leaf-a, leaf-b, leaf-c`; the count alone when the server shows no names (tenants)."""
    names: list[str] = use.get("names") or []
    count = use.get("count")
    if count is None:
        return "-"
    if not names:
        return str(count)
    shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
    return f"{count}: {shown}"


@cluster_app.command("create")
def create_command(
    name: NameArgument,
    nodes: NodesOpt = None,
    gpus: GpusOpt = None,
    gpu_model: GpuModelOpt = None,
    gpus_per_node: GpusPerNodeOpt = None,
    cpu_cores: CpuCoresOpt = None,
    memory_gb: MemoryOpt = None,
    storage_gb: StorageOpt = None,
    backend_gbps: BackendOpt = None,
    level: LevelOpt = "leaf",
    mode: ModeOpt = "preferred",
    max_hops: MaxHopsOpt = None,
    site: SiteOpt = None,
    region: RegionOpt = None,
    jurisdiction: JurisdictionOpt = None,
    certification: CertificationOpt = None,
    include_unhealthy: UnhealthyOpt = False,
    include_maintenance: MaintenanceOpt = False,
    include_link_errors: LinkErrorsOpt = False,
    tenant: TenantOption = None,
    description: Annotated[str, typer.Option("--description", help="What the cluster is for.")] = "",
    wait: Annotated[
        bool | None,
        typer.Option(
            "--wait/--no-wait",
            help="Follow provisioning until the cluster is ready or failed (default: on a terminal).",
            show_default=False,
        ),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Ask for a cluster: nodes are reserved, isolated in a VLAN of their own and powered on."""
    try:
        spec = spec_input(
            nodes=nodes,
            gpus=gpus,
            gpu_model=gpu_model,
            gpus_per_node=gpus_per_node,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            storage_gb=storage_gb,
            backend_gbps=backend_gbps,
            level=level,
            mode=mode,
            max_hops=max_hops,
            sites=site,
            regions=region,
            jurisdictions=jurisdiction,
            certifications=certification,
            include_unhealthy=include_unhealthy,
            include_maintenance=include_maintenance,
            include_link_errors=include_link_errors,
        )
    except ValueError as e:
        fail(str(e), EXIT_BAD_INPUT)
    target = resolve_or_fail(url, token)
    variables = {"name": name, "spec": spec, "tenant": tenant, "description": description}
    cluster = call(target, CREATE, variables)["createCluster"]
    if _wants_wait(wait):
        wait_for(target, name, tenant, json_output, after=0)
    elif json_output:
        sys.stdout.write(json.dumps(cluster, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_cluster_started(cluster, "Requested")


@cluster_app.command("watch")
def watch_command(
    name: NameArgument,
    tenant: TenantOption = None,
    after: Annotated[
        int | None,
        typer.Option(
            "--after", min=0, help="Show events after this number (default: from the start of the latest job)."
        ),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per event on stdout.")] = False,
) -> None:
    """Follow a cluster's job until the cluster rests; exit 1 when it failed or was rolled back."""
    wait_for(resolve_or_fail(url, token), name, tenant, json_output, after=after)


@cluster_app.command("status")
def status_command(
    name: NameArgument,
    tenant: TenantOption = None,
    last: Annotated[int, typer.Option("--events", min=0, help="How many of the latest events to show.")] = 5,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a cluster: its state (and why it failed), VLAN, nodes and latest events."""
    target = resolve_or_fail(url, token)

    async def work(client: MetalgraphClient) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        cluster = (await client.execute(CLUSTER, {"name": name, "tenant": tenant})).get("cluster")
        if cluster is None:
            return None, []
        return cluster, await all_events(client, name, tenant)

    cluster, events = run_async(target, work)
    if cluster is None:
        fail(f"[NOT_FOUND] cluster {name!r} not found", EXIT_API_ERROR)
    latest = events[-last:] if last else []
    if json_output:
        sys.stdout.write(json.dumps({**cluster, "events": latest}, indent=2, ensure_ascii=False) + "\n")
        return
    nodes = [n["name"] for n in cluster.get("nodes") or []]
    grid = Table.grid(padding=(0, 2))
    grid.add_row("cluster", str(cluster["name"]))
    grid.add_row("tenant", (cluster.get("tenant") or {}).get("name") or "-")
    grid.add_row("state", label(cluster.get("state")))
    if cluster.get("reason"):
        grid.add_row("reason", str(cluster["reason"]))
    grid.add_row("vlan", "-" if cluster.get("vlan") is None else str(cluster["vlan"]))
    grid.add_row("site", cluster.get("site") or "-")
    grid.add_row("nodes", f"{len(nodes)}: {', '.join(nodes)}" if nodes else "0")
    if cluster.get("description"):
        grid.add_row("description", str(cluster["description"]))
    grid.add_row("created", _when(cluster.get("createdAt")))
    out.print(grid)
    if latest:
        out.print(Text(f"latest events ({len(latest)} of {len(events)}):", style="bold"))
        for event in latest:
            out.print(Text(f"{event['seq']:>4} ") + event_line(event))


@cluster_app.command("list")
def list_command(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's clusters.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """List clusters (a tenant sees its own only)."""
    target = resolve_or_fail(url, token)
    clusters: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = call(target, CLUSTERS, {"first": PAGE, "after": cursor, "tenant": tenant})["clusters"]
        clusters += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    if json_output:
        sys.stdout.write(json.dumps(clusters, indent=2, ensure_ascii=False) + "\n")
        return
    if not clusters:
        out.print("No clusters.")
        return
    table = Table(box=None)
    for header in ("tenant", "name", "state", "vlan", "nodes", "created", "reason"):
        table.add_column(header, no_wrap=header != "reason", overflow="fold")
    for c in clusters:
        table.add_row(
            (c.get("tenant") or {}).get("name") or "-",
            c["name"],
            label(c.get("state")),
            "-" if c.get("vlan") is None else str(c["vlan"]),
            str(len(c.get("nodes") or [])),
            _when(c.get("createdAt")),
            c.get("reason") or "",
        )
    out.print(table)


def _job_command(
    target: Resolved,
    document: str,
    field_name: str,
    variables: dict[str, Any],
    wait: bool,
    json_output: bool,
    verb: str,
) -> None:
    cluster = call(target, document, variables)[field_name]
    if wait:
        wait_for(target, variables["name"], variables.get("tenant"), json_output)
    elif json_output:
        sys.stdout.write(json.dumps(cluster, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_cluster_started(cluster, verb)


@cluster_app.command("release")
def release_command(
    name: NameArgument,
    tenant: TenantOption = None,
    wait: WaitOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Give a cluster back: ports to quarantine, nodes sanitized, VLAN to the pool (ends `released`)."""
    variables = {"name": name, "tenant": tenant}
    _job_command(resolve_or_fail(url, token), RELEASE, "releaseCluster", variables, wait, json_output, "Releasing")


@cluster_app.command("resize")
def resize_command(
    name: NameArgument,
    add: Annotated[int | None, typer.Option("--add", min=1, help="Add this many nodes.")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Remove this node; repeatable.", show_default=False)
    ] = None,
    remove_count: Annotated[
        int | None, typer.Option("--remove-count", min=1, help="Remove this many nodes (the outermost ones).")
    ] = None,
    tenant: TenantOption = None,
    wait: WaitOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Grow a ready cluster (--add N) or shrink it (--remove NODE... or --remove-count N)."""
    given = sum(x is not None and x != [] for x in (add, remove, remove_count))
    if given != 1:
        fail("give exactly one of --add, --remove and --remove-count", EXIT_BAD_INPUT)
    variables: dict[str, Any] = {"name": name, "tenant": tenant}
    if add is not None:
        variables["add"] = add
    if remove:
        variables["remove"] = list(remove)
    if remove_count is not None:
        variables["removeCount"] = remove_count
    _job_command(resolve_or_fail(url, token), RESIZE, "resizeCluster", variables, wait, json_output, "Resizing")


@cluster_app.command("replace-node")
def replace_node_command(
    name: NameArgument,
    node: Annotated[str, typer.Argument(metavar="NODE", help="The node to swap out.", show_default=False)],
    tenant: TenantOption = None,
    wait: WaitOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Swap a node of a ready cluster for the healthy free node closest to the others."""
    variables = {"name": name, "node": node, "tenant": tenant}
    _job_command(
        resolve_or_fail(url, token), REPLACE, "replaceNode", variables, wait, json_output, "Replacing a node in"
    )


@cluster_app.command("delete")
def delete_command(
    name: NameArgument,
    tenant: TenantOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Forget a released or failed cluster and its events (its name can then be used again)."""
    result = call(resolve_or_fail(url, token), DELETE, {"name": name, "tenant": tenant})["deleteCluster"]
    if json_output:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    elif result.get("deleted"):
        out.print(f"Deleted cluster {result.get('name') or name}.")
    else:
        out.print(f"No cluster {name} to delete.")


def register(app: typer.Typer) -> None:
    """Add the `cluster` command group to `app`."""
    app.add_typer(cluster_app, name="cluster")
