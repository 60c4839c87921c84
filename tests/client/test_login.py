"""`metalgraph login/logout/whoami/tokens` and the CLI's config file.

Three layers: the config file itself (temporary files, no server); where the URL and token come from,
checked on the wire with a tiny HTTP server that records the `Authorization` header it receives; and
the commands end to end against a real `metalgraph serve` (embedded store on loopback, bootstrap
admin token), one server shared by this module.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import stat
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import ADMIN_TOKEN
from metalgraph.client import DEFAULT_URL, MetalgraphClient
from metalgraph.client import config as cfg
from metalgraph.client.auth_cli import parse_role
from metalgraph.client.cli import build_app

SECRET = re.compile(r"mg_([a-z2-7]{16})_[A-Za-z0-9_-]{43}")
runner = CliRunner()
app = build_app()


@pytest.fixture(autouse=True)
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config file path (not created) and no METALGRAPH_URL/TOKEN."""
    path = tmp_path / "home" / "metalgraph" / "config.toml"
    monkeypatch.setenv(cfg.ENV_CONFIG, str(path))
    monkeypatch.delenv(cfg.ENV_URL, raising=False)
    monkeypatch.delenv(cfg.ENV_TOKEN, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return path


def cli(*args: str, input: str | None = None, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), input=input, env=env)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the config file ----------------------------------------------------------------------


def test_save_then_load_round_trips_with_mode_0600(config_file: Path) -> None:
    saved = cfg.CliConfig(url='http://h:1/graphql?a="b"\\c', token="mg_tok\u00e9n\n\t\x7f")
    assert cfg.save(saved) == config_file
    assert cfg.load() == saved
    assert mode(config_file) == 0o600
    assert mode(config_file.parent) == 0o700
    assert config_file.stat().st_uid == os.getuid()
    assert tomllib.loads(config_file.read_text())["token"] == saved.token
    assert [p.name for p in config_file.parent.iterdir()] == ["config.toml"]  # no temporary file left behind


