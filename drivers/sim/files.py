"""The files behind a persistent `SimLab`: one JSON file per device, one lock file per device.

Layout under the state directory: `switch/<name>.json` and `node/<name>.json` (the device name is
the address without `sim://`, percent-quoted so that any name is one file name), each with a
`<name>.lock` beside it. A file is replaced atomically (`os.replace` of a complete temporary file),
so a reader never sees half a state and a process killed in the middle of a write leaves the last
complete state. `fcntl.flock` on the lock file serialises read-modify-write across processes (and
threads: each holder opens its own descriptor). Lock files are never deleted, as deleting one would
let two holders lock different files.

The codec turns the state dataclasses (`SwitchState`, `NodeState` and everything in them) into
JSON (dataclasses by field, enums by value, sets sorted, tuples as lists) and back by their type
hints (one converter built per type).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote

Kind = Literal["switch", "node"]
KINDS: tuple[Kind, ...] = ("switch", "node")
SCHEME = "sim://"


class DeviceFiles:
    """The device files of one state directory (created if missing)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for kind in KINDS:
            (root / kind).mkdir(parents=True, exist_ok=True)

    def path(self, kind: Kind, address: str) -> Path:
        return self.root / kind / (quote(address.removeprefix(SCHEME), safe="") + ".json")

    def read(self, kind: Kind, address: str) -> str | None:
        """The device's state as stored now; None when the lab has no such device."""
        try:
            return self.path(kind, address).read_text()
        except FileNotFoundError:
            return None

    def write(self, kind: Kind, address: str, text: str) -> None:
        """Replace the device's state atomically. Call it holding the device's lock."""
        path = self.path(kind, address)
        temporary = path.with_suffix(".tmp")  # one writer at a time (the lock): a fixed name is safe
        temporary.write_text(text)
        os.replace(temporary, path)

    def delete(self, kind: Kind, address: str) -> None:
        self.path(kind, address).unlink(missing_ok=True)

    def addresses(self, kind: Kind) -> list[str]:
        """The addresses of the devices of `kind` stored now, sorted."""
        return sorted(SCHEME + unquote(path.stem) for path in (self.root / kind).glob("*.json"))

    @contextmanager
    def locked(self, kind: Kind, address: str) -> Iterator[None]:
        """Hold the device's lock (blocking). Never `await` while holding it: a second holder in the
        same event loop would block the loop for good."""
        descriptor = os.open(self.path(kind, address).with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock


def dumps(state: Any) -> str:
    """A state dataclass as JSON (deterministic: equal states give equal text). The C encoder does
    the walk; `_plain` only unwraps what JSON lacks (dataclasses, sets, non-string enums)."""
    return json.dumps(state, default=_plain, separators=(",", ":"))


def loads(cls: type[Any], text: str) -> Any:
    return _decoder(cls)(json.loads(text))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return vars(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot store a {type(value).__name__} in a sim device file")


Convert = typing.Callable[[Any], Any]
PLAIN = (int, float, str, bool, typing.Any)


def _same(value: Any) -> Any:
    return value


@cache
def _decoder(hint: Any) -> Convert:
    """A function turning JSON data back into a value of type `hint` (built once per type)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [arg for arg in args if arg is not type(None)]
        decode = _decoder(inner)
        return _same if decode is _same else lambda data: None if data is None else decode(data)
    if origin is tuple:
        item = _decoder(args[0])
        return tuple if item is _same else lambda data: tuple(item(v) for v in data)
    if origin is list:
        item = _decoder(args[0])
        return lambda data: [item(v) for v in data]
    if origin in (set, frozenset):
        item, build = _decoder(args[0]), origin
        return lambda data: build(item(v) for v in data)
    if origin is dict:
        item = _decoder(args[1])
        return lambda data: {k: item(v) for k, v in data.items()}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = {name: _decoder(field_hint) for name, field_hint in _hints(hint).items()}
        cls = hint
        return lambda data: cls(**{name: fields[name](v) for name, v in data.items() if name in fields})
    if hint in PLAIN:
        return _same
    raise TypeError(f"cannot read a {hint!r} from a sim device file")


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}
