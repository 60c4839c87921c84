"""Start a real Neo4j 5.26 (LTS) for the tests, from Maven Central jars, without Docker.

How it works (see README.md in this folder):

1. ``pom.xml`` names ``org.neo4j.test:neo4j-harness``; ``mvn -q dependency:copy-dependencies
   -DoutputDirectory=lib`` copies its jars into ``lib/`` (gitignored). :func:`ensure_jars` runs
   that step when ``lib/`` is missing, empty, or was copied for a different ``pom.xml``.
2. :func:`start_neo4j` picks a free port and runs ``java ... -cp 'lib/*' Launcher.java PORT``
   (single-file source launch, JDK 17+) in its own process group, with its own temporary
   directory. The launcher starts an in-process Neo4j with HTTP off, Bolt on 127.0.0.1:PORT
   and auth off, and prints ``NEO4J READY bolt://127.0.0.1:PORT``.
3. Once that line appears, the official driver's ``verify_connectivity()`` must pass too.
4. :meth:`Neo4jServer.stop` terminates the JVM (SIGTERM, then SIGKILL) and removes its
   directory. If the Python process dies without calling it, the launcher sees its stdin close
   and shuts itself down.

Instead of starting one, set ``METALGRAPH_TEST_NEO4J_URI=bolt://host:7687`` to use a Neo4j that
is already running (optionally with ``METALGRAPH_TEST_NEO4J_USER`` and
``METALGRAPH_TEST_NEO4J_PASSWORD``); its data is NOT wiped here, so point it at a throwaway server.

``METALGRAPH_REQUIRE_NEO4J=1`` (set by ``.ci/run``) means a Neo4j that cannot start must fail
the run rather than skip; :func:`neo4j_required` reads it. A fixture looks like::

    @pytest.fixture(scope="session")
    def neo4j_server():
        reason = unavailable_reason()
        if reason is not None:
            if neo4j_required():
                pytest.fail(reason)
            pytest.skip(reason)
        server = start_neo4j()
        yield server
        server.stop()

Startup on the development machine (2 vCPUs, 24 GiB): 11-13 s with ``lib/`` present when the
machine is idle, 17-27 s while other test suites load it; the first run adds about 45 s to
download the jars (~145 MB) into an empty Maven repository (5-12 s when ``~/.m2`` has them).
Clients should use the ``bolt://`` URI (not ``neo4j://``): the harness is a single instance
with no routing table worth asking for.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIB_DIR = HERE / "lib"
POM = HERE / "pom.xml"
LAUNCHER = HERE / "Launcher.java"
# lib/ was copied for the pom whose sha256 is in this file; a changed pom means a fresh copy.
_POM_STAMP = LIB_DIR / ".pom.sha256"
# Several pytest processes may start at once: only one of them copies the jars.
_LIB_LOCK = HERE / ".lib.lock"

URI_ENV = "METALGRAPH_TEST_NEO4J_URI"
USER_ENV = "METALGRAPH_TEST_NEO4J_USER"
PASSWORD_ENV = "METALGRAPH_TEST_NEO4J_PASSWORD"
REQUIRE_ENV = "METALGRAPH_REQUIRE_NEO4J"

READY_PREFIX = "NEO4J READY "
MIN_JAVA = 17

HOW_TO_ENABLE = (
    "The Neo4j half of the tests needs a Neo4j 5.26. To run it locally, either install a JDK "
    f"{MIN_JAVA}+ and Maven (e.g. `apt install openjdk-17-jdk-headless maven`; the tests then fetch "
    "the Neo4j jars from Maven Central into tests/neo4j_server/lib on first use, ~145 MB, and "
    f"start Neo4j themselves), or set {URI_ENV}=bolt://HOST:7687 to use a running throwaway "
    f"Neo4j 5.26 server (plus {USER_ENV}/{PASSWORD_ENV} if it has auth on)."
)

# JDK 17 needs these for Neo4j's off-heap and reflective internals.
JAVA_OPENS = [
    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
]  # fmt: skip
HEAP = os.environ.get("METALGRAPH_TEST_NEO4J_HEAP", "3g")
PAGE_CACHE_MIB = int(os.environ.get("METALGRAPH_TEST_NEO4J_PAGECACHE_MIB", "512"))
TX_MEMORY_MIB = int(os.environ.get("METALGRAPH_TEST_NEO4J_TX_MEMORY_MIB", "1024"))  # 0: unbounded (benchmarks)


class Neo4jUnavailable(RuntimeError):
    """Neo4j could not be provided: no JDK/Maven, jar download failed, or the server did not start."""


@dataclass
class Neo4jServer:
    """A running Neo4j: connect to :attr:`uri` with :attr:`auth`; :meth:`stop` when done."""

    uri: str
    auth: tuple[str, str] | None = None
    startup_seconds: float = 0.0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    workdir: Path | None = field(default=None, repr=False)

    @property
    def external(self) -> bool:
        """True when the server came from ``METALGRAPH_TEST_NEO4J_URI`` (stop() leaves it alone)."""
        return self.process is None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the launcher JVM wrote (stdout and stderr), for failure messages."""
        return _tail(self.workdir / "launcher.log", lines) if self.workdir else ""

    def stop(self, grace: float = 15.0) -> None:
        """Terminate the JVM and anything it started, then remove its directory. Idempotent."""
        proc, self.process = self.process, None
        if proc is not None:
            _stop_process_group(proc, grace)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Neo4jServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def neo4j_required() -> bool:
    """True when ``METALGRAPH_REQUIRE_NEO4J`` is set to a true value: fail, don't skip."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@functools.cache
def java_version() -> int | None:
    """Major version of the ``java`` on PATH if it is a full JDK (the source launcher needs javac's module)."""
    java = shutil.which("java")
    if java is None:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
        modules = subprocess.run([java, "--list-modules"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match is None or "jdk.compiler" not in modules.stdout:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def java_available() -> bool:
    """True when a JDK 17+ is on PATH (a JRE is not enough: Launcher.java is compiled on the fly)."""
    version = java_version()
    return version is not None and version >= MIN_JAVA


def maven_available() -> bool:
    return shutil.which("mvn") is not None


def jars_present() -> bool:
    """True when lib/ holds jars copied for the current pom.xml."""
    return _lib_is_current()


def unavailable_reason() -> str | None:
    """None if :func:`start_neo4j` can be expected to work here, else why not plus :data:`HOW_TO_ENABLE`."""
    if os.environ.get(URI_ENV):
        return None
    if not java_available():
        return f"no JDK {MIN_JAVA}+ on PATH. {HOW_TO_ENABLE}"
    if not jars_present() and not maven_available():
        return f"no Maven on PATH to fetch the Neo4j jars. {HOW_TO_ENABLE}"
    return None


def ensure_jars(force: bool = False) -> Path:
    """Copy the Neo4j jars into lib/ with Maven unless they are already there for this pom.xml."""
    if not force and _lib_is_current():
        return LIB_DIR
    with open(_LIB_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and _lib_is_current():  # another process copied them while we waited
            return LIB_DIR
        return _copy_jars()


def _copy_jars() -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jUnavailable(f"lib/ is empty and Maven is not on PATH. {HOW_TO_ENABLE}")
    shutil.rmtree(LIB_DIR, ignore_errors=True)  # never mix jars of two Neo4j versions
    cmd = [mvn, "-q", "-B", "dependency:copy-dependencies", "-DoutputDirectory=lib"]
    result = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
    if result.returncode != 0 or not any(LIB_DIR.glob("*.jar")):
        output = (result.stdout + result.stderr)[-4000:]
        raise Neo4jUnavailable(f"`{' '.join(cmd)}` failed (exit {result.returncode}) in {HERE}:\n{output}")
    _POM_STAMP.write_text(_pom_digest())
    return LIB_DIR


def start_neo4j(timeout: float = 180.0) -> Neo4jServer:
    """A Neo4j that answers on Bolt, started here unless ``METALGRAPH_TEST_NEO4J_URI`` names one.

    ``timeout`` bounds the wait for the server (it does not include downloading the jars).
    Raises :class:`Neo4jUnavailable` with the launcher's log when it cannot start.
    """
    external = os.environ.get(URI_ENV)
    if external:
        user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
        auth = (user or "neo4j", password) if password else None
        begin = time.monotonic()
        _verify(external, auth, deadline=begin + min(timeout, 30.0))
        return Neo4jServer(uri=external, auth=auth, startup_seconds=time.monotonic() - begin)

    if not java_available():
        raise Neo4jUnavailable(f"no JDK {MIN_JAVA}+ on PATH. {HOW_TO_ENABLE}")
    ensure_jars()
    last_error: Neo4jUnavailable | None = None
    for _attempt in range(3):  # a free port can be taken between picking and binding it
        try:
            return _launch(_free_port(), timeout)
        except _PortTaken as e:
            last_error = e
    assert last_error is not None
    raise last_error


# --- internals ---------------------------------------------------------------------------------


class _PortTaken(Neo4jUnavailable):
    pass


def _launch(port: int, timeout: float) -> Neo4jServer:
    java = shutil.which("java")
    assert java is not None
    workdir = Path(tempfile.mkdtemp(prefix="metalgraph-neo4j-"))
    log_path = workdir / "launcher.log"
    cmd = [
        java,
        f"-Xmx{HEAP}",
        "-XX:+ExitOnOutOfMemoryError",
        f"-Djava.io.tmpdir={workdir}",  # the harness puts its store here; stop() removes it
        f"-Dmetalgraph.cleanup={workdir}",  # ...and so does the launcher, should Python die first
        *JAVA_OPENS,
        "-cp",
        str(LIB_DIR / "*"),  # expanded by the JVM, not a shell
        str(LAUNCHER),
        str(port),
        str(PAGE_CACHE_MIB),
        str(TX_MEMORY_MIB),
    ]
    begin = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=HERE,
            stdin=subprocess.PIPE,  # kept open: the launcher exits when it closes
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, so stop() can signal all of it
        )
    server = Neo4jServer(uri=f"bolt://127.0.0.1:{port}", process=proc, workdir=workdir)
    atexit.register(server.stop, 5.0)  # a forgotten stop() still removes the JVM and workdir
    deadline = begin + timeout
    try:
        while True:
            text = log_path.read_text(errors="replace")
            if any(line.startswith(READY_PREFIX) for line in text.splitlines()):
                break
            if proc.poll() is not None:
                error = _PortTaken if "Address already in use" in text else Neo4jUnavailable
                raise error(f"Neo4j launcher exited with {proc.returncode} before it was ready:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise Neo4jUnavailable(f"Neo4j was not ready after {timeout:.0f} s:\n{_tail(log_path)}")
            time.sleep(0.1)
        _verify(server.uri, None, deadline)
    except BaseException:
        server.stop(grace=2.0)
        raise
    server.startup_seconds = time.monotonic() - begin
    return server


def _verify(uri: str, auth: tuple[str, str] | None, deadline: float) -> None:
    """Wait until the driver's verify_connectivity() passes (Bolt may lag the readiness line)."""
    import neo4j
    from neo4j.exceptions import DriverError, Neo4jError

    while True:
        try:
            with neo4j.GraphDatabase.driver(uri, auth=auth) as driver:
                driver.verify_connectivity()
            return
        except (Neo4jError, DriverError, OSError) as e:
            if time.monotonic() > deadline:
                raise Neo4jUnavailable(f"Neo4j at {uri} did not accept a Bolt connection: {e!r}") from e
            time.sleep(0.25)


def _stop_process_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the launcher's shutdown hook closes Neo4j
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # Whatever is left in the group (the JVM if it hung, or anything it started) goes now.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _lib_is_current() -> bool:
    if not any(LIB_DIR.glob("*.jar")):
        return False
    try:
        return _POM_STAMP.read_text().strip() == _pom_digest()
    except FileNotFoundError:
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def main(argv: list[str] | None = None) -> int:
    """``python tests/neo4j_server/runner.py fetch`` copies the jars (CI does this up front);
    ``... serve`` starts a Neo4j and keeps it up until Ctrl-C (export the printed URI as
    ``METALGRAPH_TEST_NEO4J_URI`` to reuse one server across test runs)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="runner.py", description=main.__doc__)
    parser.add_argument("command", choices=["fetch", "serve"])
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            begin = time.monotonic()
            ensure_jars()
            jars = len(list(LIB_DIR.glob("*.jar")))
            print(f"{jars} jars in {LIB_DIR} ({time.monotonic() - begin:.1f} s)")
            return 0
        server = start_neo4j()
    except Neo4jUnavailable as e:
        print(e, file=sys.stderr)
        return 1
    print(f"Neo4j ready in {server.startup_seconds:.1f} s: export {URI_ENV}={server.uri}", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it like Ctrl-C
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
