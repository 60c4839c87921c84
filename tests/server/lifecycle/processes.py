"""`metalgraph serve` as a child process, for tests that kill servers or run several on one store.

Each server gets its settings from `METALGRAPH_*` environment variables; the simulated devices are
shared through a persistent sim lab (`METALGRAPH_SIM_STATE_DIR`), which the test seeds itself
beforehand and reads afterwards for the isolation report.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from metalgraph.drivers.sim import SimLab
from metalgraph.server.devices.access import DeviceAccess
from metalgraph.server.devices.demo_lab import seed_lab, sim_options
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.settings import Settings

METALGRAPH = Path(sys.executable).parent / "metalgraph"
TOKEN = "lifecycle-process-test-token-5d2a"
SERVER_ENV = {
    "METALGRAPH_ADMIN_TOKEN": TOKEN,
    "METALGRAPH_JOB_LEASE_S": "2",
    "METALGRAPH_JOB_POLL_S": "0.1",
    "METALGRAPH_SANITIZE_POLL_S": "0.05",
    "METALGRAPH_DEVICE_TIMEOUT_S": "2",
    "METALGRAPH_RATE_LIMIT_PER_S": "1000",
    "METALGRAPH_RATE_LIMIT_BURST": "1000",
    "METALGRAPH_LOG_LEVEL": "warning",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def persistent_lab(state_dir: Path, fabric: Inventory) -> SimLab:
    """The fabric's devices in files under `state_dir`, with one-poll erase jobs."""
    lab = SimLab(state_dir=state_dir)
    seed_lab(fabric, lab)
    for address in sorted(a for a in lab.addresses() if "gpu" in a):
        with lab.edit_node(address) as node:
            node.cleaning_steps = 1
    return lab


def lab_access(lab: SimLab) -> DeviceAccess:
    """Device access from the test process to the shared sim lab (for the isolation report)."""
    return DeviceAccess.from_settings(Settings(device_timeout_s=2.0), driver_options=sim_options(lab))


@dataclass
class Server:
    """One `metalgraph serve` child: start, wait until it answers, kill -9 or stop it."""

    env: Mapping[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout_s: float = 60.0) -> None:
        env = {**os.environ, **SERVER_ENV, **self.env, "METALGRAPH_PORT": str(self.port)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(METALGRAPH), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        async with httpx.AsyncClient(base_url=self.url) as client, asyncio.timeout(timeout_s):
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log.read_text()}")
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def kill9(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        """SIGTERM and wait (or SIGKILL after 30 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60.0)


class GraphQLError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(e.get("message", "") for e in errors))
        self.codes = {(e.get("extensions") or {}).get("code") for e in errors}


async def graphql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    if body.get("errors"):
        raise GraphQLError(body["errors"])
    response.raise_for_status()
    data: dict[str, Any] = body["data"]
    return data


CREATE = """
mutation($name: String!, $tenant: String!, $nodes: Int!, $sites: [String!]!) {
  createCluster(name: $name, tenant: $tenant, spec: {nodes: $nodes, sites: $sites}) { name state }
}
"""
RELEASE = "mutation($name: String!, $tenant: String!) { releaseCluster(name: $name, tenant: $tenant) { state } }"
CLUSTER = """
query($name: String!, $tenant: String!) {
  cluster(name: $name, tenant: $tenant) { state reason vlan events { seq kind state message done total } }
}
"""
