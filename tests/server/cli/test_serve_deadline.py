"""A served process whose event loop is held stops within 5 s of SIGTERM, its grace period included."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HELD = """
import signal, sys
from pathlib import Path
from metalgraph.server.cli.serve_command import _make_server
from metalgraph.server.labels import KEYED_LABELS
from metalgraph.server.settings import Settings
from metalgraph.server.store.falkordb_store import FalkorStore

data = Path(sys.argv[1])
server = _make_server(Settings(data_dir=data), FalkorStore(data, KEYED_LABELS))
signal.signal(signal.SIGTERM, server.handle_exit)  # the handler serve installs, default grace
print("ready", flush=True)
while True:  # CPU-bound work that never yields, as the event loop would be if a request held it
    pass
"""


def test_a_server_held_by_cpu_bound_work_exits_within_5_s_of_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", HELD, str(tmp_path / "data")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        started = time.monotonic()
        process.terminate()
        assert process.wait(30) == 1
        assert time.monotonic() - started < 5.0
        assert "did not stop within" in process.stderr.read()  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
