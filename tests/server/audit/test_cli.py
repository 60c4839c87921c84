"""`metalgraph audit verify` against an embedded data directory, in-process (CliRunner)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from metalgraph.server.audit import AuditEvent, AuditLog
from metalgraph.server.audit.entry import entry_key
from metalgraph.server.cli import audit_commands
from metalgraph.server.labels import KEYED_LABELS
from metalgraph.server.store.falkordb_store import FalkorStore

runner = CliRunner()


def cli(*args: str | Path):
    app = typer.Typer()
    audit_commands.register(app)
    return runner.invoke(app, [str(a) for a in args])


def populate(data_dir: Path, entries: int, tamper: str | None = None) -> None:
    """Record `entries` entries in a fresh embedded store, then run `tamper` (Cypher) on it."""

    async def work() -> None:
        store = FalkorStore(data_dir, KEYED_LABELS)
        await store.start()
        try:
            log = AuditLog(store)
            for i in range(1, entries + 1):
                await log.record(AuditEvent("admin", "provider-admin", None, f"op{i}", {"n": i}))
            if tamper is not None:
                await store.write(tamper)
        finally:
            await store.close()

    asyncio.run(work())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_an_intact_log_verifies(data_dir: Path) -> None:
    populate(data_dir, 3)
    result = cli("audit", "verify", "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "audit log intact: 3 entries"
    assert "head: entry 3, hash " in result.stdout


def test_an_empty_store_verifies(data_dir: Path) -> None:
    result = cli("audit", "verify", "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "audit log intact: 0 entries"


def test_a_tampered_log_names_the_first_bad_entry(data_dir: Path) -> None:
    populate(data_dir, 4, f"MATCH (e:AuditEntry {{key: '{entry_key(2)}'}}) SET e.actor = 'mallory'")
    result = cli("audit", "verify", "--data-dir", data_dir)
    assert result.exit_code == 1
    assert "audit log broken at entry 2 (edited)" in " ".join(result.output.split())


def test_json_reports_the_result(data_dir: Path) -> None:
    populate(data_dir, 5, f"MATCH (e:AuditEntry {{key: '{entry_key(3)}'}}) DELETE e")
    result = cli("audit", "verify", "--data-dir", data_dir, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["intact"] is False
    assert (report["first_bad_seq"], report["problem"], report["checked"], report["head_seq"]) == (3, "missing", 2, 5)

    populate(data_dir.with_name("other"), 2)
    result = cli("audit", "verify", "--data-dir", data_dir.with_name("other"), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["intact"] is True
