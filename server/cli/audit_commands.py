"""`audit verify`: check the hash chain of the audit log in the store."""

from __future__ import annotations

import json
import sys

import typer

from metalgraph.client.cli import fail

from ..audit import VerifyResult, verify
from .common import (
    EXIT_FAILURE,
    ConfigOption,
    DataDirOption,
    JsonOption,
    StoreOption,
    out,
    run_with_store,
    settings_from,
)


def verify_command(
    data_dir: DataDirOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Walk the audit log and check every entry's hash and link; exit 1 naming the first bad entry."""
    settings = settings_from(config, data_dir=data_dir, store=store)
    result: VerifyResult = run_with_store(settings, verify)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
        if not result.intact:
            raise typer.Exit(EXIT_FAILURE)
        return
    if not result.intact:
        where = f"at entry {result.first_bad_seq}" if result.first_bad_seq is not None else "at its head"
        fail(f"audit log broken {where} ({result.problem}): {result.message}", EXIT_FAILURE)
    out.print(f"audit log intact: {result.checked} entries")
    if result.head_hash is not None and result.checked:
        out.print(f"head: entry {result.head_seq}, hash {result.head_hash}")


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    audit_app.command("verify")(verify_command)
    app.add_typer(audit_app, name="audit")