def test_the_file_is_never_readable_by_others_even_before_the_rename(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        seen.append(mode(Path(src)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    old_umask = os.umask(0)  # the most permissive umask: the modes must not depend on it
    try:
        cfg.save(cfg.CliConfig(url="http://h/graphql", token="secret"))
    finally:
        os.umask(old_umask)
    assert seen == [0o600]
    assert mode(config_file) == 0o600
    assert mode(config_file.parent) == 0o700


def test_saving_over_an_open_file_makes_it_private(config_file: Path) -> None:
    config_file.parent.mkdir(parents=True)
    config_file.write_text('url = "http://old/graphql"\n')
    config_file.chmod(0o644)
    cfg.save(cfg.CliConfig(url="http://new/graphql", token="t"))
    assert mode(config_file) == 0o600
    assert cfg.load() == cfg.CliConfig(url="http://new/graphql", token="t")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg.save(cfg.CliConfig(url="http://old/graphql", token="old"))

    def broken(src: str | Path, dst: str | Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(cfg.ConfigError, match="No space left on device"):
        cfg.save(cfg.CliConfig(url="http://new/graphql", token="new"))
    assert cfg.load().token == "old"
    assert [p.name for p in config_file.parent.iterdir()] == ["config.toml"]


@given(st.text())
def test_any_text_survives_the_toml_escaping(value: str) -> None:
    assert tomllib.loads(f"x = {cfg.toml_string(value)}")["x"] == value


def test_missing_file_is_empty_and_bad_files_are_config_errors(config_file: Path) -> None:
    assert cfg.load() == cfg.CliConfig()
    config_file.parent.mkdir(parents=True)
    config_file.write_text("url = ")
    with pytest.raises(cfg.ConfigError, match="not valid TOML"):
        cfg.load()
    config_file.write_text("token = 12\n")
    with pytest.raises(cfg.ConfigError, match="`token` must be a string"):
        cfg.load()
    config_file.write_text('url = "http://h/graphql"\nfuture = 1\n')  # unknown keys are ignored
    assert cfg.load() == cfg.CliConfig(url="http://h/graphql")


def test_config_path_defaults_to_the_user_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import platformdirs

    assert cfg.config_path() == tmp_path / "home" / "metalgraph" / "config.toml"
    monkeypatch.delenv(cfg.ENV_CONFIG)
    assert cfg.config_path() == Path(platformdirs.user_config_dir("metalgraph")) / "config.toml"


# --- resolution order ---------------------------------------------------------------------


def test_resolution_order_argument_env_config_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cfg.resolve() == cfg.Resolved(DEFAULT_URL, None, "default", None, cfg.config_path())

    cfg.save(cfg.CliConfig(url="http://saved/graphql", token="saved-token"))
    got = cfg.resolve()
    assert (got.url, got.token, got.url_source, got.token_source) == (
        "http://saved/graphql",
        "saved-token",
        "config",
        "config",
    )

    monkeypatch.setenv(cfg.ENV_TOKEN, "env-token")
    got = cfg.resolve()
    assert (got.url, got.token, got.token_source) == ("http://saved/graphql", "env-token", "env")

    monkeypatch.setenv(cfg.ENV_URL, "http://env/graphql")
    got = cfg.resolve()
    assert (got.url, got.url_source, got.token) == ("http://env/graphql", "env", "env-token")

    got = cfg.resolve("http://flag/graphql", "flag-token")
    assert (got.url, got.url_source, got.token, got.token_source) == (
        "http://flag/graphql",
        "argument",
        "flag-token",
        "argument",
    )
    assert cfg.resolve(token="").token is None  # "" means: send no token, whatever env and file say


def test_the_saved_token_goes_to_the_saved_url_only() -> None:
    cfg.save(cfg.CliConfig(url="http://saved:8080/graphql", token="saved-token"))
    assert cfg.resolve("http://saved:8080/graphql/").token == "saved-token"  # a trailing slash is the same URL
    elsewhere = cfg.resolve("http://elsewhere:8080/graphql")
    assert (elsewhere.token, elsewhere.token_source) == (None, None)

    cfg.save(cfg.CliConfig(token="default-url-token"))  # no url: the token belongs to the default URL
    assert cfg.resolve().token == "default-url-token"
    assert cfg.resolve("http://elsewhere/graphql").token is None


def test_a_token_in_a_group_readable_file_is_refused_with_a_warning(config_file: Path) -> None:
    cfg.save(cfg.CliConfig(url="http://saved/graphql", token="saved-token"))
    config_file.chmod(0o640)
    warnings: list[str] = []
    got = cfg.resolve(warn=warnings.append)
    assert (got.url, got.token) == ("http://saved/graphql", None)  # the URL still counts
    assert len(warnings) == 1
    assert "chmod 600" in warnings[0] and "0640" in warnings[0]
    assert "saved-token" not in warnings[0]
    with pytest.warns(cfg.InsecureConfigWarning):
        cfg.resolve()


def test_the_sdk_defaults_come_from_env_and_config(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (MetalgraphClient().url, MetalgraphClient().token) == (DEFAULT_URL, None)
    cfg.save(cfg.CliConfig(url="http://saved/graphql", token="saved-token"))
    client = MetalgraphClient()
    assert (client.url, client.token) == ("http://saved/graphql", "saved-token")
    assert "saved-token" not in repr(client)
    assert MetalgraphClient("http://elsewhere/graphql").token is None
    assert MetalgraphClient(token="").token is None
    assert MetalgraphClient(token="mine").token == "mine"
    monkeypatch.setenv(cfg.ENV_TOKEN, "env-token")
    assert MetalgraphClient().token == "env-token"


# --- what goes on the wire: a server that records the Authorization header ----------------


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.seen.append(self.headers.get("authorization"))  # the class-level list of this fixture
        viewer = {"subject": "recorder", "role": "PROVIDER_VIEWER", "method": "loopback", "tenantName": None}
        body = json.dumps({"data": {"viewer": viewer}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str | None]]]:
    """The URL of a loopback HTTP server answering every POST with a `viewer`, and the headers it saw."""

    class Recorder(_Recorder):
        seen: ClassVar[list[str | None]] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/graphql", Recorder.seen
    server.shutdown()
    server.server_close()


def test_flag_beats_env_beats_config_on_the_wire(recorder: tuple[str, list[str | None]]) -> None:
    url, seen = recorder
    cfg.save(cfg.CliConfig(url=url, token="saved-token"))
    assert cli("whoami").exit_code == 0
    assert cli("whoami", env={cfg.ENV_TOKEN: "env-token"}).exit_code == 0
    assert cli("whoami", "--token", "flag-token", env={cfg.ENV_TOKEN: "env-token"}).exit_code == 0
    assert seen == ["Bearer saved-token", "Bearer env-token", "Bearer flag-token"]


def test_the_saved_token_is_never_sent_to_another_server(
    recorder: tuple[str, list[str | None]], tmp_path: Path
) -> None:
    url, seen = recorder
    cfg.save(cfg.CliConfig(url="http://127.0.0.1:9/graphql", token="saved-token"))
    result = cli("whoami", "--url", url)
    assert result.exit_code == 0, result.output
    assert "none sent" in result.stdout
    query = tmp_path / "q.graphql"
    query.write_text("{ viewer { role } }")
    assert cli("query", str(query), "--url", url).exit_code == 0
    assert cli("query", str(query), env={cfg.ENV_URL: url}).exit_code == 0
    assert seen == [None, None, None]


def test_query_uses_the_saved_url_and_token(recorder: tuple[str, list[str | None]], tmp_path: Path) -> None:
    url, seen = recorder
    cfg.save(cfg.CliConfig(url=url, token="saved-token"))
    (tmp_path / "q.graphql").write_text("{ viewer { role } }")
    result = cli("query", str(tmp_path / "q.graphql"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["viewer"]["subject"] == "recorder"
    assert seen == ["Bearer saved-token"]


def test_a_world_readable_config_is_not_trusted(recorder: tuple[str, list[str | None]], config_file: Path) -> None:
    url, seen = recorder
    cfg.save(cfg.CliConfig(url=url, token="saved-token"))
    config_file.chmod(0o604)
    result = cli("whoami")
    assert result.exit_code == 0, result.output
    assert seen == [None]
    assert result.stderr.startswith("warning: ignoring the token in the config file")
    assert f"chmod 600 {config_file}" in result.stderr
    assert "saved-token" not in result.output


# --- commands that need no server ---------------------------------------------------------


@pytest.mark.parametrize("text", ["tenant-admin", "tenant_admin", "TENANT_ADMIN", " Tenant-Admin "])
def test_role_spellings(text: str) -> None:
    assert parse_role(text) == "TENANT_ADMIN"


def test_unknown_role_is_exit_2_before_any_request() -> None:
    result = cli("tokens", "create", "--role", "root", "--url", f"http://127.0.0.1:{_closed_port()}/graphql")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: unknown role 'root'; expected one of provider-admin, provider-viewer, tenant-admin, tenant-member"
    )


def test_login_to_an_unreachable_server_is_exit_4_and_saves_nothing(config_file: Path) -> None:
    result = cli("login", "--url", f"http://127.0.0.1:{_closed_port()}/graphql", "--token", "t")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: cannot reach")
    assert not config_file.exists()


def test_login_without_a_token_is_exit_2(config_file: Path) -> None:
    result = cli("login", "--url", "http://127.0.0.1:9/graphql", input="\n")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: no token given"
    assert not config_file.exists()


def test_a_broken_config_file_is_one_line_and_exit_2(config_file: Path) -> None:
    config_file.parent.mkdir(parents=True)
    config_file.write_text("token = [")
    for args in (["whoami"], ["tokens", "list"], ["logout"]):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert result.stderr.startswith(f"error: config file {config_file} is not valid TOML")
        assert len(result.stderr.strip().splitlines()) == 1


def test_logout_without_a_login(config_file: Path) -> None:
    result = cli("logout")
    assert result.exit_code == 0
    assert "Not logged in" in result.stdout
    assert not config_file.exists()


def test_logout_keeps_the_url_and_names_the_token_to_revoke(config_file: Path) -> None:
    token = "mg_abcdefghijklmnop_" + "x" * 43
    cfg.save(cfg.CliConfig(url="http://saved/graphql", token=token))
    result = cli("logout")
    assert result.exit_code == 0, result.output
    assert "metalgraph tokens revoke abcdefghijklmnop" in result.stdout
    assert cfg.load() == cfg.CliConfig(url="http://saved/graphql")
    assert mode(config_file) == 0o600
    assert token not in config_file.read_text()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- end to end against `metalgraph serve` -------------------------------------------------


def _metalgraph() -> list[str]:
    script = Path(sys.executable).parent / "metalgraph"
    return [str(script)] if script.exists() else [sys.executable, "-m", "metalgraph.server.cli"]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on loopback with the bootstrap admin token and loopback reads on."""
    tmp = tmp_path_factory.mktemp("serve")
    stdout, stderr = tmp / "serve.out", tmp / "serve.err"
    env = {k: v for k, v in os.environ.items() if not k.startswith("METALGRAPH_")}
    env.update(METALGRAPH_ADMIN_TOKEN=ADMIN_TOKEN, METALGRAPH_LOOPBACK_READS="true", COLUMNS="200")
    with stdout.open("wb") as out, stderr.open("wb") as err:
        server = subprocess.Popen(
            [*_metalgraph(), "serve", "--data-dir", str(tmp / "d"), "--port", "0"],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    try:
        yield _wait_for_url(server, stdout, stderr)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for_url(server: subprocess.Popen[bytes], stdout: Path, stderr: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"serve exited with {server.returncode}:\n{stdout.read_text()}\n{stderr.read_text()}")
        match = re.search(r"GraphQL: (http://\S+/graphql)", stdout.read_text())
        if match:
            try:
                if httpx.get(match.group(1).removesuffix("/graphql") + "/healthz", timeout=2).status_code == 200:
                    return match.group(1)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    pytest.fail(f"serve did not become healthy within {timeout} s:\n{stderr.read_text()}")


@pytest.fixture(scope="module")
def tenant(server_url: str) -> str:
    """A tenant on the shared server, created by the admin."""
    admin = MetalgraphClient(server_url, token=ADMIN_TOKEN, timeout=30)
    admin.execute_sync('mutation { createTenant(name: "acme", displayName: "Acme Labs") { name } }')
    return "acme"


@pytest.mark.slow
def test_login_checks_the_token_saves_it_and_whoami_uses_it(server_url: str, config_file: Path) -> None:
    result = cli("login", "--url", server_url, "--token", ADMIN_TOKEN)
    assert result.exit_code == 0, result.output
    assert f"Logged in to {server_url} as admin (role provider-admin; admin-token)." in result.stdout
    assert ADMIN_TOKEN not in result.output
    assert mode(config_file) == 0o600
    assert cfg.load() == cfg.CliConfig(url=server_url, token=ADMIN_TOKEN)

    who = cli("whoami")
    assert who.exit_code == 0, who.output
    assert re.search(r"role\s+provider-admin", who.stdout)
    assert re.search(rf"token\s+config file {re.escape(str(config_file))}", who.stdout)
    as_json = cli("whoami", "--json")
    assert json.loads(as_json.stdout) == {
        "subject": "admin",
        "role": "PROVIDER_ADMIN",
        "method": "admin-token",
        "tenantName": None,
        "url": server_url,
        "tokenSource": "config",
    }


@pytest.mark.slow
def test_login_refuses_a_bad_token_and_keeps_the_saved_one(server_url: str, config_file: Path) -> None:
    assert cli("login", "--url", server_url, "--token", ADMIN_TOKEN).exit_code == 0
    bad = "mg_aaaaaaaaaaaaaaaa_" + "A" * 43
    result = cli("login", "--url", server_url, "--token", bad)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: [UNAUTHENTICATED]")
    assert len(result.stderr.strip().splitlines()) == 1
    assert bad not in result.output
    assert cfg.load().token == ADMIN_TOKEN


@pytest.mark.slow
def test_login_reads_the_token_from_stdin(server_url: str) -> None:
    result = cli("login", "--url", server_url, input=f"{ADMIN_TOKEN}\n")
    assert result.exit_code == 0, result.output
    assert cfg.load().token == ADMIN_TOKEN


@pytest.mark.slow
def test_login_prompts_for_the_token_without_echoing_it(server_url: str, config_file: Path) -> None:
    """A real process on a pseudo-terminal: the prompt appears, and what is typed is not shown."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("METALGRAPH_")}
    env.update(METALGRAPH_CONFIG=str(config_file), TERM="dumb", COLUMNS="200")
    code = "from metalgraph.client.cli import main; main()"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "login", "--url", server_url],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = b""
    try:
        # click prints "Token:", then getpass turns echo off (flushing input) and prints " "
        screen += _read_until(master, b"Token: ", proc)
        os.write(master, ADMIN_TOKEN.encode() + b"\n")
        screen += _read_until(master, None, proc)
        assert proc.wait(timeout=60) == 0, screen.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = screen.decode(errors="replace")
    assert "Logged in to" in text
    assert ADMIN_TOKEN not in text
    assert cfg.load().token == ADMIN_TOKEN


def _read_until(fd: int, marker: bytes | None, proc: subprocess.Popen[bytes], timeout: float = 60) -> bytes:
    """Read a pty until `marker` appears (None: until the other side closes)."""
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed its end
                return got
            if not chunk:
                return got
            got += chunk
            if marker is not None and marker in got:
                return got
        elif proc.poll() is not None and marker is not None:
            pytest.fail(f"the process exited before printing {marker!r}: {got!r}")
    pytest.fail(f"timed out waiting for {marker!r}: {got!r}")


@pytest.mark.slow
def test_logout_then_the_server_sees_an_anonymous_local_caller(server_url: str) -> None:
    assert cli("login", "--url", server_url, "--token", ADMIN_TOKEN).exit_code == 0
    assert cli("logout").exit_code == 0
    who = cli("whoami", "--json")
    assert who.exit_code == 0, who.output
    got = json.loads(who.stdout)
    assert (got["role"], got["method"], got["url"], got["tokenSource"]) == (
        "PROVIDER_VIEWER",
        "loopback",
        server_url,
        None,
    )


@pytest.mark.slow
def test_token_lifecycle(server_url: str, tenant: str) -> None:
    """Provider creates a tenant-admin token; the tenant admin logs in, makes, lists and revokes tokens."""
    admin = ["--url", server_url, "--token", ADMIN_TOKEN]
    created = cli(
        "tokens", "create", "--role", "tenant-admin", "--tenant", tenant, "--expires", "30d",
        "--description", "ci bot", *admin,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    secret = SECRET.search(created.stdout)
    assert secret is not None, created.stdout
    admin_id = secret.group(1)
    assert f"Created API token {admin_id} (role tenant-admin, tenant {tenant}; expires " in created.stdout
    assert "shown only this once" in created.stdout
    assert f"\n    {secret.group(0)}\n" in created.stdout  # alone on its line, easy to copy

    login = cli("login", "--url", server_url, "--token", secret.group(0))
    assert login.exit_code == 0, login.output
    assert f"role tenant-admin, tenant {tenant}; api-token" in login.stdout

    member = cli("tokens", "create", "--role", "TENANT_MEMBER", "--description", "[/] dashboards :eyes:", "--json")
    assert member.exit_code == 0, member.output
    issued = json.loads(member.stdout)
    assert SECRET.fullmatch(issued["token"])
    record = issued["apiToken"]
    assert (record["tenant"], record["role"], record["active"], record["expiresAt"]) == (
        tenant,
        "TENANT_MEMBER",
        True,
        None,
    )

    listed = cli("tokens", "list")
    assert listed.exit_code == 0, listed.output
    assert re.search(rf"{admin_id}\s+tenant-admin\s+{tenant}\s+ci bot\s.*\sactive", listed.stdout)
    assert re.search(
        rf"{record['id']}\s+tenant-member\s+{tenant}\s+\[/\] dashboards :eyes:\s.*never\s+active", listed.stdout
    )
    assert "mg_" not in listed.stdout
    as_json = json.loads(cli("tokens", "list", "--json").stdout)
    assert {r["id"] for r in as_json} == {admin_id, record["id"]}
    assert "mg_" not in json.dumps(as_json)

    # a tenant admin may not mint provider tokens
    refused = cli("tokens", "create", "--role", "provider-admin")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: [FORBIDDEN]")

    revoked = cli("tokens", "revoke", record["id"])
    assert revoked.exit_code == 0, revoked.output
    assert f"Revoked API token {record['id']}" in revoked.stdout
    gone = cli("whoami", "--token", issued["token"])
    assert gone.exit_code == 1
    assert gone.stderr.startswith("error: [UNAUTHENTICATED]")
    assert "metalgraph login" in gone.stderr
    assert re.search(rf"{record['id']}\s.*\srevoked", cli("tokens", "list").stdout)

    # the provider sees them too, filtered by tenant
    by_provider = json.loads(cli("tokens", "list", "--tenant", tenant, "--json", *admin).stdout)
    assert {r["id"] for r in by_provider} >= {admin_id, record["id"]}

    out = cli("logout")
    assert f"metalgraph tokens revoke {admin_id}" in out.stdout


@pytest.mark.slow
def test_env_and_flag_beat_the_saved_login(server_url: str, tenant: str) -> None:
    admin = ["--url", server_url, "--token", ADMIN_TOKEN]
    issued = json.loads(cli("tokens", "create", "--role", "tenant_member", "--tenant", tenant, "--json", *admin).stdout)
    assert cli("login", "--url", server_url, "--token", issued["token"]).exit_code == 0

    def role(*args: str, env: dict[str, str] | None = None) -> tuple[str, str]:
        result = cli("whoami", "--json", *args, env=env)
        assert result.exit_code == 0, result.output
        got = json.loads(result.stdout)
        return got["role"], got["tokenSource"]

    assert role() == ("TENANT_MEMBER", "config")
    assert role(env={cfg.ENV_TOKEN: ADMIN_TOKEN}) == ("PROVIDER_ADMIN", "env")
    assert role("--token", issued["token"], env={cfg.ENV_TOKEN: ADMIN_TOKEN}) == ("TENANT_MEMBER", "argument")


@pytest.mark.slow
def test_server_errors_are_one_line_with_their_code(server_url: str) -> None:
    admin = ["--url", server_url, "--token", ADMIN_TOKEN]
    missing = cli("tokens", "create", "--role", "tenant-admin", "--tenant", "no-such-tenant", *admin)
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: [NOT_FOUND]")
    bad_expiry = cli("tokens", "create", "--role", "provider-viewer", "--expires", "soon", *admin)
    assert bad_expiry.exit_code == 1
    assert bad_expiry.stderr.startswith("error: [INVALID_INPUT]")
    unknown = cli("tokens", "revoke", "zzzzzzzzzzzzzzzz", *admin)
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: [NOT_FOUND]")
    for result in (missing, bad_expiry, unknown):
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.output
