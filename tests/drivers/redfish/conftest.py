"""Fixtures: the sushy-tools Redfish emulator (a real protocol peer), a loopback fake BMC that serves
recorded vendor documents from `fixtures/`, and a driver factory. (Test modules cannot import this
conftest by name: `tests/conftest.py` owns that name; everything is offered as fixtures.)"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from metalgraph.drivers.redfish import RedfishBmc
from metalgraph.drivers.types import Credentials, DeviceConfig

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
USERNAME, PASSWORD = "admin", "s3cret-Redfish"
SYSTEM_UUID = "27946b59-9e44-4fa7-8e91-f3527a1ef094"


def _load_helper(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"redfish_tests_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fakebmc = _load_helper("fakebmc")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mockup(name: str) -> dict[str, Any]:
    """A recorded document set (URI -> document) from `fixtures/<name>.json`."""
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def _make_driver(
    url: str, *, username: str = USERNAME, password: str = PASSWORD, timeout_s: float = 10.0, **options: Any
) -> RedfishBmc:
    options.setdefault("poll_interval_s", 0.05)
    credentials = Credentials(username=username, password=password)
    return RedfishBmc(DeviceConfig(address=url, credentials=credentials, options=options, timeout_s=timeout_s))


@pytest.fixture
def make_driver() -> Callable[..., RedfishBmc]:
    """`make_driver(url, password=..., timeout_s=..., **options)`: a RedfishBmc with the test credentials."""
    return _make_driver


@pytest.fixture
def load_mockup() -> Callable[[str], dict[str, Any]]:
    """`load_mockup("hgx_h100")`: a fresh copy of a recorded document set."""
    return mockup


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


# --- sushy-tools emulator -------------------------------------------------------------------------


@dataclass(frozen=True)
class Emulator:
    url: str
    system_uuid: str
    system_name: str
    password: str


EMULATOR_CONFIG = """
SUSHY_EMULATOR_LISTEN_IP = "127.0.0.1"
SUSHY_EMULATOR_LISTEN_PORT = {port}
SUSHY_EMULATOR_FAKE_DRIVER = True
SUSHY_EMULATOR_STATE_DIR = {state!r}
SUSHY_EMULATOR_AUTH_FILE = {auth!r}
SUSHY_EMULATOR_FAKE_SYSTEMS = [
    {{"uuid": {uuid!r}, "name": "node-1", "power_state": "Off", "external_notifier": False,
      "nics": [{{"mac": "00:5C:52:31:3A:9C", "ip": "172.22.0.100"}}]}},
]
SUSHY_EMULATOR_STORAGE = {{
    {uuid!r}: [{{"Id": "1", "Name": "Local Storage Controller", "Drives": ["32ADF365C6C1B7BD", "58CFF987G8J2V9KL"],
               "StorageControllers": [{{"MemberId": "0", "Name": "Contoso Integrated RAID", "SpeedGbps": 12}}]}}],
}}
SUSHY_EMULATOR_DRIVES = {{
    ({uuid!r}, "1"): [
        {{"Id": "32ADF365C6C1B7BD", "Name": "Drive Sample", "CapacityBytes": 899527000000, "Protocol": "SAS"}},
        {{"Id": "58CFF987G8J2V9KL", "Name": "Drive2", "CapacityBytes": 12345670000, "Protocol": "SATA"}},
    ],
}}
"""


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """`sushy-emulator` with its fake system driver and HTTP basic auth (bcrypt htpasswd), on a free
    loopback port, with its state in a fresh directory."""
    work = tmp_path_factory.mktemp("sushy-emulator")
    port = free_port()
    auth = work / "htpasswd"
    digest = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()  # cheap rounds: checked per request
    auth.write_text(f"{USERNAME}:{digest}\n")
    config = work / "emulator.conf"
    config.write_text(EMULATOR_CONFIG.format(port=port, state=str(work / "state"), auth=str(auth), uuid=SYSTEM_UUID))
    log = (work / "emulator.log").open("wb")
    command = [sys.executable, str(HERE / "emulator_main.py"), "--config", str(config)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, f"{url}/redfish/v1/", work / "emulator.log")
        yield Emulator(url=url, system_uuid=SYSTEM_UUID, system_name="node-1", password=PASSWORD)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(process: subprocess.Popen[bytes], root: str, log: Path) -> None:
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        if process.poll() is not None:
            pytest.fail(f"sushy-emulator exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(root, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    pytest.fail(f"sushy-emulator did not answer at {root}:\n{log.read_text()}")


# --- loopback fake BMC on recorded documents --------------------------------------------------------


@pytest.fixture
def fake_bmc() -> Iterator[Callable[..., Any]]:
    """A factory: `fake_bmc("hgx_h100")` serves that mockup (or a dict of documents) until the test ends."""
    started: list[Any] = []

    def start(docs: str | dict[str, Any]) -> Any:
        bmc = fakebmc.FakeBmc(mockup(docs) if isinstance(docs, str) else docs, username=USERNAME, password=PASSWORD)
        started.append(bmc)
        return bmc

    yield start
    for bmc in started:
        bmc.stop()
