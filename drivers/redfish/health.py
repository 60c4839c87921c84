"""Health: the system's `Status.HealthRollup` (or `Health`) decides the state; when it is not OK the
messages say where, from the system's `Status.Conditions`, its processor and memory summaries, and every
processor, memory module, drive, storage subsystem, host interface, adapter port and chassis whose own
status is not OK. A BMC that reports no health at all reads as `warning` (no evidence of health).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..types import Health, HealthState
from .doc import Doc
from .inventory import InventoryDocs

HEALTH = {"OK": HealthState.OK, "Warning": HealthState.WARNING, "Critical": HealthState.CRITICAL}


def status_health(doc: Doc, *, rollup: bool = True) -> HealthState | None:
    """The health in `doc`'s `Status` (rolled up if asked and reported); None when not reported.
    `HealthRollUp` is accepted for `HealthRollup` (sushy-tools and some firmware spell it so)."""
    status = doc.obj("Status")
    if status is None:
        return None
    keys = ("HealthRollup", "HealthRollUp", "Health") if rollup else ("Health",)
    for key in keys:
        value = status.text(key)
        if value:
            if value not in HEALTH:
                raise status.error(f"unknown health {value!r}", key)
            return HEALTH[value]
    return None


def conditions(doc: Doc) -> list[str]:
    """The messages of `Status.Conditions` (Resource v1.14+)."""
    status = doc.obj("Status")
    if status is None:
        return []
    return [f"{doc.path}: {text}" for item in status.objects("Conditions") if (text := item.text("Message"))]


def component_messages(docs: Iterable[Doc]) -> list[str]:
    """`path: Warning` for each document whose own health is not OK, plus its conditions."""
    messages: list[str] = []
    for doc in docs:
        state = status_health(doc, rollup=False)
        if state is not None and state is not HealthState.OK:
            messages.append(f"{doc.path}: {state.value}")
            messages += conditions(doc)
    return messages


def system_state(system: Doc) -> HealthState:
    """The system's rolled-up health; WARNING when it reports none."""
    return status_health(system) or HealthState.WARNING


def build_health(docs: InventoryDocs) -> Health:
    """The health with messages for a system that is not OK."""
    system = docs.system
    state = system_state(system)
    if state is HealthState.OK:
        return Health(state)
    messages = conditions(system)
    if status_health(system) is None:
        messages.append(f"{system.path}: the BMC reports no health")
    for summary in ("ProcessorSummary", "MemorySummary"):
        part = system.obj(summary)
        part_state = None if part is None else status_health(part)
        if part is not None and part_state is not None and part_state is not HealthState.OK:
            messages.append(f"{part.path}: {part_state.value}")
    components = [*docs.processors, *docs.memory, *docs.storage, *docs.drives, *docs.interfaces]
    components += [port for _, port in docs.ports] + docs.chassis
    messages += component_messages(components)
    if not messages:
        messages.append(f"{system.path}: {state.value}")
    return Health(state, tuple(dict.fromkeys(messages)))
