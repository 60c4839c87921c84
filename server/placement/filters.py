"""Which nodes a spec may use, and how many each requirement left (for explanations).

A node is eligible when it is `available` (or in `maintenance`, if the spec allows it), in no
cluster, neither excluded nor an anchor, in an allowed site, healthy (`ok`) and free of link
errors unless the spec says otherwise, and meets every hardware minimum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .index import STATE_AVAILABLE, STATE_MAINTENANCE, PlacementIndex
from .spec import ClusterSpec


@dataclass(frozen=True)
class Eligibility:
    mask: np.ndarray
    site_ok: np.ndarray
    """Per site domain id: the site meets the spec's site constraints."""
    funnel: tuple[tuple[str, int], ...]
    """(what was required, nodes left after it), in the order applied, starting with all nodes."""


def gpu_model_matches(model: str, wanted: str) -> bool:
    model, wanted = model.lower(), wanted.strip().lower()
    return model == wanted or model.startswith(wanted + "-")


def site_mask(index: PlacementIndex, spec: ClusterSpec) -> np.ndarray:
    sites = index.topology.sites
    ok = [
        (not spec.sites or s.name in spec.sites)
        and (not spec.regions or s.region in spec.regions)
        and (not spec.jurisdictions or s.jurisdiction in spec.jurisdictions)
        and set(spec.certifications) <= s.certifications
        for s in sites
    ]
    return np.array(ok, dtype=bool)


def eligible(index: PlacementIndex, spec: ClusterSpec, removed: Iterable[int] = ()) -> Eligibility:
    t, o = index.topology, index.occupancy
    mask = np.ones(t.size, dtype=bool)
    funnel: list[tuple[str, int]] = [("nodes", t.size)]

    def step(label: str, keep: np.ndarray) -> None:
        nonlocal mask
        mask = mask & keep
        funnel.append((label, int(mask.sum())))

    states = o.state == STATE_AVAILABLE
    if not spec.exclude_maintenance:
        states = states | (o.state == STATE_MAINTENANCE)
    step(
        "free (available, in no cluster)" if spec.exclude_maintenance else "free or in maintenance", states & ~o.member
    )
    removed = list(removed)
    if removed:
        keep = np.ones(t.size, dtype=bool)
        keep[removed] = False
        step("not excluded or already in the cluster", keep)
    site_ok = site_mask(index, spec)
    if spec.sites or spec.regions or spec.jurisdictions or spec.certifications:
        step(f"in an allowed site ({_site_rule(spec)})", site_ok[t.dom[0]])
    if spec.exclude_unhealthy:
        step("healthy (health ok)", o.health_ok)
    if spec.exclude_link_errors:
        step("without link errors", ~o.link_error)
    if spec.gpu_model is not None:
        codes = [i for i, m in enumerate(t.gpu_models) if gpu_model_matches(m, spec.gpu_model)]
        step(f"with GPU model {spec.gpu_model}", np.isin(t.gpu_model, codes))
    if spec.gpus_per_node is not None:
        step(f"with at least {spec.gpus_per_node} GPUs", t.gpu_count >= spec.gpus_per_node)
    if spec.gpus is not None and spec.gpus_per_node is None:
        step("with GPUs", t.gpu_count > 0)
    if spec.cpu_cores is not None:
        step(f"with at least {spec.cpu_cores} CPU cores", t.cpu_cores >= spec.cpu_cores)
    if spec.memory_gb is not None:
        step(f"with at least {spec.memory_gb:g} GB memory", t.memory_gb >= spec.memory_gb)
    if spec.storage_gb is not None:
        step(f"with at least {spec.storage_gb:g} GB storage", t.storage_gb >= spec.storage_gb)
    if spec.backend_gbps is not None:
        step(f"with backend NICs of at least {spec.backend_gbps:g} Gb/s", t.backend_gbps >= spec.backend_gbps)
    return Eligibility(mask, site_ok, tuple(funnel))


def _site_rule(spec: ClusterSpec) -> str:
    parts = []
    for name, values in (
        ("site", spec.sites),
        ("region", spec.regions),
        ("jurisdiction", spec.jurisdictions),
        ("certifications", spec.certifications),
    ):
        if values:
            parts.append(f"{name} {'/'.join(values)}" if name != "certifications" else f"certified {'+'.join(values)}")
    return ", ".join(parts)
