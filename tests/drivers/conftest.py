"""Fixtures for the driver tests: a private sim lab, and fake installed distributions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from metalgraph.drivers.sim import SimLab
from metalgraph.drivers.types import DeviceConfig

RegisterDistribution = Callable[[str, Mapping[str, Mapping[str, str]]], None]


@pytest.fixture
def lab() -> SimLab:
    return SimLab()


@pytest.fixture
def sim_config(lab: SimLab) -> Callable[..., DeviceConfig]:
    """`sim_config("leaf-01", timeout_s=0.5)`: a config for a device in this test's lab."""

    def make(name: str, timeout_s: float = 1.0) -> DeviceConfig:
        return DeviceConfig(f"sim://{name}", options={"lab": lab}, timeout_s=timeout_s)

    return make


@pytest.fixture
def register_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RegisterDistribution:
    """Install a distribution's metadata (no code) on sys.path for this test: exactly what
    importlib.metadata reads to find entry points. `entry_points` is {group: {name: value}}."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def register(name: str, entry_points: Mapping[str, Mapping[str, str]]) -> None:
        info = site / f"{name.replace('-', '_')}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        sections = (
            f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items())
            for group, entries in entry_points.items()
        )
        (info / "entry_points.txt").write_text("\n".join(sections))

    return register
