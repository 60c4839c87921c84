"""Discovery: read Redfish inventories and LLDP tables, propose the graph changes, keep observed
links apart from the intended cabling, and report the drift between the two.

`observe` reads the devices, `hardware` and `propose` turn what they said into a diff, `observed`
stores the links seen, `drift` compares them with the cabling, `service.discover` runs it all.
"""

from .drift import DriftItem, LinkDrift, link_drift
from .observe import DeviceFailure, NodeObservation, Observations, SwitchObservation, observe
from .observed import ObservedLink, load_observed
from .propose import Proposal, apply, propose
from .service import DiscoveryResult, discover

__all__ = [
    "DeviceFailure",
    "DiscoveryResult",
    "DriftItem",
    "LinkDrift",
    "NodeObservation",
    "Observations",
    "ObservedLink",
    "Proposal",
    "SwitchObservation",
    "apply",
    "discover",
    "link_drift",
    "load_observed",
    "observe",
    "propose",
]
