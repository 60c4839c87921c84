"""What the `metalgraph` commands share: the app, consoles, options, settings and store handling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from metalgraph.client.cli import fail

from ..errors import DomainError
from ..labels import KEYED_LABELS
from ..settings import Settings, load_settings
from ..store import GraphStore, StoreError, StoreLocked, open_store

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


def settings_from(config: Path | None, **overrides: Any) -> Settings:
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


def store_failure(e: StoreError, locked_hint: str = "") -> NoReturn:
    if isinstance(e, StoreLocked):
        fail(f"{e}{locked_hint}", EXIT_LOCKED)
    fail(f"store: {e}", EXIT_FAILURE)


def run_with_store(settings: Settings, work: Callable[[GraphStore], Coroutine[Any, Any, T]]) -> T:
    """Start the store, run `work` on it, close the store even after Ctrl-C; store errors exit cleanly."""
    store = open_store(settings, KEYED_LABELS)
    try:
        with asyncio.Runner() as runner:
            try:
                runner.run(store.start())
                return runner.run(work(store))
            finally:
                runner.run(store.close())
    except StoreError as e:
        store_failure(e, "; or work through that server's GraphQL API (metalgraph query)")
    except DomainError as e:  # a refusal of the domain (e.g. an import that would remove a cluster's node)
        fail(e.message, EXIT_BAD_INPUT)


@contextlib.contextmanager
def progress_bar(description: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
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
