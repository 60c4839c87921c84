"""The `metalgraph` command: run the server, load and dump inventories, generate demo fabrics.

`serve`, `import`, `export` and `demo --import` open the store themselves (the embedded store
allows one owner of a data directory at a time); `query` (from metalgraph.client.cli) talks to a
running server over GraphQL. Expected failures are one line on stderr and an exit code:
1 store unavailable or other failure, 2 bad input (file missing or invalid), 3 the embedded
store's data directory is in use by a running server.
"""

from __future__ import annotations

from metalgraph.client import auth_cli, cluster_cli
from metalgraph.client.cli import register

from . import audit_commands, discover_command, drivers_commands, inventory_commands, serve_command
from .common import app

register(app)
auth_cli.register(app)
cluster_cli.register(app)
inventory_commands.register(app)
audit_commands.register(app)
drivers_commands.register(app)
discover_command.register(app)
serve_command.register(app)


def main() -> None:
    app()
