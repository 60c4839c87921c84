"""Typed reads from Redfish JSON documents, at the edge, as sushy's `Field` does.

Every read names its path, so a member of the wrong type raises `MalformedResponse` whose `field` is the
resource path relative to the service root followed by the member path, e.g.
`Systems/1/ProcessorSummary/Count` or `Chassis/1/NetworkAdapters/NIC.Slot.1/Ports/1/CurrentSpeedGbps`.
Absent members and JSON `null` read as "not reported" (empty string, None, empty list).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..errors import MalformedResponse

SERVICE_ROOT = "/redfish/v1/"


def relative(path: str) -> str:
    """The form error fields use: `/redfish/v1/Systems/1/` -> `Systems/1` (query and fragment dropped)."""
    path = urlsplit(path).path
    if path.rstrip("/") == SERVICE_ROOT.rstrip("/"):
        return ""
    if path.startswith(SERVICE_ROOT):
        path = path[len(SERVICE_ROOT) :]
    return path.strip("/")


def kind(value: object) -> str:
    """A JSON type name for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


class Doc:
    """One JSON object and the path it was read from. Nested objects are `Doc`s with longer paths."""

    __slots__ = ("data", "device", "path")

    def __init__(self, data: object, path: str, *, device: str = "") -> None:
        self.path = path
        self.device = device
        if not isinstance(data, dict):
            raise MalformedResponse(
                f"expected a JSON object, got {kind(data)}", field=path or "ServiceRoot", device=device
            )
        self.data: dict[str, Any] = data

    @property
    def name(self) -> str:
        """The last path segment: the resource's id as it appears in its URI."""
        return self.path.rsplit("/", 1)[-1]

    def field(self, *keys: str | int) -> str:
        """The error field for a member of this document."""
        return "/".join(str(part) for part in (self.path, *keys) if part != "")

    def error(self, message: str, *keys: str | int) -> MalformedResponse:
        """A `MalformedResponse` naming `keys` in this document."""
        return MalformedResponse(message, field=self.field(*keys), device=self.device)

    def get(self, *keys: str) -> object:
        """The raw value at `keys` (through nested objects); None when absent or null."""
        value: object = self.data
        for depth, key in enumerate(keys):
            if not isinstance(value, dict):
                raise self.error(f"expected a JSON object, got {kind(value)}", *keys[:depth])
            value = value.get(key)
            if value is None:
                return None
        return value

    def text(self, *keys: str, required: bool = False) -> str:
        """A string member, stripped; empty when absent (or `MalformedResponse` if `required`)."""
        value = self.get(*keys)
        if value is None:
            if required:
                raise self.error("required member is missing", *keys)
            return ""
        if not isinstance(value, str):
            raise self.error(f"expected a string, got {kind(value)}", *keys)
        return value.strip()

    def number(self, *keys: str, minimum: float | None = None) -> float | None:
        """A numeric member; None when absent. Strings and booleans are malformed."""
        value = self.get(*keys)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"expected a number, got {kind(value)}", *keys)
        if minimum is not None and value < minimum:
            raise self.error(f"expected a number >= {minimum}, got {value}", *keys)
        return float(value)

    def integer(self, *keys: str, minimum: int | None = None) -> int | None:
        """An integral member (`8` or `8.0`); None when absent."""
        value = self.number(*keys, minimum=minimum)
        if value is None:
            return None
        if not value.is_integer():
            raise self.error(f"expected an integer, got {value}", *keys)
        return int(value)

    def obj(self, *keys: str) -> Doc | None:
        """A nested object; None when absent."""
        value = self.get(*keys)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(f"expected a JSON object, got {kind(value)}", *keys)
        return Doc(value, self.field(*keys), device=self.device)

    def _array(self, keys: tuple[str, ...]) -> list[object]:
        value = self.get(*keys)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"expected an array, got {kind(value)}", *keys)
        return value

    def objects(self, *keys: str) -> list[Doc]:
        """An array of objects; empty when absent."""
        result = []
        for index, item in enumerate(self._array(keys)):
            if not isinstance(item, dict):
                raise self.error(f"expected a JSON object, got {kind(item)}", *keys, index)
            result.append(Doc(item, self.field(*keys, index), device=self.device))
        return result

    def texts(self, *keys: str) -> list[str]:
        """An array of strings (nulls skipped); empty when absent."""
        result = []
        for index, item in enumerate(self._array(keys)):
            if item is None:
                continue
            if not isinstance(item, str):
                raise self.error(f"expected a string, got {kind(item)}", *keys, index)
            result.append(item.strip())
        return result

    def link(self, *keys: str) -> str | None:
        """The `@odata.id` of a navigation property; None when the property is absent."""
        target = self.obj(*keys)
        return None if target is None else target.text("@odata.id", required=True)

    def links(self, *keys: str) -> list[str]:
        """The `@odata.id`s of an array of navigation properties."""
        return [item.text("@odata.id", required=True) for item in self.objects(*keys)]

    def members(self) -> list[str]:
        """The member URIs of a collection (`Members` is required)."""
        if self.get("Members") is None:
            raise self.error("required member is missing", "Members")
        return self.links("Members")
