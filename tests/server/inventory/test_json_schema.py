"""The JSON Schema of inventory files is generated from the models; the committed copy must match."""

from __future__ import annotations

import json
from pathlib import Path

from metalgraph.server.inventory.files import inventory_json_schema

COMMITTED = Path(__file__).parents[3] / "schema" / "inventory.schema.json"


def test_the_committed_inventory_schema_is_current() -> None:
    assert json.loads(COMMITTED.read_text()) == inventory_json_schema(), (
        "schema/inventory.schema.json is stale: run `metalgraph schema inventory > schema/inventory.schema.json`"
    )


def test_the_schema_names_the_nested_device_parts() -> None:
    node = inventory_json_schema()["$defs"]["Node"]["properties"]
    assert {"gpus", "nics", "nvlinks", "pcie", "bmc"} <= set(node)
