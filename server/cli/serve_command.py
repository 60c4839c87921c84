"""`serve`: run the GraphQL server on a store until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import signal
import socket
import threading
from collections.abc import Awaitable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.text import Text

from metalgraph.client.cli import fail

from ..inventory import service
from ..inventory.model import Inventory
from ..labels import KEYED_LABELS
from ..settings import Settings
from ..store import GraphStore, StoreError, open_store
from .common import (
    EXIT_FAILURE,
    ConfigOption,
    DataDirOption,
    StoreOption,
    err,
    out,
    progress_bar,
    settings_from,
    store_failure,
)
from .inventory_commands import generate, inventory_counts

if TYPE_CHECKING:
    import uvicorn

T = TypeVar("T")


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
    """Run the GraphQL server (/graphql, /healthz, /metrics) until Ctrl-C or SIGTERM.

    With --demo, requests without credentials from this machine read as provider-viewer and GraphiQL
    is served; otherwise only as the settings say (both off by default)."""
    settings = settings_from(config, host=host, port=port, data_dir=data_dir, store=store)
    if demo:
        settings = settings.model_copy(update={"loopback_reads": True, "graphiql": True})
    sock = _listen(settings.host, settings.port)
    the_store = open_store(settings, KEYED_LABELS)
    interrupted = False
    try:
        with asyncio.Runner() as runner:
            try:
                runner.run(_cancel_on_sigterm(the_store.start()))
                if demo and runner.run(_cancel_on_sigterm(_node_count(the_store))) == 0:
                    with _sigterm_interrupts():  # generating is CPU-bound: let a signal stop it at once
                        inventory = generate(demo_gpus, 0, False)
                    runner.run(_cancel_on_sigterm(_seed(the_store, inventory)))
                server = _make_server(settings, the_store)
                # What startup loaded (modules, the schema) lives as long as the process: frozen, the
                # collector's full passes skip it, and no longer hold the interpreter for tens of ms.
                gc.freeze()
                bound_host, bound_port = sock.getsockname()[:2]
                where = "" if settings.uses_neo4j else f" ({settings.data_dir})"
                out.print(f"metalgraph serving on {settings.store} store{where}")
                url = f"http://{_url_host(bound_host)}:{bound_port}/graphql"
                out.print(Text("GraphQL: ") + Text(url, style="bold"))
                if settings.graphiql:
                    out.print("GraphiQL: open that URL in a browser.")
                if settings.loopback_reads:
                    out.print("Loopback reads: requests from this machine without credentials read as provider-viewer.")
                if settings.metrics_loopback:
                    out.print(
                        "Metrics: /metrics answers requests from this machine without credentials; behind a reverse"
                        " proxy on this host that is every request (METALGRAPH_METRICS_LOOPBACK=false)."
                    )
                out.print("Press Ctrl-C to stop.")
                runner.run(server.serve(sockets=[sock]))
            except (KeyboardInterrupt, asyncio.CancelledError):
                interrupted = True
            finally:
                sock.close()
                runner.run(the_store.close())  # within what remains of the stop deadline, if a signal set one
                _cancel_exit()
    except StoreError as e:
        store_failure(e)
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
    # asyncio turns Nagle off only on sockets it knows are TCP, and create_server's are not marked so:
    # without this, each answer after the first on a kept-alive connection waited 40 ms for an ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted connections inherit it
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
    with progress_bar("seeding the demo fabric") as update:
        changes = await service.import_inventory(store, inventory, progress=update)
    err.print(f"seeded demo fabric: {inventory_counts(inventory)} ({changes.size} records)")


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

    from ..app import create_app

    class Server(uvicorn.Server):
        """uvicorn's server, minus re-raising the stop signal after a graceful shutdown: the store
        closes after `serve` returns, and a re-raised SIGTERM would kill the process first.

        Open requests get `shutdown_grace_s` to finish, then are cancelled. Should the server not have
        stopped and closed its store `_STOP_DEADLINE_S` after the signal (grace included; longer only if
        the grace is configured longer), the event loop held by something that does not yield, the
        process exits at once; the embedded store's process dies with it, as on kill -9."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            _exit_after(max(_STOP_DEADLINE_S, settings.shutdown_grace_s + 1.0))

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
        create_app(settings, store=store),
        log_level=settings.log_level.lower(),
        lifespan="on",
        server_header=False,
        ws_max_size=settings.max_request_bytes,  # a websocket message is bounded like a request body
        timeout_graceful_shutdown=max(1, math.ceil(settings.shutdown_grace_s)),
    )
    return Server(config)


_STOP_DEADLINE_S = 4.5
"""Seconds from the stop signal to the exit, whatever holds the event loop: within the 5 s a stop may take."""
_exit_timer: threading.Timer | None = None


def _exit_after(seconds: float) -> None:
    """Exit the process in `seconds` unless the server has stopped serving by then (`_cancel_exit`)."""
    global _exit_timer
    if _exit_timer is not None:
        return

    def exit_now() -> None:
        err.print(f"metalgraph did not stop within {seconds:g} s of the signal; exiting")
        os._exit(EXIT_FAILURE)

    _exit_timer = threading.Timer(seconds, exit_now)
    _exit_timer.daemon = True
    _exit_timer.start()


def _cancel_exit() -> None:
    global _exit_timer
    if _exit_timer is not None:
        _exit_timer.cancel()
        _exit_timer = None


def register(app: typer.Typer) -> None:
    app.command()(serve)
