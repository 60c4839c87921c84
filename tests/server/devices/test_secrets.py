"""Credentials by reference: from the secrets file and the environment, never in a log line or a message."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from metalgraph.server.devices.secrets import (
    InsecureSecretsFile,
    InvalidSecretsFile,
    SecretNotFound,
    SecretStore,
    env_prefix,
)

PASSWORD = "s3cr3t-Pa55-7731"
COMMUNITY = "c0mmun1ty-9912"


def secrets_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_reference_resolves_from_the_file(tmp_path: Path) -> None:
    path = secrets_file(tmp_path, f'[ipmi-admin]\nusername = "admin"\npassword = "{PASSWORD}"\n')
    credentials = SecretStore(path, environ={}).resolve("ipmi-admin")
    assert credentials.require("username") == "admin"
    assert credentials.require("password") == PASSWORD
    assert PASSWORD not in repr(credentials) and PASSWORD not in str(credentials)
    assert SecretStore(path, environ={}).names() == ["ipmi-admin"]


def test_a_reference_resolves_from_the_environment() -> None:
    environ = {
        "METALGRAPH_SECRET_SNMP_RO_V2_COMMUNITY": COMMUNITY,
        "METALGRAPH_SECRET_SNMP_RO_V2_AUTH_KEY": "k",
        "METALGRAPH_SECRET_OTHER_PASSWORD": "not this one",
    }
    assert env_prefix("snmp-ro.v2") == "METALGRAPH_SECRET_SNMP_RO_V2_"
    credentials = SecretStore(None, environ=environ).resolve("snmp-ro.v2")
    assert credentials.names() == ["auth_key", "community"]
    assert credentials.require("community") == COMMUNITY


def test_the_process_environment_is_read_at_each_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    store = SecretStore()
    with pytest.raises(SecretNotFound):
        store.resolve("late")
    monkeypatch.setenv("METALGRAPH_SECRET_LATE_PASSWORD", PASSWORD)
    assert store.resolve("late").require("password") == PASSWORD


def test_the_environment_overrides_a_field_of_the_file(tmp_path: Path) -> None:
    path = secrets_file(tmp_path, '[bmc]\nusername = "admin"\npassword = "old"\n')
    credentials = SecretStore(path, environ={"METALGRAPH_SECRET_BMC_PASSWORD": PASSWORD}).resolve("bmc")
    assert (credentials.require("username"), credentials.require("password")) == ("admin", PASSWORD)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = secrets_file(tmp_path, '[bmc]\npassword = "first"\n')
    store = SecretStore(path, environ={})
    assert store.resolve("bmc").require("password") == "first"
    path.write_text('[bmc]\npassword = "second-and-longer"\n')
    assert store.resolve("bmc").require("password") == "second-and-longer"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_file_the_group_or_others_may_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    path = secrets_file(tmp_path, f'[bmc]\npassword = "{PASSWORD}"\n', mode)
    with pytest.raises(InsecureSecretsFile) as refused:
        SecretStore(path, environ={}).resolve("bmc")
    assert f"{mode:04o}" in str(refused.value) and "chmod 600" in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_an_unknown_reference_names_where_it_was_looked_for(tmp_path: Path) -> None:
    path = secrets_file(tmp_path, f'[bmc]\npassword = "{PASSWORD}"\n')
    with pytest.raises(SecretNotFound) as missing:
        SecretStore(path, environ={}).resolve("switch-ro")
    message = str(missing.value)
    assert "'switch-ro'" in message and str(path) in message and "METALGRAPH_SECRET_SWITCH_RO_<FIELD>" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'[bmc]\npassword = "{PASSWORD}\n', "not valid TOML"),
        (f'bmc = "{PASSWORD}"\n', "must be a table"),
        ("[bmc]\npassword = 7731\n", "field 'password' of [bmc] must be a string"),
    ],
)
def test_a_malformed_file_is_refused_without_echoing_values(tmp_path: Path, text: str, expected: str) -> None:
    path = secrets_file(tmp_path, text)
    with pytest.raises(InvalidSecretsFile) as invalid:
        SecretStore(path, environ={}).resolve("bmc")
    assert expected in str(invalid.value)
    assert PASSWORD not in str(invalid.value) and "7731" not in str(invalid.value)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidSecretsFile, match="does not exist"):
        SecretStore(tmp_path / "nope.toml", environ={}).resolve("bmc")


def test_no_secret_value_is_ever_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = secrets_file(tmp_path, f'[bmc]\nusername = "admin"\npassword = "{PASSWORD}"\n')
    store = SecretStore(path, environ={"METALGRAPH_SECRET_SNMP_COMMUNITY": COMMUNITY})
    store.resolve("bmc")
    store.resolve("snmp")
    with pytest.raises(SecretNotFound):
        store.resolve("absent")
    logging.getLogger("test").info("resolved %r", store.resolve("bmc"))  # a careless caller logs the object
    assert "credentials 'bmc' resolved" in caplog.text  # logging happened, with names only
    for secret in (PASSWORD, COMMUNITY):
        assert secret not in caplog.text
