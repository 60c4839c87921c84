"""CLI commands that talk to a running server through the SDK only (never to the store).

`register(app)` adds them to a typer app; the `metalgraph` console script does so. Exit codes:
0 ok, 1 the server answered with GraphQL errors, 2 bad input (file, --var, config file), 4 server
unreachable. `--url` and `--token` fall back to `METALGRAPH_URL`/`METALGRAPH_TOKEN`, then to the
config file `metalgraph login` writes (see `config`).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from . import DEFAULT_URL
from .config import ConfigError, Resolved, resolve
from .errors import ApiError, ConnectionFailed, ProtocolError, format_path

if TYPE_CHECKING:
    from graphql import TypeNode

EXIT_API_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 4

_TEXT_TYPES = {"String", "ID"}

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="METALGRAPH_URL",
        help=f"GraphQL endpoint of the server (default: the config file's, else {DEFAULT_URL}).",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="METALGRAPH_TOKEN",
        help="Bearer token (default: the one `metalgraph login` saved for this URL).",
        show_default=False,
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, then exit with `code`."""
    line = " ".join(message.split())
    Console(stderr=True, highlight=False).print(Text("error: ", style="bold red") + Text(line), soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """One `warning:` line on stderr."""
    line = " ".join(message.split())
    Console(stderr=True, highlight=False).print(Text("warning: ", style="bold yellow") + Text(line), soft_wrap=True)


def when(iso: str | None, utc_suffix: bool = True) -> str:
    """An ISO timestamp as `2025-06-01 14:03 UTC` (in UTC; no ` UTC` with `utc_suffix=False`, nor
    for a timestamp without offset); what the server sent when it is not ISO."""
    if not iso:
        return "-"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.utcoffset() is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + (" UTC" if utc_suffix else "")


def resolve_or_fail(url: str | None, token: str | None) -> Resolved:
    """The URL and token a command uses (flag, env, config file, default); exit 2 for a broken config file."""
    try:
        return resolve(url, token, warn=warn)
    except ConfigError as e:
        fail(str(e), EXIT_BAD_INPUT)


def _variable_types(document: str, operation: str | None) -> dict[str, TypeNode]:
    from graphql import GraphQLError, OperationDefinitionNode, parse

    try:
        ast = parse(document)
    except GraphQLError:
        return {}  # the server (or the SDK) reports the syntax error with its position
    ops = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    if operation is not None:
        ops = [op for op in ops if op.name is not None and op.name.value == operation]
    types: dict[str, TypeNode] = {}
    for op in ops:
        for v in op.variable_definitions or ():
            name = v.variable.name.value
            if name not in types or _is_text(v.type):  # a name that is text in any operation stays text
                types[name] = v.type
    return types


def _is_text(type_node: TypeNode | None) -> bool:
    from graphql import NamedTypeNode, NonNullTypeNode

    while isinstance(type_node, NonNullTypeNode):
        type_node = type_node.type
    return isinstance(type_node, NamedTypeNode) and type_node.name.value in _TEXT_TYPES


def parse_variables(pairs: list[str], types: dict[str, TypeNode]) -> dict[str, Any]:
    """`k=v` pairs as variables: `v` is kept as text for String/ID variables and read as JSON
    (falling back to text) for the others, so `first=10`, `on=true`, `state=available` all work;
    `k:=JSON` always reads JSON (`ids:='["a","b"]'`, `name:=null`)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        eq = pair.find("=")
        if eq < 1:
            raise ValueError(f"--var {pair}: expected NAME=VALUE or NAME:=JSON")
        if pair[eq - 1] == ":":
            name, raw = pair[: eq - 1], pair[eq + 1 :]
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as e:
                raise ValueError(f"--var {pair}: not valid JSON ({e.msg})") from None
        else:
            name, raw = pair[:eq], pair[eq + 1 :]
            value = raw
            if not _is_text(types.get(name)):
                try:
                    value = json.loads(raw)
                except json.JSONDecodeError:
                    value = raw
        if not name:
            raise ValueError(f"--var {pair}: empty variable name")
        out[name] = value
    return out


def _read_document(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    try:
        with open(file, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        fail(f"no such file: {file}", EXIT_BAD_INPUT)
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        fail(f"cannot read {file}: {e}", EXIT_BAD_INPUT)


def print_json(data: Any, plain: bool) -> None:
    if plain:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        Console().print_json(data=data)


def error_lines(error: dict[str, Any]) -> list[Text]:
    """A GraphQL error as `error: [CODE] message (at path)`, then one line per inventory problem."""
    raw_ext, raw_path, locations = error.get("extensions"), error.get("path"), error.get("locations")
    ext: dict[str, Any] = raw_ext if isinstance(raw_ext, dict) else {}
    where = format_path(raw_path) if isinstance(raw_path, list) else None
    if where is None and isinstance(locations, list) and locations and isinstance(locations[0], dict):
        where = f"line {locations[0].get('line')}, column {locations[0].get('column')}"
    head = Text("error: ", style="bold red") + Text(f"[{ext.get('code') or 'UNKNOWN'}] ", style="bold")
    head += Text(str(error.get("message", "")) + (f" (at {where})" if where else ""))
    lines = [head]
    for problem in ext.get("problems") or ():
        if isinstance(problem, dict):
            lines.append(Text(f"  {problem.get('path')}: {problem.get('message')}"))
    return lines


def query(
    file: Annotated[str, typer.Argument(help="File holding a GraphQL document; `-` reads stdin.", show_default=False)],
    url: UrlOption = None,
    token: TokenOption = None,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", "-v", help="Variable NAME=VALUE (typed by the document) or NAME:=JSON; repeatable."),
    ] = None,
    operation: Annotated[
        str | None, typer.Option("--operation", "-o", help="Operation to run when the document holds several.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Plain JSON on stdout (for scripts).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the answer.")] = 30.0,
) -> None:
    """Run a GraphQL query or mutation from FILE against a server and print its data."""
    document = _read_document(file)
    try:
        variables = parse_variables(var or [], _variable_types(document, operation))
    except ValueError as e:
        fail(str(e), EXIT_BAD_INPUT)
    from .sdk import MetalgraphClient

    target = resolve_or_fail(url, token)
    client = MetalgraphClient(target.url, token=target.token or "", timeout=timeout)
    try:
        data = client.execute_sync(document, variables or None, operation)
    except ApiError as e:
        console = Console(stderr=True, highlight=False, soft_wrap=True)
        for error in e.errors:
            for line in error_lines(error):
                console.print(line)
        raise typer.Exit(EXIT_API_ERROR) from None
    except (ConnectionFailed, ProtocolError) as e:
        fail(str(e), EXIT_UNREACHABLE)
    print_json(data, json_output)


def register(app: typer.Typer) -> None:
    """Add the client commands (`query`) to `app`."""
    app.command("query")(query)


def build_app() -> typer.Typer:
    """A `metalgraph`-like app with the client commands only (query, login, logout, whoami, tokens)."""
    from . import auth_cli

    app = typer.Typer(help="metalgraph API client", no_args_is_help=True, add_completion=False)
    register(app)
    auth_cli.register(app)

    @app.callback()
    def _root() -> None:
        """Commands that use a running metalgraph server's GraphQL API."""

    return app


def main() -> None:
    build_app()()
