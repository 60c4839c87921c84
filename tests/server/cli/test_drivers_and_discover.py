"""`metalgraph drivers list|validate` and `metalgraph discover`, in-process (CliRunner) on an embedded store.

The commands are registered on an app of this module's own, as `server/cli/__init__.py` registers them.
Sim devices live in the process-wide lab; each test removes the ones it made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from metalgraph.drivers.sim import default_lab
from metalgraph.server.cli import discover_command, drivers_commands, inventory_commands
from metalgraph.server.devices.demo_lab import forget_sim_devices
from metalgraph.server.inventory.demo import generate_fabric

app = typer.Typer()
inventory_commands.register(app)
drivers_commands.register(app)
discover_command.register(app)
runner = CliRunner()
FABRIC = generate_fabric(16)
LINKS = sum(1 for n in FABRIC.nodes for nic in n.nics if nic.port) + 2 * len(FABRIC.links)


def cli(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def clean_lab() -> Iterator[None]:
    addresses = [sw.mgmt_address for sw in FABRIC.switches] + [n.bmc.address for n in FABRIC.nodes if n.bmc]
    forget_sim_devices(default_lab(), addresses)
    yield
    forget_sim_devices(default_lab(), [*addresses, "sim://cli-broken"])


@pytest.fixture
def demo_dir(tmp_path: Path, clean_lab: None) -> Path:
    data = tmp_path / "data"
    result = cli("demo", "--gpus", "16", "--import", "--data-dir", data)
    assert result.exit_code == 0, result.output
    return data


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "metalgraph.toml"
    path.write_text(text)
    return path


# --- drivers ------------------------------------------------------------------------------------


def test_drivers_list_shows_installed_drivers_and_what_is_validated(tmp_path: Path) -> None:
    settings = config(tmp_path, 'validated_drivers = ["bmc:sim", "switch:acme"]\n')
    result = cli("drivers", "list", "--config", settings, "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    rows = {(row["kind"], row["driver"]): row["validated"] for row in listing["drivers"]}
    assert rows[("bmc", "sim")] is True and rows[("switch", "sim")] is False and rows[("bmc", "redfish")] is False
    assert listing["validated_not_installed"] == ["switch:acme"]
    table = cli("drivers", "list", "--config", settings)
    assert table.exit_code == 0 and "redfish" in table.stdout and "snmp" in table.stdout
    assert "switch:acme, which is not installed" in table.stderr


def test_validate_sim_switch_with_writes_passes_and_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = cli(
        "drivers", "validate", "--kind", "switch", "--driver", "sim", "--target", "sim://kit-leaf",
        "--allow-writes", "--test-port", "swp1", "--json", report,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "switch driver 'sim' against sim://kit-leaf (writes allowed): PASSED" in result.stdout
    data = json.loads(report.read_text())
    assert (data["driver"], data["kind"], data["passed"], data["test_port"]) == ("sim", "switch", True, "swp1")
    statuses = {check["capability"]: check["status"] for check in data["checks"]}
    assert statuses["access_vlan"] == statuses["trunk"] == statuses["lldp"] == "pass"


def test_validate_a_sim_bmc_read_only_skips_the_writes() -> None:
    result = cli("drivers", "validate", "--kind", "bmc", "--driver", "sim", "--target", "sim://kit-node")
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.stdout and "SKIPPED" in result.stdout and "power_control" in result.stdout


def test_validate_fails_with_exit_1_for_a_dead_device_and_an_unknown_driver(clean_lab: None) -> None:
    default_lab().add_switch("cli-broken", ports=2).faults.unreachable = True
    dead = cli("drivers", "validate", "--kind", "switch", "--driver", "sim", "--target", "sim://cli-broken")
    assert dead.exit_code == 1, dead.output
    assert "FAILED" in dead.stdout and "DeviceUnreachable" in dead.stdout
    unknown = cli("drivers", "validate", "--kind", "bmc", "--driver", "nosuch", "--target", "https://10.0.0.5")
    assert unknown.exit_code == 1 and "no bmc driver named 'nosuch'" in unknown.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--test-port", "swp1"], "--test-port only matters with --allow-writes"),
        (["--allow-writes"], "needs --test-port"),
        (["--credentials", "no-such-secret"], "no credentials named 'no-such-secret'"),
        (["--option", "version"], "--option wants KEY=VALUE"),
    ],
)
def test_validate_refuses_bad_input_with_exit_2(extra: list[str], message: str) -> None:
    result = cli("drivers", "validate", "--kind", "switch", "--driver", "sim", "--target", "sim://x", *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


# --- discover -----------------------------------------------------------------------------------


def test_discover_proposes_applies_then_finds_nothing(demo_dir: Path) -> None:
    dry = cli("discover", "--data-dir", demo_dir, "--max-lines", "3")
    assert dry.exit_code == 0, dry.output
    assert "read 16 of 16 devices" in dry.stdout
    assert f"{LINKS} changes proposed; run with --apply to write them" in dry.stdout
    assert "+ (NIC gpu-0001/bmc0)-[OBSERVED]->(Port oob-su01/swp1)" in dry.stdout

    applied = cli("discover", "--data-dir", demo_dir, "--apply", "--json")
    assert applied.exit_code == 0, applied.output
    report = json.loads(applied.stdout)
    assert (report["applied"], report["changes"], report["failed"]) == (True, LINKS, [])
    assert report["drift"] == {"missing": 0, "unexpected": 0, "wrong_rail": 0, "unscanned": [], "items": []}

    again = cli("discover", "--data-dir", demo_dir)
    assert again.exit_code == 0 and "no changes: the graph matches what the devices report" in again.stdout


def test_discover_sim_drift_shows_the_faults_it_cabled_in(demo_dir: Path) -> None:
    result = cli("discover", "--data-dir", demo_dir, "--sim-drift", "--apply", "--json")
    assert result.exit_code == 0, result.output
    drift = json.loads(result.stdout)["drift"]
    assert (drift["missing"], drift["unexpected"], drift["wrong_rail"]) == (3, 3, 2)
    assert {item["kind"] for item in drift["items"]} == {"missing", "unexpected", "wrong_rail"}
    assert "sim: unplugged gpu-0001/rail0" in result.stderr


def test_discover_reports_a_dead_device_and_exits_1(demo_dir: Path) -> None:
    assert cli("discover", "--data-dir", demo_dir).exit_code == 0  # seeds the process's sim devices
    default_lab().switch("sim://leaf-p01-su01-r2").faults.unreachable = True
    result = cli("discover", "--data-dir", demo_dir, "--apply")
    assert result.exit_code == 1, result.output
    assert "read 15 of 16 devices" in result.stdout and "DeviceUnreachable" in result.stdout
    default_lab().switch("sim://leaf-p01-su01-r2").faults.clear()
    healed = json.loads(cli("discover", "--data-dir", demo_dir, "--json").stdout)
    assert healed["summary"] == {"OBSERVED": {"added": 2 + 32, "changed": 0, "removed": 0}}  # only what it hears


def test_discover_refuses_drivers_not_validated(demo_dir: Path, tmp_path: Path) -> None:
    settings = config(tmp_path, 'validated_drivers = ["bmc:sim"]\n')
    result = cli("discover", "--data-dir", demo_dir, "--config", settings, "--json")
    assert result.exit_code == 1, result.output
    failed = json.loads(result.stdout)["failed"]
    assert len(failed) == 14 and {f["error"] for f in failed} == {"DriverNotValidated"}


def test_discover_an_unknown_node_is_exit_2(demo_dir: Path) -> None:
    result = cli("discover", "--data-dir", demo_dir, "--node", "nope")
    assert result.exit_code == 2 and "node 'nope' not found" in result.stderr
