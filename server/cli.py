"""The `metalgraph` command: run the server, load and dump inventories, generate demo fabrics.

`serve`, `import`, `export` and `demo --import` open the store themselves (the embedded store
allows one owner of a data directory at a time); `query` (from metalgraph.client.cli) talks to a
running server over GraphQL. Expected failures are one line on stderr and an exit code:
1 store unavailable or other failure, 2 bad input (file missing or invalid), 3 the embedded
store's data directory is in use by a running server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from metalgraph.client.cli import fail, register

from .inventory import files, service
from .inventory.diff import ChangeSet
from .inventory.model import Inventory
from .inventory.records import VERTEX_LABELS
from .inventory.references import InvalidInventory
from .inventory.repository import apply_changes
from .settings import Settings, load_settings
from .store import GraphStore, StoreError, StoreLocked, open_store

if TYPE_CHECKING:
    import uvicorn

T = TypeVar("T")

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_LOCKED = 3

app = typer.Typer(
    name="metalgraph",
    help="Source of truth and allocator for bare-metal AI clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
schema_app = typer.Typer(help="Print the schemas metalgraph speaks.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
register(app)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(StrEnum):
    yaml = "yaml"
    json = "json"


DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="Embedded store directory.", show_default=False)]
StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="`embedded` or a Neo4j URI (bolt://db:7687).", show_default=False),
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML settings file.", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")]
FormatOption = Annotated[
    Format | None, typer.Option("--format", "-f", help="yaml or json (default: from the --output suffix, else yaml).")
]


# --- helpers ------------------------------------------------------------------------------


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except FileNotFoundError:
        fail(f"no such config file: {config}", EXIT_BAD_INPUT)
    except ValueError as e:  # tomllib.TOMLDecodeError and pydantic's ValidationError are ValueErrors
        if isinstance(e, ValidationError):
            first = e.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            fail(f"invalid setting {where}: {first['msg']}", EXIT_BAD_INPUT)
        fail(f"cannot read config file {config}: {e}", EXIT_BAD_INPUT)


def _store_failure(e: StoreError, locked_hint: str = "") -> NoReturn:
    if isinstance(e, StoreLocked):
        fail(f"{e}{locked_hint}", EXIT_LOCKED)
    fail(f"store: {e}", EXIT_FAILURE)


def _run_with_store(settings: Settings, work: Callable[[GraphStore], Coroutine[Any, Any, T]]) -> T:
    """Start the store, run `work` on it, close the store even after Ctrl-C; store errors exit cleanly."""
    store = open_store(settings, VERTEX_LABELS)
    try:
        with asyncio.Runner() as runner:
            try:
                runner.run(store.start())
                return runner.run(work(store))
            finally:
                runner.run(store.close())
    except StoreError as e:
        _store_failure(e, "; or work through that server's GraphQL API (metalgraph query)")


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


@contextlib.contextmanager
def _progress(description: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, fed by `progress(done, total)` callbacks."""
    if not enabled or not err.is_terminal:  # a bar drawn into a pipe or a log file is only noise
        yield lambda done, total: None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _summary_table(changes: ChangeSet) -> Table:
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


def _diff_text(line: str) -> Text:
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
    err.print(f"wrote {_inventory_counts(inventory)} to {output}")


def _inventory_counts(inventory: Inventory) -> str:
    gpus = sum(len(n.gpus) for n in inventory.nodes)
    return (
        f"{len(inventory.nodes)} nodes, {gpus} GPUs, {len(inventory.switches)} switches, {len(inventory.links)} links"
    )


async def _import(
    store: GraphStore, inventory: Inventory, *, prune: bool, dry_run: bool, show_progress: bool
) -> ChangeSet:
    changes = await service.plan_import(store, inventory, prune=prune)
    if not changes.empty and not dry_run:
        with _progress(f"writing {changes.size} changes", show_progress) as update:
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
            out.print(_diff_text(line))
        out.print(_summary_table(changes))
        out.print(f"dry run: {changes.size} changes would be made; nothing was written")
    else:
        out.print(_summary_table(changes))
        out.print(f"imported {file}: {changes.size} changes applied")


# --- commands -----------------------------------------------------------------------------


@app.command("import")
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
    settings = _settings(config, data_dir=data_dir, store=store)
    changes = _run_with_store(
        settings,
        lambda s: _import(s, inventory, prune=not no_prune, dry_run=dry_run, show_progress=not as_json),
    )
    _report_import(str(file), changes, dry_run=dry_run, prune=not no_prune, as_json=as_json, max_lines=max_lines)


