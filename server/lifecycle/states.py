"""The states of a cluster and of its jobs (README "Clusters: placement and lifecycle")."""

from __future__ import annotations

from enum import StrEnum


class ClusterState(StrEnum):
    REQUESTED = "requested"
    RESERVING = "reserving"
    CONFIGURING_NETWORK = "configuring_network"
    POWERING_ON = "powering_on"
    READY = "ready"
    RESIZING = "resizing"
    """A ready cluster growing, shrinking or swapping a node; it is `ready` again afterwards."""
    RELEASING = "releasing"
    SANITIZING = "sanitizing"
    """Released: its nodes are being erased; the cluster ends `released` when all are done."""
    RELEASED = "released"
    ROLLING_BACK = "rolling_back"
    FAILED = "failed"


RESTING = frozenset({ClusterState.READY, ClusterState.RELEASED, ClusterState.FAILED})
"""States in which no job runs: a watcher stops after one of these."""

WORKING = frozenset(ClusterState) - RESTING
"""States a job is in charge of; a server that finds one without a live lease takes the job over."""

PROVISIONING_STEPS = (
    ClusterState.REQUESTED,
    ClusterState.RESERVING,
    ClusterState.CONFIGURING_NETWORK,
    ClusterState.POWERING_ON,
    ClusterState.READY,
)


class JobKind(StrEnum):
    """What the job running on a cluster does; with the state it says how to resume it."""

    CREATE = "create"
    GROW = "grow"
    SHRINK = "shrink"
    REPLACE = "replace"
    RELEASE = "release"
