"""`import`, `export`, `demo` and `schema`: inventories in and out of the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from metalgraph.client.cli import fail

from ..inventory import files, service
from ..inventory.diff import ChangeSet
from ..inventory.model import Inventory
from ..inventory.references import InvalidInventory
from ..inventory.repository import apply_changes
from ..store import GraphStore
from .common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    ConfigOption,
    DataDirOption,
    Format,
    FormatOption,
    JsonOption,
    OutputOption,
    StoreOption,
    err,
    out,
    progress_bar,
    run_with_store,
    settings_from,
)


def _load(file: Path, as_json: bool) -> Inventory:
    try:
        return files.load_inventory(file)
    except FileNotFoundError:
        fail(f"no such file: {file}", EXIT_BAD_INPUT)
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        fail(f"cannot read {file}: {e}", EXIT_BAD_INPUT)
    except InvalidInventory as e:
        if as_json:
            problems = [{"path": p.path, "message": p.message} for p in e.problems]
            sys.stdout.write(json.dumps({"file": str(file), "valid": False, "problems": problems}, indent=2) + "\n")
        headline = f"{file} is not a valid inventory ({len(e.problems)} problem{'s' if len(e.problems) != 1 else ''}):"
        err.print(Text("error: ", style="bold red") + Text(headline), soft_wrap=True)
        for p in e.problems:
            err.print(Text("  ") + Text(p.path, style="bold") + Text(f": {p.message}"), soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def summary_table(changes: ChangeSet) -> Table:
    table = Table()
    table.add_column("kind")
    for column, style in (("added", "green"), ("changed", "yellow"), ("removed", "red")):
        table.add_column(column, justify="right", style=style)
    totals = dict.fromkeys(("added", "changed", "removed"), 0)
    for kind, counts in changes.summary().items():
        table.add_row(kind, *(str(counts[c]) for c in totals))
        for c in totals:
            totals[c] += counts[c]
    table.add_section()
    table.add_row("total", *(str(v) for v in totals.values()))
    return table


def diff_text(line: str) -> Text:
    style = {"+": "green", "-": "red", "~": "yellow"}.get(line[:1], "dim")
    return Text(line, style=style)


def _format(fmt: Format | None, output: Path | None) -> str:
    if fmt is not None:
        return fmt.value
    return "json" if output is not None and output.suffix.lower() == ".json" else "yaml"


def _write_inventory(inventory: Inventory, output: Path | None, fmt: Format | None) -> None:
    text = files.dump_inventory(inventory, _format(fmt, output))
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.write_text(text)
    except OSError as e:
        fail(f"cannot write {output}: {e}", EXIT_FAILURE)
    err.print(f"wrote {inventory_counts(inventory)} to {output}")


def inventory_counts(inventory: Inventory) -> str:
    gpus = sum(len(n.gpus) for n in inventory.nodes)
    return (
        f"{len(inventory.nodes)} nodes, {gpus} GPUs, {len(inventory.switches)} switches, {len(inventory.links)} links"
    )


async def _import(
    store: GraphStore, inventory: Inventory, *, prune: bool, dry_run: bool, show_progress: bool
) -> ChangeSet:
    changes = await service.plan_import(store, inventory, prune=prune)
    if not changes.empty and not dry_run:
        with progress_bar(f"writing {changes.size} changes", show_progress) as update:
            await apply_changes(store, changes, update)
    return changes


def _report_import(file: str, changes: ChangeSet, *, dry_run: bool, prune: bool, as_json: bool, max_lines: int) -> None:
    if as_json:
        report: dict[str, Any] = {
            "file": file,
            "dry_run": dry_run,
            "prune": prune,
            "changes": changes.size,
            "summary": changes.summary(),
        }
        if dry_run:
            report["lines"] = changes.lines(limit=max_lines)
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    if changes.empty:
        out.print(f"no changes: the store already matches {file}")
        return
    if dry_run:
        for line in changes.lines(limit=max_lines):
            out.print(diff_text(line))
        out.print(summary_table(changes))
        out.print(f"dry run: {changes.size} changes would be made; nothing was written")
    else:
        out.print(summary_table(changes))
        out.print(f"imported {file}: {changes.size} changes applied")


def import_(
    file: Annotated[Path, typer.Argument(help="Inventory file (YAML; JSON if *.json).", show_default=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes; write nothing.")] = False,
    no_prune: Annotated[bool, typer.Option("--no-prune", help="Remove nothing the file lacks.")] = False,
    max_lines: Annotated[int, typer.Option("--max-lines", min=0, help="Diff lines shown by --dry-run.")] = 200,
    data_dir: DataDirOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make the store hold the inventory FILE: validate it, diff it against the store, apply the diff."""
    inventory = _load(file, as_json)
    settings = settings_from(config, data_dir=data_dir, store=store)
    changes = run_with_store(
        settings,
        lambda s: _import(s, inventory, prune=not no_prune, dry_run=dry_run, show_progress=not as_json),
    )
    _report_import(str(file), changes, dry_run=dry_run, prune=not no_prune, as_json=as_json, max_lines=max_lines)


