"""ClusterSpec validation and its JSON form."""

from __future__ import annotations

import pytest

from metalgraph.server.errors import InvalidReference
from metalgraph.server.placement import ClusterSpec, Level, Mode


def test_a_spec_round_trips_through_json() -> None:
    spec = ClusterSpec(
        gpus=1024,
        gpu_model="H100",
        level="spine_pod",
        mode="required",
        max_hops=4,
        sites=["moc-mghpcc"],
        certifications=("HIPAA",),
        exclude_unhealthy=False,
    )
    assert spec.level is Level.SPINE_POD and spec.mode is Mode.REQUIRED and spec.sites == ("moc-mghpcc",)
    assert ClusterSpec.from_json(spec.to_json()) == spec
    assert ClusterSpec.from_json({"nodes": 2}) == ClusterSpec(nodes=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of nodes and gpus"),
        ({"nodes": 2, "gpus": 16}, "exactly one of nodes and gpus"),
        ({"nodes": 0}, "nodes must be at least 1"),
        ({"nodes": 2.5}, "nodes must be an integer"),
        ({"nodes": True}, "nodes must be an integer"),
        ({"nodes": 2, "level": "rack"}, "level must be one of nvlink_domain, leaf, spine_pod, site"),
        ({"nodes": 2, "mode": "sometimes"}, "mode must be one of required, preferred, unconstrained"),
        ({"nodes": 2, "max_hops": 1}, "max_hops must be at least 2"),
        ({"nodes": 2, "memory_gb": -1}, "memory_gb must be a number of at least 0"),
        ({"nodes": 2, "sites": "moc"}, "sites must be a list of non-empty names"),
        ({"nodes": 2, "gpu_model": " "}, "gpu_model must be a non-empty string"),
        ({"nodes": 2, "exclude_unhealthy": "yes"}, "exclude_unhealthy must be true or false"),
    ],
)
def test_invalid_specs_are_refused_with_a_clear_message(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidReference, match=message):
        ClusterSpec(**kwargs)


def test_from_json_refuses_unknown_fields_and_bad_json() -> None:
    with pytest.raises(InvalidReference, match="unknown cluster spec field"):
        ClusterSpec.from_json('{"nodes": 2, "colour": "blue"}')
    with pytest.raises(InvalidReference, match="JSON object"):
        ClusterSpec.from_json("[1, 2]")
    with pytest.raises(InvalidReference, match="JSON object"):
        ClusterSpec.from_json("{not json")
