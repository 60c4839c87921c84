"""The inventory's limits on how many parts a device or place holds: what the API's cost estimate relies on.

An import beyond a limit is refused with the path of the first part too many; so is an edit through the API.
"""

from __future__ import annotations

from typing import Any

import pytest

from metalgraph.server.errors import InvalidReference
from metalgraph.server.inventory import editing, service
from metalgraph.server.inventory.files import parse_inventory
from metalgraph.server.inventory.model import (
    MAX_GPUS_PER_NODE,
    MAX_NICS_PER_NODE,
    MAX_NODES_PER_RACK,
    MAX_PORTS_PER_SWITCH,
    MAX_SWITCHES_PER_RACK,
    Inventory,
    Node,
    Rack,
    Switch,
)
from metalgraph.server.inventory.references import InvalidInventory
from metalgraph.server.store.base import GraphStore


def _document(**parts: Any) -> dict[str, Any]:
    return {"sites": [{"name": "s1"}], "racks": [{"name": "r1", "site": "s1"}], **parts}


def _problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInventory) as refused:
        parse_inventory(document)
    return [(p.path, p.message) for p in refused.value.problems]


def _ports(count: int) -> list[dict[str, Any]]:
    return [{"name": f"swp{i}", "index": i, "speed_gbps": 400} for i in range(count)]


def _gpus(count: int) -> list[dict[str, Any]]:
    return [{"index": i, "uuid": f"GPU-{i}", "model": "H100", "memory_gb": 80} for i in range(count)]


def _nics(count: int) -> list[dict[str, Any]]:
    return [{"name": f"eth{i}", "mac": f"02:00:00:00:00:{i:02x}", "speed_gbps": 100} for i in range(count)]


def test_a_device_at_its_limits_imports() -> None:
    switch = {"name": "leaf1", "rack": "r1", "role": "leaf", "ports": _ports(MAX_PORTS_PER_SWITCH)}
    node = {"name": "n1", "rack": "r1", "gpus": _gpus(MAX_GPUS_PER_NODE), "nics": _nics(MAX_NICS_PER_NODE)}
    inventory = parse_inventory(_document(switches=[switch], nodes=[node]))
    assert len(inventory.switches[0].ports) == MAX_PORTS_PER_SWITCH


def test_a_switch_port_gpu_or_nic_too_many_is_refused_with_its_path() -> None:
    switch = {"name": "leaf1", "rack": "r1", "role": "leaf", "ports": _ports(MAX_PORTS_PER_SWITCH + 1)}
    assert [path for path, _ in _problems(_document(switches=[switch]))] == ["switches[0].ports"]
    node = {"name": "n1", "rack": "r1", "gpus": _gpus(MAX_GPUS_PER_NODE + 1), "nics": _nics(MAX_NICS_PER_NODE + 1)}
    problems = _problems(_document(nodes=[node]))
    assert [path for path, _ in problems] == ["nodes[0].gpus", "nodes[0].nics"]
    assert f"at most {MAX_GPUS_PER_NODE} items" in problems[0][1]


def test_a_rack_holds_a_bounded_number_of_nodes_and_switches() -> None:
    nodes = [{"name": f"n{i}", "rack": "r1"} for i in range(MAX_NODES_PER_RACK + 2)]
    switches = [{"name": f"sw{i}", "rack": "r1", "role": "leaf"} for i in range(MAX_SWITCHES_PER_RACK + 1)]
    problems = _problems(_document(nodes=nodes, switches=switches))
    assert problems == [
        (f"switches[{MAX_SWITCHES_PER_RACK}]", f"rack 'r1' would hold more than {MAX_SWITCHES_PER_RACK} switches"),
        (f"nodes[{MAX_NODES_PER_RACK}]", f"rack 'r1' would hold more than {MAX_NODES_PER_RACK} nodes"),
    ]


def test_an_nvlink_pair_or_pcie_affinity_listed_twice_is_refused() -> None:
    node = {
        "name": "n1",
        "rack": "r1",
        "gpus": _gpus(2),
        "nics": _nics(1),
        "nvlinks": [{"a": 0, "b": 1, "links": 18}, {"a": 1, "b": 0}],
        "pcie": [{"gpu": 0, "nic": "eth0", "path": "PIX"}, {"gpu": 0, "nic": "eth0", "path": "SYS"}],
    }
    assert [path for path, _ in _problems(_document(nodes=[node]))] == ["nodes[0].nvlinks[1]", "nodes[0].pcie[1]"]


async def test_creating_a_node_or_switch_in_a_full_rack_is_refused(store: GraphStore) -> None:
    full = Inventory.model_validate(
        _document(
            nodes=[{"name": f"n{i}", "rack": "r1"} for i in range(MAX_NODES_PER_RACK)],
            switches=[{"name": f"sw{i}", "rack": "r1", "role": "leaf"} for i in range(MAX_SWITCHES_PER_RACK)],
        )
    )
    await service.import_inventory(store, full)
    with pytest.raises(InvalidReference, match=f"rack 'r1' already holds {MAX_NODES_PER_RACK} nodes"):
        await editing.create_node(store, Node(name="extra", rack="r1"))
    with pytest.raises(InvalidReference, match=f"rack 'r1' already holds {MAX_SWITCHES_PER_RACK} switches"):
        await editing.create_switch(store, Switch(name="extra", rack="r1", role="leaf"))
    # Replacing what the rack already holds is no new part; another rack has room.
    await editing.replace_node(store, Node(name="n0", rack="r1", serial="S0"))
    await editing.create_rack(store, Rack(name="r2", site="s1"))
    await editing.create_node(store, Node(name="extra", rack="r2"))
