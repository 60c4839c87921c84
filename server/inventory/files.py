"""Reading and writing inventory files (YAML or JSON), with errors that name the bad field's path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .model import Inventory
from .references import InvalidInventory, InventoryProblem, validate_references

# libyaml's safe loader and dumper when PyYAML was built with it (about ten times faster).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def field_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's location tuple as a path: ('nodes', 12, 'gpus', 3, 'model') -> 'nodes[12].gpus[3].model'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def parse_inventory(data: Any) -> Inventory:
    """Validate a decoded document; raise InvalidInventory listing every bad field."""
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as e:
        raise InvalidInventory(
            [InventoryProblem(field_path(err["loc"]), err["msg"]) for err in e.errors(include_url=False)]
        ) from None
    return validate_references(inventory)


def load_inventory(path: Path) -> Inventory:
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_Loader)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise InvalidInventory(
            [InventoryProblem("(document)", f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {e}")]
        ) from None
    return parse_inventory(data if data is not None else {})


def inventory_document(inventory: Inventory) -> dict[str, Any]:
    return inventory.model_dump(mode="json", exclude_defaults=True)


def dump_inventory(inventory: Inventory, fmt: str = "yaml") -> str:
    document = inventory_document(inventory)
    if fmt == "json":
        return json.dumps(document, indent=1)
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120)


def inventory_json_schema() -> dict[str, Any]:
    return Inventory.model_json_schema()
