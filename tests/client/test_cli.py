"""The `metalgraph` command line: import/export/schema in-process (CliRunner), serve + query as real processes.

Every test uses its own embedded store in a temporary data directory.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from metalgraph.client import ApiError, ConnectionFailed, MetalgraphClient
from metalgraph.client.cli import parse_variables
from metalgraph.server.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures"
SMALL = FIXTURES / "small.yaml"

runner = CliRunner()


def cli(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def exported(data_dir: Path) -> dict:
    result = cli("export", "--data-dir", data_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def small_document() -> dict:
    return yaml.safe_load(SMALL.read_text())


def write_yaml(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


# --- import / export ----------------------------------------------------------------------


def test_import_reports_additions_then_no_changes(tmp_path: Path) -> None:
    data = tmp_path / "d"
    first = cli("import", SMALL, "--data-dir", data)
    assert first.exit_code == 0, first.output
    assert "changes applied" in first.stdout
    assert re.search(r"Node\s+│\s+1\s+│\s+0\s+│\s+0", first.stdout)

    second = cli("import", SMALL, "--data-dir", data)
    assert second.exit_code == 0, second.output
    assert f"no changes: the store already matches {SMALL}" in second.stdout

    as_json = cli("import", SMALL, "--data-dir", data, "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["changes"] == 0


def test_import_json_reports_the_summary(tmp_path: Path) -> None:
    result = cli("import", SMALL, "--data-dir", tmp_path / "d", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dry_run"] is False
    assert report["summary"]["Node"] == {"added": 1, "changed": 0, "removed": 0}
    assert report["summary"]["GPU"]["added"] == 2


def test_dry_run_shows_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "d"
    result = cli("import", SMALL, "--dry-run", "--data-dir", data)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "+ Node n1" in lines
    assert "+ (Rack r1)-[HOLDS]->(Node n1)" in lines
    assert "nothing was written" in result.stdout
    assert exported(data) == {}


def test_dry_run_shows_changes_and_removals(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert cli("import", SMALL, "--data-dir", data).exit_code == 0
    document = small_document()
    document["nodes"][0]["memory_gb"] = 4096
    document["switches"] = [s for s in document["switches"] if s["name"] != "spine1"]
    document["links"] = []
    changed = write_yaml(tmp_path / "changed.yaml", document)

    result = cli("import", changed, "--dry-run", "--data-dir", data)
    assert result.exit_code == 0, result.output
    assert "~ Node n1: memory_gb 2048" in result.stdout
    assert "- Switch spine1" in result.stdout

    kept = cli("import", changed, "--dry-run", "--no-prune", "--data-dir", data)
    assert "- Switch spine1" not in kept.stdout
    assert "~ Node n1" in kept.stdout


def test_invalid_field_exits_2_names_the_path_and_writes_nothing(tmp_path: Path) -> None:
    document = small_document()
    document["nodes"][0]["gpus"][1]["memory_gb"] = -5
    bad = write_yaml(tmp_path / "bad.yaml", document)
    data = tmp_path / "d"

    result = cli("import", bad, "--data-dir", data)
    assert result.exit_code == 2
    assert "nodes[0].gpus[1].memory_gb" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert exported(data) == {}

    as_json = cli("import", bad, "--data-dir", data, "--json")
    assert as_json.exit_code == 2
    problems = json.loads(as_json.stdout)["problems"]
    assert [p["path"] for p in problems] == ["nodes[0].gpus[1].memory_gb"]


def test_unknown_reference_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    document = small_document()
    document["nodes"][0]["rack"] = "r9"
    bad = write_yaml(tmp_path / "bad.yaml", document)
    data = tmp_path / "d"

    result = cli("import", bad, "--data-dir", data)
    assert result.exit_code == 2
    assert "nodes[0].rack" in result.stderr
    assert "r9" in result.stderr
    assert exported(data) == {}


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = cli("import", tmp_path / "nope.yaml", "--data-dir", tmp_path / "d")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: no such file: {tmp_path / 'nope.yaml'}"
    assert not (tmp_path / "d").exists()


def test_bad_settings_are_one_line(tmp_path: Path) -> None:
    result = cli("import", SMALL, "--store", "mysql://x")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid setting store")
    assert len(result.stderr.strip().splitlines()) == 1

    missing = cli("export", "--config", tmp_path / "none.toml")
    assert missing.exit_code == 2
    assert "no such config file" in missing.stderr


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_then_import_is_a_no_op(tmp_path: Path, fmt: str) -> None:
    data = tmp_path / "d"
    assert cli("import", SMALL, "--data-dir", data).exit_code == 0
    dump = tmp_path / f"dump.{fmt}"
    result = cli("export", "--data-dir", data, "--output", dump)
    assert result.exit_code == 0, result.output
    assert dump.exists()

    again = cli("import", dump, "--data-dir", data)
    assert again.exit_code == 0, again.output
    assert f"no changes: the store already matches {dump}" in again.stdout

    # and into an empty store, the export reproduces the fixture's store exactly
    fresh = tmp_path / "fresh"
    assert cli("import", dump, "--data-dir", fresh).exit_code == 0
    assert "no changes" in cli("import", SMALL, "--data-dir", fresh).stdout


def test_export_to_stdout_is_yaml_by_default(tmp_path: Path) -> None:
    data = tmp_path / "d"
    cli("import", SMALL, "--data-dir", data)
    result = cli("export", "--data-dir", data)
    assert result.exit_code == 0
    document = yaml.safe_load(result.stdout)
    assert [n["name"] for n in document["nodes"]] == ["n1"]


# --- demo and schema ----------------------------------------------------------------------


def test_demo_writes_a_valid_inventory_file(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    result = cli("demo", "--gpus", "16", "--output", out)
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert sum(len(n.get("gpus", [])) for n in document["nodes"]) == 16
    checked = cli("import", out, "--dry-run", "--data-dir", tmp_path / "d", "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["summary"]["GPU"]["added"] == 16


def test_demo_import_writes_into_the_store(tmp_path: Path) -> None:
    data = tmp_path / "d"
    result = cli("demo", "--gpus", "16", "--import", "--data-dir", data)
    assert result.exit_code == 0, result.output
    assert "changes applied" in result.stdout
    assert len(exported(data)["nodes"]) == 2


def test_schema_inventory_is_json_schema() -> None:
    result = cli("schema", "inventory")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "$defs" in schema
    assert "Node" in schema["$defs"]


def test_schema_graphql_is_the_sdl() -> None:
    result = cli("schema", "graphql")
    assert result.exit_code == 0
    assert "type Query" in result.stdout


# --- query: variables ---------------------------------------------------------------------


def test_variables_are_typed_by_the_document() -> None:
    from graphql import OperationDefinitionNode, parse

    doc = parse("query($n: String!, $id: ID, $first: Int, $on: Boolean, $state: NodeState) { x }")
    op = doc.definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    types = {v.variable.name.value: v.type for v in op.variable_definitions}
    got = parse_variables(
        ["n=007", "id=12", "first=10", "on=true", "state=available", "raw:=[1,2]", 'text:="x"'], types
    )
    assert got == {"n": "007", "id": "12", "first": 10, "on": True, "state": "available", "raw": [1, 2], "text": "x"}
    with pytest.raises(ValueError):
        parse_variables(["novalue"], types)
    with pytest.raises(ValueError):
        parse_variables(["bad:={"], types)


def test_query_without_a_server_is_exit_4(tmp_path: Path) -> None:
    (tmp_path / "q.graphql").write_text("{ nodes { totalCount } }")
    result = cli("query", tmp_path / "q.graphql", "--url", f"http://127.0.0.1:{_closed_port()}/graphql")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: cannot reach")


def test_query_syntax_error_is_reported_before_sending(tmp_path: Path) -> None:
    (tmp_path / "q.graphql").write_text("{ nodes(first: ")
    result = cli("query", tmp_path / "q.graphql", "--url", f"http://127.0.0.1:{_closed_port()}/graphql")
    assert result.exit_code == 1
    assert "[GRAPHQL_PARSE_FAILED]" in result.stderr


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- serve + query against a live server --------------------------------------------------


def _metalgraph() -> list[str]:
    script = Path(sys.executable).parent / "metalgraph"
    return [str(script)] if script.exists() else [sys.executable, "-m", "metalgraph.server.cli"]


def _children(pid: int) -> dict[int, str]:
    """Child processes of `pid` and their command lines, from /proc."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return found


