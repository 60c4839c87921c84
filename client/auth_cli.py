"""CLI credentials and API tokens: `login`, `logout`, `whoami`, `tokens create|list|revoke`.

`login` checks a token against the server (`viewer`) before saving it, with the server's URL, in the
config file (`config`, mode 0600); later commands use it when neither `--token` nor
`METALGRAPH_TOKEN` is given, and only for that URL. `register(app)` adds the commands to a typer
app. Exit codes as in `cli`: 0 ok, 1 the server refused (GraphQL error), 2 bad input, 4 unreachable.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .cli import (
    EXIT_API_ERROR,
    EXIT_BAD_INPUT,
    EXIT_UNREACHABLE,
    TokenOption,
    UrlOption,
    fail,
    print_json,
    resolve_or_fail,
    when,
)
from .config import ENV_TOKEN, CliConfig, ConfigError, Resolved, config_path, load, save
from .errors import ApiError, ConnectionFailed, ProtocolError

ROLES = ("PROVIDER_ADMIN", "PROVIDER_VIEWER", "TENANT_ADMIN", "TENANT_MEMBER")
TOKEN_FIELDS = "id tenant role description createdAt createdBy expiresAt revokedAt active"
VIEWER = "query Viewer { viewer { subject role method tenantName } }"
CREATE_TOKEN = (
    "mutation CreateApiToken($role: Role!, $tenant: String, $expiresIn: String, $description: String!) {"
    " createApiToken(role: $role, tenant: $tenant, expiresIn: $expiresIn, description: $description)"
    f" {{ token apiToken {{ {TOKEN_FIELDS} }} }} }}"
)
LIST_TOKENS = f"query ApiTokens($tenant: String) {{ apiTokens(tenant: $tenant) {{ {TOKEN_FIELDS} }} }}"
REVOKE_TOKEN = f"mutation RevokeApiToken($id: ID!) {{ revokeApiToken(id: $id) {{ {TOKEN_FIELDS} }} }}"

_TOKEN_ID = re.compile(r"^mg_([a-z2-7]{16})_")

JsonOption = Annotated[bool, typer.Option("--json", help="Plain JSON on stdout (for scripts).")]

out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)  # server data is never markup

tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


def parse_role(text: str) -> str:
    """A role as the API's enum value: `tenant-admin`, `tenant_admin` and `TENANT_ADMIN` all give `TENANT_ADMIN`."""
    name = text.strip().upper().replace("-", "_")
    if name not in ROLES:
        raise ValueError(f"unknown role {text!r}; expected one of {', '.join(role_label(r) for r in ROLES)}")
    return name


def role_label(role: str | None) -> str:
    """`TENANT_ADMIN` as `tenant-admin`, the spelling of the design notes."""
    return (role or "").lower().replace("_", "-")


def call(target: Resolved, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one operation; any failure is a one-line error and the matching exit code."""
    from .sdk import MetalgraphClient

    client = MetalgraphClient(target.url, token=target.token or "")
    try:
        return client.execute_sync(document, variables)
    except ApiError as e:
        hint = ""
        if e.code == "UNAUTHENTICATED":
            hint = f"; log in with `metalgraph login --url {target.url}` or pass --token"
        fail(f"{e}{hint}", EXIT_API_ERROR)
    except (ConnectionFailed, ProtocolError) as e:
        fail(str(e), EXIT_UNREACHABLE)


def _who(viewer: dict[str, Any]) -> str:
    tenant = viewer.get("tenantName")
    where = f", tenant {tenant}" if tenant else ""
    return f"{viewer.get('subject')} (role {role_label(viewer.get('role'))}{where}; {viewer.get('method')})"


def _read_token() -> str:
    """The token from a hidden prompt on a terminal, else one line of stdin (`... | metalgraph login`)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return str(typer.prompt("Token", hide_input=True, err=True))
    return sys.stdin.readline() if sys.stdin is not None else ""


def login(
    url: UrlOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar="METALGRAPH_TOKEN", help="The token to save; prompted for (hidden) when omitted."
        ),
    ] = None,
) -> None:
    """Check a token with the server, then save it and the URL in the config file for later commands."""
    target = resolve_or_fail(url, "")
    secret = (token if token is not None else _read_token()).strip()
    if not secret:
        fail("no token given", EXIT_BAD_INPUT)
    viewer = call(Resolved(target.url, secret, target.url_source, "argument", target.config_path), VIEWER)["viewer"]
    if viewer.get("method") == "loopback":  # the server did not use the token: never save what it ignored
        fail(f"{target.url} did not authenticate the token (it answered as an anonymous local caller)", EXIT_API_ERROR)
    try:
        path = save(CliConfig(url=target.url, token=secret), target.config_path)
    except ConfigError as e:
        fail(str(e), EXIT_BAD_INPUT)
    out.print(Text("Logged in to ") + Text(target.url, style="bold") + Text(f" as {_who(viewer)}."))
    out.print(f"Token saved to {path} (readable by you only).")


