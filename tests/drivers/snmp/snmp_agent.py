"""Start snmpsim's command responder (through `snmpsim_responder.py`) as a subprocess on a free
loopback UDP port, serving chosen recordings from `data/` and one SNMPv3 USM user (SHA + AES-128);
and build driver configs that point at it. Used by `conftest.py`."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import snmpsim
from pysnmp.hlapi.v3arch.asyncio import CommunityData, ContextData, SnmpEngine, UdpTransportTarget, get_cmd
from pysnmp.smi.rfc1902 import ObjectIdentity, ObjectType

from metalgraph.drivers.types import Credentials, DeviceConfig

HERE = Path(__file__).parent
DATA = HERE / "data"
USER, AUTH_KEY, PRIV_KEY = "ops", "authkey-leaf01", "privkey-leaf01"
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
VARIATION_DIRS = (Path(snmpsim.__file__).parent / "variation", HERE / "variation")


@dataclass(frozen=True)
class Agent:
    """A running agent; `command` is how it was started."""

    host: str
    port: int
    command: tuple[str, ...]

    @property
    def address(self) -> str:
        return f"udp:{self.host}:{self.port}"

    def v2c(self, community: str = "leaf", *, timeout_s: float = 5.0, **options: Any) -> DeviceConfig:
        """A v2c config for the recording named `community`."""
        options.setdefault("retries", 0)
        return DeviceConfig(
            self.address, Credentials(community=community), {"version": "2c", **options}, timeout_s=timeout_s
        )

    def v3(
        self, context: str = "leaf", *, auth_key: str = AUTH_KEY, timeout_s: float = 5.0, **options: Any
    ) -> DeviceConfig:
        """A v3 (authPriv, SHA + AES) config for the recording named `context`."""
        options.setdefault("retries", 0)
        credentials = Credentials(username=USER, auth_key=auth_key, priv_key=PRIV_KEY)
        settings = {"version": "3", "context": context, "auth_protocol": "sha", "priv_protocol": "aes", **options}
        return DeviceConfig(self.address, credentials, settings, timeout_s=timeout_s)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_until_it_answers(process: subprocess.Popen[bytes], port: int, community: str, log: Path) -> None:
    """Poll sysName.0 until the agent answers; fail the test run when it exits or never answers."""
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=0.3, retries=0)
        for _ in range(100):
            if process.poll() is not None:
                pytest.fail(f"the SNMP agent exited with {process.returncode}:\n{log.read_text()}")
            indication, status, _, _ = await get_cmd(
                engine, CommunityData(community), target, ContextData(), ObjectType(ObjectIdentity(SYS_NAME))
            )
            if not indication and not status:
                return
            await asyncio.sleep(0.1)
        pytest.fail(f"the SNMP agent did not answer on 127.0.0.1:{port}:\n{log.read_text()}")
    finally:
        engine.close_dispatcher()


async def start_agent(workdir: Path, recordings: Iterable[str], *, source: Path = DATA) -> AsyncIterator[Agent]:
    """Serve `recordings` (names of `.snmprec` files in `source`, default data/) until the generator is closed."""
    names = list(recordings)
    data = workdir / "data"
    data.mkdir(parents=True)
    for name in names:
        shutil.copy(source / f"{name}.snmprec", data)
    port = _free_udp_port()
    command = (
        sys.executable,
        str(HERE / "snmpsim_responder.py"),
        f"--data-dir={data}",
        f"--cache-dir={workdir / 'cache'}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
        *(f"--variation-modules-dir={directory}" for directory in VARIATION_DIRS),
        f"--v3-user={USER}",
        f"--v3-auth-key={AUTH_KEY}",
        "--v3-auth-proto=SHA",
        f"--v3-priv-key={PRIV_KEY}",
        "--v3-priv-proto=AES",
        "--log-level=error",
    )
    log = workdir / "agent.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        await _wait_until_it_answers(process, port, names[0], log)
        yield Agent("127.0.0.1", port, command)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
