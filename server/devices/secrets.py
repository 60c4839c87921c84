"""Device credentials by reference name: the graph names them (`bmc.credentials: ipmi-admin`), this
module finds their values, which never enter the graph, a log line, an error message or an API answer.

Two sources, looked up by the reference name:

- the secrets file (setting `secrets_file`), TOML with one table per name:

      [ipmi-admin]
      username = "admin"
      password = "..."

  It must be readable by its owner only (`chmod 600`): a file that the group or others may read or
  write is refused (`InsecureSecretsFile`), as ssh refuses a private key.
- environment variables `METALGRAPH_SECRET_<NAME>_<FIELD>`: NAME upper-cased with `-`, `.` and `:` as `_`,
  FIELD lower-cased in the result (`METALGRAPH_SECRET_IPMI_ADMIN_PASSWORD` is field `password` of
  `ipmi-admin`). A field set in both places takes the environment's value. Names that differ only
  by a `_`-separated suffix (`bmc` and `bmc-admin`) share variables; do not use such pairs.

The values go straight into a `drivers.types.Credentials`, whose repr hides them.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metalgraph.drivers.types import Credentials

log = logging.getLogger("metalgraph.devices.secrets")

ENV_PREFIX = "METALGRAPH_SECRET_"
_FIELD = re.compile(r"[a-z][a-z0-9_]*")


class SecretError(Exception):
    """Credentials cannot be found or read. Messages name references, files and fields, never values."""


class SecretNotFound(SecretError):
    """No source defines the reference name."""


class InsecureSecretsFile(SecretError):
    """The secrets file may be read or written by its group or by others."""


class InvalidSecretsFile(SecretError):
    """The secrets file is missing, unreadable, not TOML, or holds something other than string fields."""


def env_prefix(name: str) -> str:
    """The prefix of the environment variables of reference `name`: `ipmi-admin` -> `METALGRAPH_SECRET_IPMI_ADMIN_`."""
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"


class SecretStore:
    """Resolves reference names to `Credentials` from a secrets file and the environment.

    The file is read on first use and again whenever it changes on disk (a rotated password is
    picked up without a restart); `environ` defaults to `os.environ`, read at each lookup.
    """

    def __init__(self, file: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.file = file
        self._environ = environ
        self._cache: tuple[tuple[int, int], dict[str, dict[str, str]]] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> SecretStore:
        """The store the server settings describe (`secrets_file`, plus the process environment)."""
        return cls(getattr(settings, "secrets_file", None))

    def resolve(self, name: str) -> Credentials:
        """The credentials of reference `name`; `SecretNotFound` when no source defines it."""
        from_file = self._file_tables().get(name, {})
        from_env = self._env_fields(name)
        if not from_file and not from_env:
            where = f"secrets file {self.file} or " if self.file is not None else ""
            raise SecretNotFound(f"no credentials named {name!r} in the {where}environment ({env_prefix(name)}<FIELD>)")
        values = {**from_file, **from_env}
        log.debug(
            "credentials %r resolved: fields %s (file: %s, environment: %s)",
            name,
            ", ".join(sorted(values)),
            ", ".join(sorted(from_file)) or "-",
            ", ".join(sorted(from_env)) or "-",
        )
        return Credentials(values)

    def names(self) -> list[str]:
        """The reference names the secrets file defines (environment-only names cannot be listed
        unambiguously and are left out)."""
        return sorted(self._file_tables())

    # --- sources ------------------------------------------------------------------------------

    def _env_fields(self, name: str) -> dict[str, str]:
        prefix = env_prefix(name)
        environ = os.environ if self._environ is None else self._environ
        fields = {}
        for variable, value in environ.items():
            if variable.startswith(prefix) and len(variable) > len(prefix):
                fields[variable[len(prefix) :].lower()] = value
        return fields

    def _file_tables(self) -> dict[str, dict[str, str]]:
        if self.file is None:
            return {}
        try:
            info = self.file.stat()
        except FileNotFoundError:
            raise InvalidSecretsFile(f"secrets file {self.file} does not exist") from None
        except OSError as error:
            raise InvalidSecretsFile(f"cannot read secrets file {self.file}: {error.strerror}") from None
        _check_private(self.file, info)
        stamp = (info.st_mtime_ns, info.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        tables = _parse(self.file)
        self._cache = (stamp, tables)
        log.debug("secrets file %s read: %d credential names", self.file, len(tables))
        return tables


def _check_private(path: Path, info: os.stat_result) -> None:
    if os.name != "posix":
        return
    loose = stat.S_IMODE(info.st_mode) & 0o077
    if loose:
        raise InsecureSecretsFile(
            f"secrets file {path} may be read or written by its group or others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); make it private with `chmod 600 {path}`"
        )


def _parse(path: Path) -> dict[str, dict[str, str]]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise InvalidSecretsFile(f"cannot read secrets file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        # the decoder's message names a line and column, never the text found there
        raise InvalidSecretsFile(f"secrets file {path} is not valid TOML: {error}") from None
    tables: dict[str, dict[str, str]] = {}
    for name, table in document.items():
        if not isinstance(table, dict):
            raise InvalidSecretsFile(f"secrets file {path}: {name!r} must be a table ([{name}] with fields)")
        for field, value in table.items():
            if not isinstance(value, str):
                raise InvalidSecretsFile(f"secrets file {path}: field {field!r} of [{name}] must be a string")
            if not _FIELD.fullmatch(field):
                raise InvalidSecretsFile(f"secrets file {path}: field name {field!r} of [{name}] is not valid")
        tables[name] = dict(table)
    return tables
