"""A server stops on SIGTERM even if its event loop were held: the stop deadline ends the process."""

from __future__ import annotations

import subprocess
import sys

HELD = """
import signal, sys
from metalgraph.server.cli.serve_command import _exit_after
signal.signal(signal.SIGTERM, lambda *_: _exit_after(0.5))  # as the server's handler does, deadline shortened
print("ready", flush=True)
while True:  # CPU-bound work that never yields, as the event loop would be if a request held it
    pass
"""


def test_a_process_held_by_cpu_bound_work_exits_after_the_stop_deadline() -> None:
    process = subprocess.Popen([sys.executable, "-c", HELD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        process.terminate()
        assert process.wait(30) == 1
        assert "did not stop within 0.5 s of the signal" in process.stderr.read()  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
