"""Showing a cluster job as it runs: one line per event and, on a terminal, a live state and progress bar."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from .cli import EXIT_API_ERROR, fail
from .cluster_api import CLUSTER, Followed, follow, job_start, run_async
from .cluster_options import label
from .config import Resolved

if TYPE_CHECKING:
    from .sdk import MetalgraphClient


out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)  # server data is never markup


def _clock(iso: str | None) -> str:
    """An event's ISO timestamp as local `HH:MM:SS`; what the server sent when it is not ISO."""
    if not iso:
        return "--:--:--"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso


def event_line(event: dict[str, Any]) -> Text:
    """`HH:MM:SS  state                message`."""
    return Text.assemble(
        (f"{_clock(event.get('at'))}  ", "dim"),
        (f"{label(event.get('state')):<20}", "bold"),
        " " + str(event.get("message", "")),
    )


class EventDisplay:
    """Shows followed events: a line per event, and on a terminal a live bar with the state and the
    step's done/total under them. With `as_json`, one JSON object per event on stdout instead."""

    def __init__(self, console: Console, as_json: bool = False) -> None:
        self.console = console
        self.as_json = as_json
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self._title = ""
        self._state: str | None = None

    @contextlib.contextmanager
    def live(self, title: str) -> Iterator[EventDisplay]:
        if self.as_json or not self.console.is_terminal:
            yield self
            return
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[bold]{task.fields[state]}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._title = title
        self.task = self.progress.add_task(title, total=None, state="waiting", count="")
        try:
            with self.progress:
                yield self
        finally:
            self.progress, self.task = None, None

    def event(self, event: dict[str, Any]) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        self.console.print(event_line(event))
        if self.progress is None or self.task is None:
            return
        state, done, total = event.get("state"), event.get("done"), event.get("total")
        in_progress = done is not None and bool(total) and done < total
        if state != self._state and not in_progress:
            # A new state starts with an empty, pulsing bar (an event that finishes a step often
            # carries the next state with the finished step's done/total).
            self.progress.remove_task(self.task)
            self.task = self.progress.add_task(self._title, total=None, state=label(state), count="")
        elif done is not None and total:
            self.progress.update(self.task, total=total, completed=done, state=label(state), count=f"{done}/{total}")
        self._state = state

    def notice(self, message: str) -> None:
        Console(stderr=True, highlight=False).print(Text("note: ", style="bold yellow") + Text(message), soft_wrap=True)


def _nodes_text(cluster: dict[str, Any]) -> str:
    count = len(cluster.get("nodes") or ())
    vlan = cluster.get("vlan")
    return f"{count} node(s)" + (f" on VLAN {vlan}" if vlan is not None else "")


def wait_for(target: Resolved, name: str, tenant: str | None, as_json: bool, after: int | None = None) -> None:
    """Follow the cluster's job until it rests; exit 0 when it ended ready or released, 1 when it
    failed or the change was rolled back."""
    display = EventDisplay(out, as_json)

    async def work(client: MetalgraphClient) -> tuple[Followed, dict[str, Any] | None]:
        start = await job_start(client, name, tenant) if after is None else after
        with display.live(f"cluster {name}"):
            seen = await follow(client, name, tenant, start, display.event, display.notice)
        final = (await client.execute(CLUSTER, {"name": name, "tenant": tenant})).get("cluster")
        return seen, final

    seen, cluster = run_async(target, work)
    finish(name, seen, cluster, as_json)


def finish(name: str, seen: Followed, cluster: dict[str, Any] | None, as_json: bool) -> None:
    if cluster is None:
        fail(f"[NOT_FOUND] cluster {name!r} not found", EXIT_API_ERROR)
    state = cluster.get("state")
    last = seen.last or {}
    if state == "FAILED":
        fail(f"cluster {name} failed: {cluster.get('reason') or last.get('message') or 'no reason given'}")
    if last.get("kind") == "rolled_back":
        fail(f"cluster {name}: {last.get('message')}")
    if as_json:
        return
    if state == "READY":
        out.print(Text(f"cluster {name} is ready: ", style="bold green") + Text(_nodes_text(cluster)))
    elif state == "RELEASED":
        out.print(Text(f"cluster {name} is released", style="bold green"))
    else:
        out.print(f"cluster {name} is {label(state)}")


def wants_wait(wait: bool | None) -> bool:
    return sys.stdout.isatty() if wait is None else wait


def print_cluster_started(cluster: dict[str, Any], verb: str) -> None:
    out.print(f"{verb} cluster {cluster['name']} ({label(cluster.get('state'))}).")
    out.print(f"Follow it with: metalgraph cluster watch {cluster['name']}")