def export(
    output: OutputOption = None,
    fmt: FormatOption = None,
    data_dir: DataDirOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Write what the store holds as an inventory file (that `import` turns back into the same store)."""
    settings = settings_from(config, data_dir=data_dir, store=store)
    inventory = run_with_store(settings, service.export_inventory)
    _write_inventory(inventory, output, fmt)


def demo(
    gpus: Annotated[int, typer.Option("--gpus", "-n", min=1, help="GPUs (rounded up to whole nodes).")] = 1024,
    seed: Annotated[int, typer.Option("--seed", help="Generator seed.")] = 0,
    nvl72: Annotated[bool, typer.Option("--nvl72", help="GB200 NVL72 racks instead of 8-GPU HGX nodes.")] = False,
    output: OutputOption = None,
    fmt: FormatOption = None,
    do_import: Annotated[bool, typer.Option("--import", help="Write the fabric into the store.")] = False,
    no_prune: Annotated[bool, typer.Option("--no-prune", help="With --import: remove nothing.")] = False,
    data_dir: DataDirOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON: the inventory (default format) or, with --import, the report.")
    ] = False,
) -> None:
    """Generate a rail-optimized demo fabric: to an inventory file (or stdout), or into the store with --import."""
    settings = settings_from(config, data_dir=data_dir, store=store) if do_import else None
    if as_json and fmt is None and not do_import:
        fmt = Format.json
    inventory = generate(gpus, seed, nvl72, show_progress=not as_json)
    if output is not None or not do_import:
        _write_inventory(inventory, output, fmt)
    if settings is not None:
        changes = run_with_store(
            settings, lambda s: _import(s, inventory, prune=not no_prune, dry_run=False, show_progress=not as_json)
        )
        _report_import(
            f"demo fabric ({inventory_counts(inventory)})",
            changes,
            dry_run=False,
            prune=not no_prune,
            as_json=as_json,
            max_lines=0,
        )


def generate(gpus: int, seed: int, nvl72: bool, show_progress: bool = True) -> Inventory:
    from ..inventory.demo import generate_fabric

    try:
        with progress_bar(f"generating {gpus} GPUs", show_progress) as update:
            return generate_fabric(gpus=gpus, seed=seed, nvl72=nvl72, progress=update)
    except ValueError as e:
        fail(f"cannot generate that fabric: {e}", EXIT_BAD_INPUT)


def schema_inventory() -> None:
    """The JSON Schema of the inventory file format."""
    sys.stdout.write(json.dumps(files.inventory_json_schema(), indent=2) + "\n")


def schema_graphql() -> None:
    """The GraphQL SDL of the API."""
    from metalgraph.schema.schema import schema

    sys.stdout.write(schema.as_str().rstrip("\n") + "\n")


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command()(export)
    app.command()(demo)
    schema_app = typer.Typer(help="Print the schemas metalgraph speaks.", no_args_is_help=True)
    schema_app.command("inventory")(schema_inventory)
    schema_app.command("graphql")(schema_graphql)
    app.add_typer(schema_app, name="schema")
