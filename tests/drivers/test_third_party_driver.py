"""A third-party driver package, installed for real, is found through its entry point, loaded by
the registry, and passes the conformance kit with writes allowed."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

from metalgraph.drivers import registry
from metalgraph.drivers.conformance import CheckStatus, validate
from metalgraph.drivers.types import DeviceConfig

EXAMPLE = Path(__file__).parent / "example_driver"
MODULE = "metalgraph_example_driver"


def build_wheel(project: Path, out: Path) -> Path:
    """A pure-Python wheel of `project` made from its pyproject.toml (its name, version, entry
    points and `src/` packages). The venv's setuptools cannot build wheels without the `wheel`
    package, and the test must work offline, so the wheel is zipped here; pip installs it."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    dist = re.sub(r"[-_.]+", "_", meta["name"])
    info = f"{dist}-{meta['version']}.dist-info"
    entry_points = "\n".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items())
        for group, entries in meta["entry-points"].items()
    )
    files = {
        path.relative_to(project / "src").as_posix(): path.read_bytes() for path in (project / "src").rglob("*.py")
    }
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n".encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: metalgraph-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = entry_points.encode()
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,", ""]).encode()
    wheel = out / f"{dist}-{meta['version']}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@contextlib.contextmanager
def installed_for_real(project: Path, tmp_path: Path) -> Iterator[Path]:
    """pip-install `project` into a directory put first on sys.path; take it away afterwards."""
    target = tmp_path / "site-packages"
    wheel = build_wheel(project, tmp_path)
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)]
    installed = subprocess.run(pip, capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        sys.modules.pop(MODULE, None)
        importlib.invalidate_caches()


async def test_an_installed_third_party_driver_loads_and_passes_the_kit(tmp_path: Path) -> None:
    assert "example" not in registry.installed("switch")
    with installed_for_real(EXAMPLE, tmp_path) as site:
        assert (site / "metalgraph_example_driver-0.1.0.dist-info" / "entry_points.txt").is_file()
        assert "example" in registry.installed("switch")
        assert registry.switch_driver("example").__module__ == MODULE
        config = DeviceConfig("example://sw-1")
        report = await validate("switch", "example", config, allow_writes=True, test_port="ge-0/0/2")

    assert report.passed, report.render()
    assert all(check.status is CheckStatus.PASSED for check in report.checks), report.render()
    assert (report.driver, report.kind) == ("example", "switch")
    assert "example" not in registry.installed("switch"), "uninstalled again"
