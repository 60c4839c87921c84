"""The CLI's own config file: which server to talk to, and the token `metalgraph login` saved for it.

The file is TOML at `platformdirs.user_config_dir("metalgraph")/config.toml` (`~/.config/metalgraph/`
on Linux), or wherever `METALGRAPH_CONFIG` points, and holds two strings:

    url = "https://metalgraph.example.org/graphql"
    token = "mg_..."

Where a URL and token come from, first match wins: the explicit argument (`--url`, `--token`), then
the environment (`METALGRAPH_URL`, `METALGRAPH_TOKEN`), then this file, then `DEFAULT_URL` and no
token. Two rules keep the saved token where it belongs:

- The file's token is used only with the file's URL. `--url https://elsewhere` never sends it to
  another server (a typo or a hostile URL must not collect the token); pass `--token` for that.
- On POSIX, a token in a file that its group or others can read is refused, as ssh refuses such a
  private key: a warning on stderr says how to fix it (`chmod 600`), and the call goes on without the
  token. The URL in such a file is still used. `save` always writes the file with mode 0600.
"""

from __future__ import annotations

import os
import secrets
import stat
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from . import DEFAULT_URL
from .errors import MetalgraphError

ENV_CONFIG = "METALGRAPH_CONFIG"
ENV_URL = "METALGRAPH_URL"
ENV_TOKEN = "METALGRAPH_TOKEN"

_HEADER = "# metalgraph CLI settings, written by `metalgraph login`. Keep this file private (mode 0600).\n"


class ConfigError(MetalgraphError):
    """The config file cannot be read or written, or holds something other than the expected strings."""


class InsecureConfigWarning(UserWarning):
    """The config file holds a token but its group or others may read it; the token was not used."""


@dataclass(frozen=True)
class CliConfig:
    """What the config file holds; None for a field it does not set."""

    url: str | None = None
    token: str | None = None


@dataclass(frozen=True)
class Resolved:
    """The URL and token a client will use, and where each came from (`argument`, `env`, `config`, `default`)."""

    url: str
    token: str | None
    url_source: str
    token_source: str | None
    config_path: Path


def config_path() -> Path:
    """Where the config file lives: `$METALGRAPH_CONFIG`, else the platform's user config directory."""
    override = os.environ.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("metalgraph")) / "config.toml"


def load(path: Path | None = None) -> CliConfig:
    """The config at `path` (default `config_path()`); an empty `CliConfig` when the file does not exist.

    Unknown keys are ignored. Raises ConfigError for a file that cannot be read or parsed, or whose
    `url`/`token` are not strings.
    """
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CliConfig()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    values: dict[str, str | None] = {}
    for key in ("url", "token"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"config file {path}: `{key}` must be a string")
        values[key] = value or None
    return CliConfig(url=values["url"], token=values["token"])


def save(config: CliConfig, path: Path | None = None) -> Path:
    """Write `config` to `path` (default `config_path()`) atomically, readable by its owner only.

    The directory is created with mode 0700 when missing. The new file is created with mode 0600
    under a temporary name in the same directory and then renamed over the old one, so a reader
    sees the old file or the new one, and the token is never readable by others, not even briefly.
    """
    path = path or config_path()
    body = _HEADER + "".join(
        f"{key} = {toml_string(value)}\n" for key, value in (("url", config.url), ("token", config.token)) if value
    )
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(tmp, flags, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                if hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), 0o600)  # exactly 0600, whatever the umask
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_directory(path.parent)
    except OSError as e:
        raise ConfigError(f"cannot write config file {path}: {e.strerror or e}") from None
    return path


def insecure_reason(path: Path) -> str | None:
    """Why a token in `path` must not be trusted (group/world readable), or None. Always None off POSIX."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"{path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`"
    return None


def resolve(
    url: str | None = None,
    token: str | None = None,
    *,
    path: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> Resolved:
    """The URL and token to use: argument, then environment, then the config file, then the default.

    An empty string counts as not given, except `token=""`, which means "no token" and stops the
    search. The config file is read only when it is needed. `warn` receives the message when the
    file's token is refused because of its permissions (default: `warnings.warn` with
    InsecureConfigWarning).
    """
    path = path or config_path()
    env_url, env_token = os.environ.get(ENV_URL) or None, os.environ.get(ENV_TOKEN) or None
    config: CliConfig | None = None

    def from_file() -> CliConfig:
        nonlocal config
        if config is None:
            config = load(path)
        return config

    if url:
        chosen_url, url_source = url, ("env" if url == env_url else "argument")
    elif env_url:
        chosen_url, url_source = env_url, "env"
    elif from_file().url:
        chosen_url, url_source = from_file().url or DEFAULT_URL, "config"
    else:
        chosen_url, url_source = DEFAULT_URL, "default"

    chosen_token: str | None = None
    token_source: str | None = None
    if token is not None:
        if token:
            chosen_token, token_source = token, ("env" if token == env_token else "argument")
    elif env_token:
        chosen_token, token_source = env_token, "env"
    else:
        saved = from_file()
        if saved.token and same_url(saved.url or DEFAULT_URL, chosen_url):
            reason = insecure_reason(path)
            if reason is None:
                chosen_token, token_source = saved.token, "config"
            else:
                (warn or _warn)(f"ignoring the token in the config file: {reason}")
    return Resolved(chosen_url, chosen_token, url_source, token_source, path)


def same_url(a: str, b: str) -> bool:
    """Whether two endpoint URLs name the same server endpoint (a trailing slash does not count)."""
    return a.strip().rstrip("/") == b.strip().rstrip("/")


def toml_string(value: str) -> str:
    """`value` as a TOML basic string: quotes, backslashes and control characters escaped."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _warn(message: str) -> None:
    warnings.warn(message, InsecureConfigWarning, stacklevel=3)
