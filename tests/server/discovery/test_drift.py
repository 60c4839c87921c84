"""Link drift: intended but not seen, seen but not intended, and backend NICs on another rail's leaf."""

from __future__ import annotations

from metalgraph.drivers.sim import SimLab, SimNeighbour
from metalgraph.server.discovery.drift import _Graph, compute_drift, link_drift
from metalgraph.server.discovery.observed import ObservedLink
from metalgraph.server.store.base import GraphStore

from .conftest import Discover

N1, N2 = "gpu-0001", "gpu-0002"


def leaf(rail: int) -> str:
    return f"leaf-p01-su01-r{rail}"


async def test_nothing_is_judged_before_a_switch_is_read(demo_store: GraphStore) -> None:
    drift = await link_drift(demo_store)
    assert drift.items == [] and drift.scanned == {}
    assert len(drift.unscanned) == 14


async def test_a_missing_an_unexpected_and_a_wrong_rail_link_each_with_a_reason(
    run: Discover, demo_store: GraphStore, lab: SimLab
) -> None:
    lab.switch(leaf(6)).port("swp1").neighbour = None  # gpu-0001/rail6 unplugged
    moved = lab.switch(leaf(2)).port("swp2")  # gpu-0002/rail2 recabled to the rail-3 leaf
    lab.switch(leaf(3)).port("swp20").neighbour, moved.neighbour = moved.neighbour, None
    lab.cable(leaf(7), "swp30", "spine-p01-01", "swp100")  # a cable nobody planned
    await run(apply=True)

    drift = await link_drift(demo_store)
    found = {(item.kind, item.source, item.port) for item in drift.items if item.source[0] == "NIC"}
    assert found == {
        ("missing", ("NIC", f"{N1}/rail6"), f"{leaf(6)}/swp1"),
        ("missing", ("NIC", f"{N2}/rail2"), f"{leaf(2)}/swp2"),
        ("unexpected", ("NIC", f"{N2}/rail2"), f"{leaf(3)}/swp20"),
        ("wrong_rail", ("NIC", f"{N2}/rail2"), f"{leaf(3)}/swp20"),
    }
    (cable,) = [item for item in drift.items if item.source[0] == "Port"]  # heard from both ends: one item
    assert cable.kind == "unexpected" and "has no intended cable" in cable.reason
    assert {cable.source, ("Port", cable.port)} == {("Port", f"{leaf(7)}/swp30"), ("Port", "spine-p01-01/swp100")}
    reasons = {(item.kind, item.port): item.reason for item in drift.items}
    assert reasons[("missing", f"{leaf(6)}/swp1")].endswith(f"{leaf(6)}/swp1 hears nothing")
    assert f"{N2}/rail2 is seen on {leaf(3)}/swp20" in reasons[("missing", f"{leaf(2)}/swp2")]
    assert f"{N2}/rail2 is meant for {leaf(2)}/swp2" in reasons[("unexpected", f"{leaf(3)}/swp20")]
    assert reasons[("wrong_rail", f"{leaf(3)}/swp20")] == (
        f"{N2}/rail2 is a rail-2 NIC but is seen on {leaf(3)}/swp20; {leaf(3)} is a rail-3 leaf "
        "(the rail of the NICs cabled to it)"
    )
    assert all(item.seen_at for item in drift.items if item.kind != "missing")
    assert drift.unscanned == [] and len(drift.scanned) == 14


async def test_drift_as_proposed_matches_drift_once_applied(run: Discover, demo_store: GraphStore, lab: SimLab) -> None:
    lab.switch(leaf(1)).port("swp2").neighbour = SimNeighbour("02:00:00:00:00:99", "stranger", "eth0")
    proposed = await run()
    assert proposed.drift is not None and proposed.drift.counts() == {"missing": 1, "unexpected": 0, "wrong_rail": 0}
    assert any("stranger" in note for note in proposed.proposal.notes)  # an unknown neighbour is a note
    await run(apply=True)
    applied = await link_drift(demo_store)
    assert [(i.kind, i.source, i.port) for i in applied.items] == [
        (i.kind, i.source, i.port) for i in proposed.drift.items
    ]


def graph(**overrides: object) -> _Graph:
    fields: dict[str, object] = {
        "intended": set(),
        "observed": {},
        "scanned": {},
        "rails": {},
        "leaves": set(),
    }
    return _Graph(**{**fields, **overrides})  # type: ignore[arg-type]


def observed(*links: ObservedLink) -> dict[frozenset, ObservedLink]:
    return {frozenset(link.ends): link for link in links}


def test_a_switch_link_seen_from_either_end_is_seen() -> None:
    a, b = ("Port", "leaf-1/swp33"), ("Port", "spine-1/swp1")
    intended = {frozenset({a, b})}
    one_end = observed(ObservedLink(a, "spine-1/swp1", "t"))
    assert (
        compute_drift(graph(intended=intended, observed=one_end, scanned={"leaf-1": "t", "spine-1": "t"})).items == []
    )
    missing = compute_drift(graph(intended=intended, scanned={"spine-1": "t"})).items
    assert [(i.kind, i.source, i.port) for i in missing] == [("missing", a, "spine-1/swp1")]


def test_a_leaf_without_nics_takes_its_rail_from_its_name() -> None:
    nic = ("NIC", "n1/rail4")
    drift = compute_drift(
        graph(
            observed=observed(ObservedLink(nic, "fab-leaf-r2/swp1", "t")),
            scanned={"fab-leaf-r2": "t"},
            rails={"n1/rail4": 4},
            leaves={"fab-leaf-r2"},
        )
    )
    wrong = drift.of("wrong_rail")
    assert len(wrong) == 1 and wrong[0].reason.endswith("fab-leaf-r2 is a rail-2 leaf (by its name)")
    assert [i.kind for i in drift.items] == ["unexpected", "wrong_rail"]
