"""docker-compose.yml and the Dockerfile agree with each other and with the server's Settings.

No Docker needed: the files are parsed, not run. Compose `${VAR:?message}` and `${VAR:-default}`
interpolations are resolved the way compose would, with sample values for required variables.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from metalgraph.server.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

NEO4J_SERVICE = "neo4j"
APP_SERVICE = "metalgraph"
NEO4J_DEFAULT_BOLT_PORT = 7687

_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


# --- helpers ---------------------------------------------------------------------------------


def interpolate(value: object) -> str:
    """A compose value with `${VAR}`, `${VAR:-default}` and `${VAR:?error}` resolved; `$$` is `$`."""
    text = str(value)

    def sample(match: re.Match[str]) -> str:
        if match["op"] in (":-", "-"):
            return match["arg"]
        return f"sample-{match['name'].lower()}-0123456789"  # long enough for Neo4j's 8-char minimum

    return _INTERPOLATION.sub(sample, text.replace("$$", "\0")).replace("\0", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment:` as a dict of raw (not yet interpolated) strings; list or mapping form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def container_ports(service: dict[str, Any]) -> set[int]:
    """Container-side ports of a service's `ports:` (short `[ip:]host:container[/proto]` or long form)."""
    ports: set[int] = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port, for the mappings that publish a host port."""
    mapping: dict[int, int] = {}
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                mapping[int(entry["target"])] = int(entry["published"])
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) >= 2 and parts[-2]:
            mapping[int(parts[-1])] = int(parts[-2])
    return mapping


def volume_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            if entry.get("type", "volume") == "volume" and entry.get("source"):
                sources.append(str(entry["source"]))
        elif ":" in str(entry):
            sources.append(str(entry).split(":", 1)[0])
    return sources


def is_named_volume(source: str) -> bool:
    return not source.startswith(("/", ".", "~", "$"))


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    pairs = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        pairs.append((instruction.upper(), args.strip()))
    return pairs


def exposed_ports(instructions: list[tuple[str, str]]) -> set[int]:
    return {int(port.split("/")[0]) for name, args in instructions if name == "EXPOSE" for port in args.split()}


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for name, args in instructions:
        if name == "ENV":
            for token in shlex.split(args):
                key, _, value = token.partition("=")
                env[key] = value
    return env


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose.get("services") or {}
    assert {NEO4J_SERVICE, APP_SERVICE} <= set(found), f"services are {sorted(found)}"
    return found


@pytest.fixture
def app_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    return environment(services[APP_SERVICE])


@pytest.fixture
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text())


# --- docker-compose.yml ----------------------------------------------------------------------


def test_neo4j_is_the_526_lts_community_image(services: dict[str, dict[str, Any]]) -> None:
    image = services[NEO4J_SERVICE].get("image", "")
    assert re.fullmatch(r"neo4j:5\.26(\.\d+)?-community", image), image


def test_every_metalgraph_variable_is_a_setting(services: dict[str, dict[str, Any]]) -> None:
    named = {key for service in services.values() for key in environment(service) if key.startswith(ENV_PREFIX)}
    assert named, "docker-compose.yml sets no METALGRAPH_* variable"
    unknown = sorted(key for key in named if key.removeprefix(ENV_PREFIX).lower() not in Settings.model_fields)
    assert not unknown, f"not fields of Settings: {unknown}"


def test_compose_values_validate_as_settings(app_env: dict[str, str]) -> None:
    values = {
        key.removeprefix(ENV_PREFIX).lower(): interpolate(value)
        for key, value in app_env.items()
        if key.startswith(ENV_PREFIX) and interpolate(value) != ""  # Settings ignores empty variables
    }
    settings = Settings(**values)
    assert settings.uses_neo4j
    assert not settings.loopback_reads, "inside a container every caller must authenticate"
    assert settings.host == "0.0.0.0"
    assert settings.admin_token is not None, "mutations would be open to anyone"
    assert settings.neo4j_password is not None


def test_secrets_are_required_variables_not_literals(
    services: dict[str, dict[str, Any]], app_env: dict[str, str]
) -> None:
    for key in ("METALGRAPH_ADMIN_TOKEN", "METALGRAPH_NEO4J_PASSWORD"):
        assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", app_env.get(key, "")), f"{key} must be ${{VAR:?message}}"
    assert re.fullmatch(r"[^/]+/\$\{\w+:\?[^}]*\}", environment(services[NEO4J_SERVICE]).get("NEO4J_AUTH", ""))


def test_metalgraph_logs_in_with_the_neo4j_credentials(
    services: dict[str, dict[str, Any]], app_env: dict[str, str]
) -> None:
    user, _, password = environment(services[NEO4J_SERVICE])["NEO4J_AUTH"].partition("/")
    assert app_env.get("METALGRAPH_NEO4J_USER") == user
    assert app_env.get("METALGRAPH_NEO4J_PASSWORD") == password


def test_published_port_is_metalgraph_port(services: dict[str, dict[str, Any]], app_env: dict[str, str]) -> None:
    port = int(interpolate(app_env["METALGRAPH_PORT"]))
    assert published_ports(services[APP_SERVICE]) == {port: port}
    health = " ".join(map(str, services[APP_SERVICE]["healthcheck"]["test"]))
    assert f":{port}/healthz" in health, health


def test_store_is_the_neo4j_service_bolt_port(services: dict[str, dict[str, Any]], app_env: dict[str, str]) -> None:
    url = urlsplit(interpolate(app_env["METALGRAPH_STORE"]))
    assert url.scheme == "bolt", "one Neo4j server: bolt://, not neo4j:// (no routing table)"
    assert url.hostname == NEO4J_SERVICE
    neo4j_env = environment(services[NEO4J_SERVICE])
    listen = neo4j_env.get("NEO4J_server_bolt_listen__address", f":{NEO4J_DEFAULT_BOLT_PORT}")
    bolt_port = int(listen.rsplit(":", 1)[-1])
    assert url.port == bolt_port
    assert bolt_port in container_ports(services[NEO4J_SERVICE])


def test_metalgraph_waits_for_a_healthy_neo4j(services: dict[str, dict[str, Any]]) -> None:
    depends = services[APP_SERVICE].get("depends_on") or {}
    assert isinstance(depends, dict), "depends_on needs the long form to wait for health"
    assert depends.get(NEO4J_SERVICE, {}).get("condition") == "service_healthy"


@pytest.mark.parametrize("name", [NEO4J_SERVICE, APP_SERVICE])
def test_service_has_a_healthcheck(services: dict[str, dict[str, Any]], name: str) -> None:
    check = services[name].get("healthcheck") or {}
    assert not check.get("disable", False)
    test = check.get("test")
    assert test and test not in (["NONE"], "NONE"), f"{name} has no healthcheck"
    if name == NEO4J_SERVICE:
        command = " ".join(test) if isinstance(test, list) else str(test)
        assert "cypher-shell" in command, command


@pytest.mark.parametrize("name", [NEO4J_SERVICE, APP_SERVICE])
def test_service_keeps_data_on_a_declared_named_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], name: str
) -> None:
    named = [source for source in volume_sources(services[name]) if is_named_volume(source)]
    assert named, f"{name} mounts no named volume"
    declared = set(compose.get("volumes") or {})
    assert set(named) <= declared, f"{sorted(set(named) - declared)} not declared under top-level volumes:"


def test_app_data_dir_is_on_its_volume(services: dict[str, dict[str, Any]], app_env: dict[str, str]) -> None:
    targets = {
        (entry["target"] if isinstance(entry, dict) else str(entry).split(":")[1])
        for entry in services[APP_SERVICE].get("volumes") or []
    }
    assert interpolate(app_env["METALGRAPH_DATA_DIR"]) in targets


# --- Dockerfile ------------------------------------------------------------------------------


def test_image_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = [args.split(":")[0] for name, args in dockerfile if name == "USER"]
    assert users, "no USER: the server would run as root"
    assert users[-1] not in ("root", "0")


def test_image_exposes_the_compose_port(dockerfile: list[tuple[str, str]], app_env: dict[str, str]) -> None:
    port = int(interpolate(app_env["METALGRAPH_PORT"]))
    assert exposed_ports(dockerfile) == {port}
    assert dockerfile_env(dockerfile).get("METALGRAPH_PORT", str(port)) == str(port)


def test_image_serves_on_all_interfaces_with_a_healthcheck(dockerfile: list[tuple[str, str]]) -> None:
    assert ("CMD", '["metalgraph", "serve", "--host", "0.0.0.0"]') in dockerfile
    health = [args for name, args in dockerfile if name == "HEALTHCHECK"]
    assert health and "/healthz" in health[-1] and "urllib" in health[-1]
    assert dockerfile[0][0] == "FROM" and dockerfile[0][1].startswith("python:3.11-slim")