def logout() -> None:
    """Remove the saved token from the config file (the URL stays). The token stays valid on the server."""
    path = config_path()
    try:
        saved = load(path)
        if not saved.token:
            out.print(f"Not logged in: {path} holds no token.")
            return
        save(CliConfig(url=saved.url), path)
    except ConfigError as e:
        fail(str(e), EXIT_BAD_INPUT)
    out.print(f"Removed the token from {path}.")
    match = _TOKEN_ID.match(saved.token)
    revoke = f"; to end it now: metalgraph tokens revoke {match.group(1)}" if match else ""
    out.print(f"The token stays valid on the server until it expires or is revoked{revoke}.")
    if os.environ.get(ENV_TOKEN):
        out.print(f"{ENV_TOKEN} is still set in this environment; commands keep using it.")


def whoami(url: UrlOption = None, token: TokenOption = None, json_output: JsonOption = False) -> None:
    """Show who the server takes you for, and where the URL and token came from."""
    target = resolve_or_fail(url, token)
    viewer = call(target, VIEWER)["viewer"]
    if json_output:
        print_json({**viewer, "url": target.url, "tokenSource": target.token_source}, plain=True)
        return
    sources = {"argument": "--token", "env": "METALGRAPH_TOKEN", "config": f"config file {target.config_path}"}
    grid = Table.grid(padding=(0, 2))
    grid.add_row("subject", str(viewer.get("subject")))
    grid.add_row("role", role_label(viewer.get("role")))
    grid.add_row("tenant", viewer.get("tenantName") or "-")
    grid.add_row("method", str(viewer.get("method")))
    grid.add_row("server", f"{target.url} (from {target.url_source})")
    grid.add_row("token", sources.get(target.token_source or "", "none sent"))
    out.print(grid)


@tokens_app.command("create")
def create_token(
    role: Annotated[str, typer.Option("--role", help="provider-admin, provider-viewer, tenant-admin, tenant-member.")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Tenant of a tenant role (providers must name one).")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime such as 30d, 12h, 2w (default: never).")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="What the token is for.")] = "",
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create an API token and print its secret, which is shown this once only."""
    try:
        role_name = parse_role(role)
    except ValueError as e:
        fail(str(e), EXIT_BAD_INPUT)
    variables = {"role": role_name, "tenant": tenant, "expiresIn": expires, "description": description}
    issued = call(resolve_or_fail(url, token), CREATE_TOKEN, variables)["createApiToken"]
    if json_output:
        print_json(issued, plain=True)
        return
    record = issued["apiToken"]
    where = f", tenant {record['tenant']}" if record.get("tenant") else ""
    expiry = f"expires {when(record.get('expiresAt'))}" if record.get("expiresAt") else "never expires"
    out.print(f"Created API token {record['id']} (role {role_label(record['role'])}{where}; {expiry}).")
    out.print(Text("The secret is shown only this once; store it now:", style="bold yellow"))
    sys.stdout.write(f"\n    {issued['token']}\n\n")


@tokens_app.command("list")
def list_tokens(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's tokens.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """List API tokens (their records; secrets are never stored, so never shown)."""
    records = call(resolve_or_fail(url, token), LIST_TOKENS, {"tenant": tenant})["apiTokens"]
    if json_output:
        print_json(records, plain=True)
        return
    if not records:
        out.print("No API tokens.")
        return
    table = Table(box=None)
    for header in ("id", "role", "tenant", "description", "created (UTC)", "by", "expires (UTC)", "status"):
        table.add_column(header, no_wrap=header != "description", overflow="fold")
    for r in records:
        table.add_row(
            r["id"],
            role_label(r["role"]),
            r.get("tenant") or "-",
            r.get("description") or "",
            when(r.get("createdAt"), utc_suffix=False),
            r.get("createdBy") or "",
            when(r.get("expiresAt"), utc_suffix=False) if r.get("expiresAt") else "never",
            _status(r),
        )
    out.print(table)


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (see `tokens list`).")],
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Revoke an API token: it stops working at once. Revoking a revoked token changes nothing."""
    record = call(resolve_or_fail(url, token), REVOKE_TOKEN, {"id": token_id})["revokeApiToken"]
    if json_output:
        print_json(record, plain=True)
        return
    out.print(f"Revoked API token {record['id']} (revoked at {when(record.get('revokedAt'))}).")


def _status(record: dict[str, Any]) -> str:
    if record.get("active"):
        return "active"
    return "revoked" if record.get("revokedAt") else "expired"


def register(app: typer.Typer) -> None:
    """Add `login`, `logout`, `whoami` and the `tokens` group to `app`."""
    app.command("login")(login)
    app.command("logout")(logout)
    app.command("whoami")(whoami)
    app.add_typer(tokens_app, name="tokens")
