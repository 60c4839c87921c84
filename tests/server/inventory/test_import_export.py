"""Importing, re-importing, diffing and exporting inventories, on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from metalgraph.server.inventory import service
from metalgraph.server.inventory.files import dump_inventory, load_inventory, parse_inventory
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.inventory.references import InvalidInventory
from metalgraph.server.store.base import GraphStore


async def test_import_then_export_gives_the_same_inventory(store: GraphStore, small_inventory: Inventory) -> None:
    changes = await service.import_inventory(store, small_inventory)
    assert changes.summary()["Node"] == {"added": 1, "changed": 0, "removed": 0}
    assert await service.export_inventory(store) == small_inventory


async def test_reimporting_the_same_file_changes_nothing(store: GraphStore, small_inventory: Inventory) -> None:
    await service.import_inventory(store, small_inventory)
    again = await service.import_inventory(store, small_inventory)
    assert again.empty


async def test_export_then_import_is_a_no_op(store: GraphStore, small_inventory: Inventory, tmp_path: Path) -> None:
    await service.import_inventory(store, small_inventory)
    exported = tmp_path / "out.yaml"
    exported.write_text(dump_inventory(await service.export_inventory(store)))
    assert (await service.plan_import(store, load_inventory(exported))).empty


async def test_a_dry_run_plan_writes_nothing(store: GraphStore, small_inventory: Inventory) -> None:
    changes = await service.plan_import(store, small_inventory)
    assert "+ Node n1" in changes.lines()
    assert (await service.export_inventory(store)) == Inventory()


async def test_changes_are_applied_field_by_field(store: GraphStore, small_inventory: Inventory) -> None:
    await service.import_inventory(store, small_inventory)
    node = small_inventory.nodes[0]
    gpus = (node.gpus[0].model_copy(update={"model": "H200"}),)  # GPU-b goes away, GPU-a changes model
    edited = small_inventory.model_copy(
        update={"nodes": (node.model_copy(update={"state": "maintenance", "gpus": gpus, "nvlinks": ()}),)}
    )
    changes = await service.plan_import(store, edited)
    assert changes.summary()["GPU"] == {"added": 0, "changed": 1, "removed": 1}
    assert "~ Node n1: state 'available' -> 'maintenance'" in changes.lines()
    await service.import_inventory(store, edited)
    assert await service.export_inventory(store) == edited


async def test_without_prune_nothing_is_removed(store: GraphStore, small_inventory: Inventory) -> None:
    await service.import_inventory(store, small_inventory)
    without_links = small_inventory.model_copy(update={"links": ()})
    assert (await service.plan_import(store, without_links, prune=False)).empty
    assert len((await service.plan_import(store, without_links)).remove_edges) == 1


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d["nodes"][0]["gpus"][1].update(memory_gb=-5), "nodes[0].gpus[1].memory_gb"),
        (lambda d: d["nodes"][0]["gpus"][0].update(modle="H100"), "nodes[0].gpus[0].modle"),
        (lambda d: d["nodes"][0].update(rack="nowhere"), "nodes[0].rack"),
        (lambda d: d["nodes"][0]["nics"][0]["port"].update(port="swp99"), "nodes[0].nics[0].port"),
        (lambda d: d["nodes"][0]["nics"][0].update(mac="not-a-mac"), "nodes[0].nics[0].mac"),
        (lambda d: d["links"][0]["a"].update(port="swp1"), "links[0].a"),  # already cabled to n1/ib0
        (lambda d: d["nodes"][0]["pcie"][0].update(gpu=7), "nodes[0].pcie[0].gpu"),
        (lambda d: d["racks"].append(dict(d["racks"][0])), "racks[1]"),
    ],
)
def test_an_invalid_file_names_the_bad_field(small_inventory: Inventory, edit, path: str) -> None:  # type: ignore[no-untyped-def]
    document = small_inventory.model_dump(mode="json")
    edit(document)
    with pytest.raises(InvalidInventory) as caught:
        parse_inventory(document)
    assert path in [problem.path for problem in caught.value.problems]


async def test_an_invalid_inventory_writes_nothing(store: GraphStore, small_inventory: Inventory) -> None:
    await service.import_inventory(store, small_inventory)
    broken = small_inventory.model_copy(update={"links": (*small_inventory.links, *small_inventory.links)})
    with pytest.raises(InvalidInventory):
        await service.import_inventory(store, broken)
    assert await service.export_inventory(store) == small_inventory