@app.command()
def export(
    output: OutputOption = None,
    fmt: FormatOption = None,
    data_dir: DataDirOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Write what the store holds as an inventory file (that `import` turns back into the same store)."""
    settings = _settings(config, data_dir=data_dir, store=store)
    inventory = _run_with_store(settings, service.export_inventory)
    _write_inventory(inventory, output, fmt)


@app.command()
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
    settings = _settings(config, data_dir=data_dir, store=store) if do_import else None
    if as_json and fmt is None and not do_import:
        fmt = Format.json
    inventory = _generate(gpus, seed, nvl72, show_progress=not as_json)
    if output is not None or not do_import:
        _write_inventory(inventory, output, fmt)
    if settings is not None:
        changes = _run_with_store(
            settings, lambda s: _import(s, inventory, prune=not no_prune, dry_run=False, show_progress=not as_json)
        )
        _report_import(
            f"demo fabric ({_inventory_counts(inventory)})",
            changes,
            dry_run=False,
            prune=not no_prune,
            as_json=as_json,
            max_lines=0,
        )


def _generate(gpus: int, seed: int, nvl72: bool, show_progress: bool = True) -> Inventory:
    from .inventory.demo import generate_fabric

    try:
        with _progress(f"generating {gpus} GPUs", show_progress) as update:
            return generate_fabric(gpus=gpus, seed=seed, nvl72=nvl72, progress=update)
    except ValueError as e:
        fail(f"cannot generate that fabric: {e}", EXIT_BAD_INPUT)


@schema_app.command("inventory")
def schema_inventory() -> None:
    """The JSON Schema of the inventory file format."""
    sys.stdout.write(json.dumps(files.inventory_json_schema(), indent=2) + "\n")


@schema_app.command("graphql")
def schema_graphql() -> None:
    """The GraphQL SDL of the API."""
    from metalgraph.schema.schema import schema

    sys.stdout.write(schema.as_str().rstrip("\n") + "\n")


# --- serve --------------------------------------------------------------------------------


@app.command()
def serve(
    demo: Annotated[bool, typer.Option("--demo", help="Seed a demo fabric into an empty store.")] = False,
    demo_gpus: Annotated[int, typer.Option("--demo-gpus", min=1, help="GPUs of the --demo fabric.")] = 1024,
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address [default: 127.0.0.1].", show_default=False)
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=0, max=65535, help="Port to bind; 0 picks a free one [default: 8080].", show_default=False
        ),
    ] = None,
    data_dir: DataDirOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the GraphQL server (GraphiQL at /graphql, /healthz, /metrics) until Ctrl-C."""
    settings = _settings(config, host=host, port=port, data_dir=data_dir, store=store)
    sock = _listen(settings.host, settings.port)
    the_store = open_store(settings, VERTEX_LABELS)
    interrupted = False
    try:
        with asyncio.Runner() as runner:
            try:
                runner.run(_cancel_on_sigterm(the_store.start()))
                if demo and runner.run(_cancel_on_sigterm(_node_count(the_store))) == 0:
                    with _sigterm_interrupts():  # generating is CPU-bound: let a signal stop it at once
                        inventory = _generate(demo_gpus, 0, False)
                    runner.run(_cancel_on_sigterm(_seed(the_store, inventory)))
                server = _make_server(settings, the_store)
                bound_host, bound_port = sock.getsockname()[:2]
                where = "" if settings.uses_neo4j else f" ({settings.data_dir})"
                out.print(f"metalgraph serving on {settings.store} store{where}")
                url = f"http://{_url_host(bound_host)}:{bound_port}/graphql"
                out.print(Text("GraphiQL: ") + Text(url, style="bold"))
                out.print("Press Ctrl-C to stop.")
                runner.run(server.serve(sockets=[sock]))
            except (KeyboardInterrupt, asyncio.CancelledError):
                interrupted = True
            finally:
                sock.close()
                runner.run(the_store.close())
    except StoreError as e:
        _store_failure(e)
    if interrupted:
        err.print("metalgraph stopped before it started serving")
        raise typer.Exit(130)
    err.print("metalgraph stopped")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _listen(host: str, port: int) -> socket.socket:
    """Bind before anything else starts, so a busy port is one clear error (and port 0 a known port)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as e:
        fail(f"cannot listen on {host}:{port}: {e.strerror or e}", EXIT_FAILURE)
    sock.set_inheritable(True)
    return sock


async def _cancel_on_sigterm(work: Awaitable[T]) -> T:
    """Run `work`; SIGTERM cancels it as Ctrl-C would (asyncio.Runner handles SIGINT itself)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await work
    finally:
        if in_main_thread:
            loop.remove_signal_handler(signal.SIGTERM)


async def _node_count(store: GraphStore) -> int:
    rows = await store.read("MATCH (n:Node) RETURN count(n) AS c")
    count = int(rows[0]["c"]) if rows else 0
    if count:
        err.print(f"store already holds {count} nodes; not seeding the demo fabric")
    return count


async def _seed(store: GraphStore, inventory: Inventory) -> None:
    with _progress("seeding the demo fabric") as update:
        changes = await service.import_inventory(store, inventory, progress=update)
    err.print(f"seeded demo fabric: {_inventory_counts(inventory)} ({changes.size} records)")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Outside the event loop, SIGTERM raises KeyboardInterrupt as Ctrl-C does (so cleanup runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _make_server(settings: Settings, store: GraphStore) -> uvicorn.Server:
    import uvicorn

    from .app import create_app

    class Server(uvicorn.Server):
        """uvicorn's server, minus re-raising the stop signal after a graceful shutdown: the store
        closes after `serve` returns, and a re-raised SIGTERM would kill the process first."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

    config = uvicorn.Config(
        create_app(settings, store=store), log_level=settings.log_level.lower(), lifespan="on", server_header=False
    )
    return Server(config)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