def _redis_processes_using(data_dir: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "redis-server" in cmdline and str(data_dir) in cmdline:
                pids.append(int(entry.name))
    return pids


def _wait_for_url(server: subprocess.Popen[bytes], stdout: Path, stderr: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"serve exited with {server.returncode}:\n{stdout.read_text()}\n{stderr.read_text()}")
        match = re.search(r"GraphQL: (http://\S+/graphql)", stdout.read_text())
        if match:
            url = match.group(1)
            try:
                if httpx.get(url.removesuffix("/graphql") + "/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    pytest.fail(f"serve did not become healthy within {timeout} s:\n{stderr.read_text()}")


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_serve_query_and_clean_stop(tmp_path: Path, stop_signal: signal.Signals) -> None:
    data = tmp_path / "d"
    assert cli("import", SMALL, "--data-dir", data).exit_code == 0
    stdout, stderr = tmp_path / "serve.out", tmp_path / "serve.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        server = subprocess.Popen(
            [*_metalgraph(), "serve", "--data-dir", str(data), "--port", "0"],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "COLUMNS": "200", "METALGRAPH_LOOPBACK_READS": "true"},  # queries without a token
        )
    try:
        url = _wait_for_url(server, stdout, stderr)
        redis = {pid: cmd for pid, cmd in _children(server.pid).items() if "redis-server" in cmd}
        assert len(redis) == 1, _children(server.pid)

        # `metalgraph query FILE --json` as a real process
        query = tmp_path / "q.graphql"
        query.write_text("query($n: String!) { node(name: $n) { name } nodes(first: 10) { totalCount } }")
        done = subprocess.run(
            [*_metalgraph(), "query", str(query), "--url", url, "--var", "n=n1", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"node": {"name": "n1"}, "nodes": {"totalCount": 1}}

        # a GraphQL error: non-zero exit and its code on stderr
        invalid = tmp_path / "invalid.graphql"
        invalid.write_text("{ nodes { totalCount } noSuchField }")
        failed = cli("query", invalid, "--url", url, "--json")
        assert failed.exit_code == 1
        assert "[GRAPHQL_VALIDATION_FAILED]" in failed.stderr
        assert failed.stdout == ""

        # the SDK directly: typed errors with code and path
        client = MetalgraphClient(url, timeout=10)
        assert client.execute_sync('{ node(name: "n1") { name } }') == {"node": {"name": "n1"}}
        with pytest.raises(ApiError) as caught:
            client.execute_sync("{ nodes(first: 100000) { totalCount } }")
        assert caught.value.code == "PAGE_SIZE_LIMIT"
        assert caught.value.path == ("nodes",)
        with pytest.raises(ConnectionFailed):
            MetalgraphClient(f"http://127.0.0.1:{_closed_port()}/graphql").execute_sync("{ __typename }")

        # the data directory belongs to the server: a direct import is refused with exit 3
        locked = cli("import", SMALL, "--data-dir", data)
        assert locked.exit_code == 3
        assert "in use" in locked.stderr
        assert "Traceback" not in locked.output
    finally:
        server.send_signal(stop_signal)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            pytest.fail("serve did not stop within 60 s of the signal")

    assert server.returncode == 0, stderr.read_text()
    assert "metalgraph stopped" in stderr.read_text()
    assert "Traceback" not in stderr.read_text()
    for pid in redis:
        assert not Path(f"/proc/{pid}").exists() or "redis-server" not in Path(f"/proc/{pid}/cmdline").read_text()
    assert _redis_processes_using(data) == []
    # and the store is free again, with its data intact
    assert "no changes" in cli("import", SMALL, "--data-dir", data).stdout


@pytest.mark.slow
def test_serve_demo_answers_the_readme_query(tmp_path: Path) -> None:
    """`metalgraph serve --demo` seeds an empty store and answers the README's example query."""
    data = tmp_path / "d"
    stdout, stderr = tmp_path / "serve.out", tmp_path / "serve.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        server = subprocess.Popen(
            [*_metalgraph(), "serve", "--demo", "--data-dir", str(data), "--port", "0"],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    try:
        url = _wait_for_url(server, stdout, stderr, timeout=120)
        readme = (Path(__file__).parents[2] / "README.md").read_text()
        query = re.search(r"```graphql\n(.*?)```", readme, re.S)
        assert query is not None, "the README lost its example query"
        body = httpx.post(url, json={"query": query.group(1)}, timeout=30).json()
        assert "errors" not in body, body
        from metalgraph.server.inventory.demo import generate_fabric

        fabric = generate_fabric(gpus=1024, seed=0)  # what `serve --demo` seeds
        h100_nodes = sum(1 for n in fabric.nodes if sum(g.model == "H100-SXM5-80GB" for g in n.gpus) >= 8)
        assert body["data"]["nodes"]["totalCount"] == h100_nodes
        assert body["data"]["path"]["hopCount"] == 4  # gpu-0001 and gpu-0100: one pod, different leaves
        assert "seeded demo fabric" in stderr.read_text()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    assert _redis_processes_using(data) == []
