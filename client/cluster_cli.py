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

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from .cli import EXIT_API_ERROR, EXIT_BAD_INPUT, TokenOption, UrlOption, fail, resolve_or_fail, when
from .cluster_api import (
    CLUSTER,
    CLUSTERS,
    CREATE,
    DELETE,
    PAGE,
    PLAN,
    RELEASE,
    REPLACE,
    RESIZE,
    all_events,
    call,
    run_async,
)
from .cluster_display import event_line, out, print_cluster_started, wait_for, wants_wait
from .cluster_options import (
    JsonOption,
    NameArgument,
    TenantOption,
    WaitOption,
    label,
    with_spec_options,
)
from .config import Resolved

if TYPE_CHECKING:
    from .sdk import MetalgraphClient

cluster_app = typer.Typer(
    help="Plan, create, watch, resize and release clusters (the server runs the jobs).", no_args_is_help=True
)

# --- commands ------------------------------------------------------------------------------


def _bad_spec(reason: str) -> None:
    fail(reason, EXIT_BAD_INPUT)


@cluster_app.command("plan")
@with_spec_options(_bad_spec)
def plan_command(
    spec: dict[str, Any],
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show where a cluster would go now (nothing is reserved); exit 1 when it cannot be placed."""
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
@with_spec_options(_bad_spec)
def create_command(
    name: NameArgument,
    spec: dict[str, Any],
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
    target = resolve_or_fail(url, token)
    variables = {"name": name, "spec": spec, "tenant": tenant, "description": description}
    cluster = call(target, CREATE, variables)["createCluster"]
    if wants_wait(wait):
        wait_for(target, name, tenant, json_output, after=0)
    elif json_output:
        sys.stdout.write(json.dumps(cluster, indent=2, ensure_ascii=False) + "\n")
    else:
        print_cluster_started(cluster, "Requested")


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
    grid.add_row("created", when(cluster.get("createdAt")))
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
            when(c.get("createdAt")),
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
        print_cluster_started(cluster, verb)


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
