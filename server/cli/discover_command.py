"""`discover`: read the BMCs and switches of the graph and show (or with --apply, write) what changed.

Devices are read in parallel, each through its driver as the configuration allows; a device that
cannot be read is listed and the others are read all the same. Exit codes: 0 every device was read,
1 a device could not be read or the store failed (the rest is still reported and, with --apply,
written), 2 bad input, 3 the embedded store is in use by a running server.

Devices of the `sim` driver live in this process: the ones the graph names are created from the
graph first (`--sim-drift` cables in a few faults, for demos).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.text import Text

from metalgraph.client.cli import fail

from ..devices.access import DeviceAccess
from ..devices.demo_lab import ensure_sim_devices
from ..discovery.service import DiscoveryResult, discover
from ..errors import NotFound
from ..settings import Settings
from ..store import GraphStore
from .common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    ConfigOption,
    DataDirOption,
    JsonOption,
    StoreOption,
    err,
    out,
    run_with_store,
    settings_from,
)
from .inventory_commands import diff_text, summary_table


async def _discover(
    store: GraphStore,
    settings: Settings,
    *,
    apply: bool,
    nodes: list[str] | None,
    switches: list[str] | None,
    sim_drift: bool,
) -> DiscoveryResult | str:
    seeded = await ensure_sim_devices(store, drift=sim_drift)
    for defect in seeded.defects:
        err.print(f"sim: {defect}")
    access = DeviceAccess.from_settings(settings)
    try:
        return await discover(
            store, access, apply=apply, nodes=nodes, switches=switches, per_device=settings.device_concurrency
        )
    except NotFound as error:
        return error.message


def _report(result: DiscoveryResult, max_lines: int) -> None:
    changes = result.proposal.changes
    out.print(
        f"read {result.read} of {result.observations.devices} devices"
        + (f" ({len(result.skipped)} without an address skipped)" if result.skipped else "")
    )
    for f in result.observations.failures:
        out.print(Text(f"not read: {f.kind} {f.name} at {f.address}: ", style="red") + Text(f"{f.error}: {f.message}"))
    for note in result.proposal.notes[:max_lines]:
        out.print(Text(f"note: {note}", style="dim"))
    if changes.empty:
        out.print("no changes: the graph matches what the devices report")
    else:
        for line in changes.lines(limit=max_lines):
            out.print(diff_text(line))
        out.print(summary_table(changes))
        verb = "applied" if result.applied else "proposed; run with --apply to write them"
        out.print(f"{changes.size} changes {verb}")
    if result.drift is not None:
        counts = result.drift.counts()
        out.print(
            f"link drift{'' if result.applied else ' once applied'}: {counts['missing']} missing, "
            f"{counts['unexpected']} unexpected, {counts['wrong_rail']} on the wrong rail"
        )
        for item in result.drift.items[:max_lines]:
            out.print(Text(f"  {item.kind}: {item.reason}", style="yellow"))


def discover_command(
    apply: Annotated[bool, typer.Option("--apply", help="Write the proposed changes.")] = False,
    node: Annotated[list[str] | None, typer.Option("--node", help="Only this node's BMC (repeatable).")] = None,
    switch: Annotated[list[str] | None, typer.Option("--switch", help="Only this switch (repeatable).")] = None,
    max_lines: Annotated[int, typer.Option("--max-lines", min=0, help="Diff lines and notes shown.")] = 200,
    sim_drift: Annotated[
        bool, typer.Option("--sim-drift", help="Cable a few faults into the simulated devices (demos).")
    ] = False,
    data_dir: DataDirOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read Redfish inventories and LLDP tables; show the changes to the graph (nodes, GPUs, NICs, observed links)."""
    settings = settings_from(config, data_dir=data_dir, store=store)
    only_nodes, only_switches = node or None, switch or None
    if only_nodes is not None or only_switches is not None:  # naming one kind means none of the other
        only_nodes, only_switches = only_nodes or [], only_switches or []
    result = run_with_store(
        settings,
        lambda s: _discover(
            s,
            settings,
            apply=apply,
            nodes=only_nodes,
            switches=only_switches,
            sim_drift=sim_drift,
        ),
    )
    if not isinstance(result, DiscoveryResult):
        fail(result, EXIT_BAD_INPUT)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(max_lines), indent=2) + "\n")
    else:
        _report(result, max_lines)
    if result.observations.failures:
        raise typer.Exit(EXIT_FAILURE)


def register(app: typer.Typer) -> None:
    app.command("discover")(discover_command)
