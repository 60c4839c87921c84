"""`drivers list` and `drivers validate`: the installed drivers, and the conformance kit against a device.

A driver reaches production devices only once it is listed in `validated_drivers`; `validate` runs
the kit (`drivers.conformance.validate`) against a live device or an emulator and keeps the JSON
report as the record of the run. Exit codes: 0 the kit passed, 1 it failed, 2 bad input.
"""

from __future__ import annotations

import asyncio
import json
import sys
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table
from rich.text import Text

from metalgraph.client.cli import fail
from metalgraph.drivers import registry
from metalgraph.drivers.conformance import validate
from metalgraph.drivers.conformance.report import CheckStatus, ConformanceReport
from metalgraph.drivers.sim import SimLab, default_lab
from metalgraph.drivers.types import Credentials, DeviceConfig

from ..devices.secrets import SecretError, SecretStore
from .common import EXIT_BAD_INPUT, EXIT_FAILURE, ConfigOption, JsonOption, err, out, settings_from

STATUS_STYLE = {CheckStatus.PASSED: "green", CheckStatus.FAILED: "bold red", CheckStatus.SKIPPED: "dim"}


class Kind(StrEnum):
    bmc = "bmc"
    switch = "switch"


def list_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The installed drivers of each kind, and whether configuration marks them validated."""
    settings = settings_from(config)
    validated = set(settings.validated_drivers)
    rows: list[dict[str, Any]] = []
    for kind in registry.KINDS:
        for entry in sorted(entry_points(group=registry.GROUPS[kind]), key=lambda e: e.name):
            ref = registry.driver_ref(kind, entry.name)
            package = entry.dist.name if entry.dist is not None else ""
            rows.append({"kind": kind, "driver": entry.name, "package": package, "validated": ref in validated})
    listed = {(row["kind"], row["driver"]) for row in rows}
    unknown = sorted(ref for ref in validated if tuple(ref.split(":", 1)) not in listed)
    if as_json:
        sys.stdout.write(json.dumps({"drivers": rows, "validated_not_installed": unknown}, indent=2) + "\n")
        return
    table = Table()
    for column in ("kind", "driver", "package", "validated"):
        table.add_column(column)
    for row in rows:
        mark = Text("yes", style="green") if row["validated"] else Text("no", style="yellow")
        table.add_row(row["kind"], row["driver"], row["package"], mark)
    out.print(table)
    for ref in unknown:
        err.print(f"warning: validated_drivers lists {ref}, which is not installed")


def _options(values: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key:
            fail(f"--option wants KEY=VALUE, not {value!r}", EXIT_BAD_INPUT)
        options[key] = yaml.safe_load(raw) if raw else ""
    return options


def _sim_lab(target: str) -> SimLab:
    """The sim driver's devices live in the process: use the default lab's device if it has one,
    else a lab that creates a default device at the target on first use."""
    lab = default_lab()
    if lab.find_switch(target) is not None or lab.find_node(target) is not None:
        return lab
    return SimLab(autocreate=True)


def _report_table(report: ConformanceReport) -> Table:
    table = Table(show_lines=False)
    table.add_column("capability")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    table.add_column("what was seen")
    for check in report.checks:
        status = Text(check.status.upper(), style=STATUS_STYLE[check.status])
        table.add_row(check.capability, status, f"{check.duration_s:.2f}", check.message)
    return table


def validate_command(
    kind: Annotated[Kind, typer.Option("--kind", help="bmc or switch.", show_default=False)],
    driver: Annotated[str, typer.Option("--driver", help="The driver's registered name.", show_default=False)],
    target: Annotated[
        str, typer.Option("--target", help="The device address (https://10.0.0.5, udp:10.0.1.2:161, sim://leaf-01).")
    ],
    allow_writes: Annotated[
        bool, typer.Option("--allow-writes", help="Also check setters: VLANs on --test-port, or power and boot.")
    ] = False,
    test_port: Annotated[
        str | None, typer.Option("--test-port", help="Switch port whose VLANs may change (with --allow-writes).")
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the JSON report to this file.")] = None,
    credentials: Annotated[
        str | None,
        typer.Option("--credentials", help="Name of the credentials in the secrets file or environment."),
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="Driver option KEY=VALUE (repeatable), e.g. version=2c.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.001, help="Seconds per driver call [default: settings].")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the conformance kit against one device; print a verdict per capability; exit 0 on pass, 1 on fail."""
    if test_port is not None and not allow_writes:
        fail("--test-port only matters with --allow-writes", EXIT_BAD_INPUT)
    if kind is Kind.switch and allow_writes and test_port is None:
        fail("a switch run with --allow-writes needs --test-port (a port whose VLANs may change)", EXIT_BAD_INPUT)
    if kind is Kind.bmc and test_port is not None:
        fail("--test-port is for switches", EXIT_BAD_INPUT)
    settings = settings_from(config)
    options = _options(option or [])
    secrets = Credentials()
    if credentials is not None:
        try:
            secrets = SecretStore.from_settings(settings).resolve(credentials)
        except SecretError as error:
            fail(str(error), EXIT_BAD_INPUT)
    if driver == "sim" and "lab" not in options:
        options["lab"] = _sim_lab(target)
    device = DeviceConfig(target, secrets, options, timeout if timeout is not None else settings.device_timeout_s)
    report = asyncio.run(
        validate(kind.value, driver, device, allow_writes=allow_writes, test_port=test_port)  # type: ignore[arg-type]
    )
    verdict = Text("PASSED", style="bold green") if report.passed else Text("FAILED", style="bold red")
    mode = "writes allowed" if allow_writes else "read-only"
    out.print(Text(f"{kind.value} driver '{driver}' against {report.target} ({mode}): ") + verdict)
    out.print(_report_table(report))
    if json_file is not None:
        try:
            json_file.write_text(report.to_json() + "\n")
        except OSError as error:
            fail(f"cannot write {json_file}: {error.strerror or error}", EXIT_FAILURE)
        err.print(f"wrote the report to {json_file}")
    ref = registry.driver_ref(kind.value, driver)  # type: ignore[arg-type]
    if not report.passed:
        raise typer.Exit(EXIT_FAILURE)
    if ref not in settings.validated_drivers:
        err.print(f"to let metalgraph use it, add '{ref}' to the validated_drivers setting")


def register(app: typer.Typer) -> None:
    drivers_app = typer.Typer(help="Device drivers: list them, validate one against a device.", no_args_is_help=True)
    drivers_app.command("list")(list_command)
    drivers_app.command("validate")(validate_command)
    app.add_typer(drivers_app, name="drivers")
