"""A site's VLAN pool and quarantine VLAN: parsed, validated with a message naming the field, stored."""

from __future__ import annotations

import pytest

from metalgraph.server.inventory import service
from metalgraph.server.inventory.files import parse_inventory
from metalgraph.server.inventory.model import Inventory
from metalgraph.server.inventory.references import InvalidInventory
from metalgraph.server.inventory.vlans import in_ranges, iter_vlans, pool_size, site_vlans, vlan_ranges
from metalgraph.server.store.base import GraphStore


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("1000-3999", [(1000, 3999)]),
        ("100-199,300-399", [(100, 199), (300, 399)]),
        (" 100 - 199 , 200-200, 4094 ", [(100, 199), (200, 200), (4094, 4094)]),
        ("2-4094", [(2, 4094)]),
        ("7", [(7, 7)]),
    ],
)
def test_pools_parse_into_ascending_ranges(text: str, ranges: list[tuple[int, int]]) -> None:
    assert vlan_ranges(text) == ranges


def test_range_helpers() -> None:
    ranges = vlan_ranges("10-12,20-21")
    assert pool_size(ranges) == 5
    assert list(iter_vlans(ranges)) == [10, 11, 12, 20, 21]
    assert in_ranges(ranges, 20) and not in_ranges(ranges, 13)
    assert site_vlans({}) == ([(1000, 3999)], 4000)  # a site stored before the settings existed
    assert site_vlans({"vlan_pool": "100-199", "quarantine_vlan": 99}) == ([(100, 199)], 99)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one range"),
        ("1-100", "VLAN 1 is outside 2-4094"),
        ("4000-4095", "VLAN 4095 is outside 2-4094"),
        ("300-200", "runs backwards"),
        ("300-399,100-199", "comes before"),
        ("100-199,150-250", "overlaps"),
        ("100-199,,300-399", "empty range"),
        ("abc", "not a VLAN id"),
        ("10-x", "not a VLAN id"),
    ],
)
def test_invalid_pools_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vlan_ranges(text)


def _site_file(**site: object) -> dict[str, object]:
    return {"sites": [{"name": "bu", **site}]}


@pytest.mark.parametrize(
    ("site", "path", "message"),
    [
        ({"vlan_pool": "100-199,150-250"}, "sites[0].vlan_pool", "overlaps"),
        ({"vlan_pool": "0-10"}, "sites[0].vlan_pool", "outside 2-4094"),
        ({"vlan_pool": "300-399,100-199"}, "sites[0].vlan_pool", "ascend"),
        ({"quarantine_vlan": 1500}, "sites[0].quarantine_vlan", "inside vlan_pool"),
        ({"vlan_pool": "100-199", "quarantine_vlan": 150}, "sites[0].quarantine_vlan", "inside vlan_pool"),
        ({"quarantine_vlan": 1}, "sites[0].quarantine_vlan", "greater than or equal to 2"),
        ({"quarantine_vlan": 4095}, "sites[0].quarantine_vlan", "less than or equal to 4094"),
    ],
)
def test_an_invalid_site_vlan_setting_names_its_field(site: dict[str, object], path: str, message: str) -> None:
    with pytest.raises(InvalidInventory) as caught:
        parse_inventory(_site_file(**site))
    found = {p.path: p.message for p in caught.value.problems}
    assert path in found, found
    assert message in found[path]


def test_valid_settings_and_defaults() -> None:
    site = parse_inventory(_site_file(vlan_pool="100-199,300-399", quarantine_vlan=250)).sites[0]
    assert (site.vlan_pool, site.quarantine_vlan) == ("100-199,300-399", 250)
    default = parse_inventory(_site_file()).sites[0]
    assert (default.vlan_pool, default.quarantine_vlan) == ("1000-3999", 4000)


async def test_the_settings_are_site_properties(store: GraphStore) -> None:
    inventory = parse_inventory(_site_file(vlan_pool="2000-2999", quarantine_vlan=3999))
    await service.import_inventory(store, inventory)
    rows = await store.read("MATCH (s:Site {key: 'bu'}) RETURN s.vlan_pool AS pool, s.quarantine_vlan AS q")
    assert rows == [{"pool": "2000-2999", "q": 3999}]
    assert await service.export_inventory(store) == inventory
    assert (await service.plan_import(store, inventory)).empty
    assert (await service.plan_import(store, Inventory(sites=(inventory.sites[0].model_copy(),)))).empty
