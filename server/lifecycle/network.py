"""Bringing switch ports to the VLAN state the graph intends, through the switches' drivers.

The graph leads: a job first writes the intent (`Port.access_vlan`, a trunk's `Port.allowed_vlans`)
in the same atomic write as the ownership change it belongs to, then calls `converge` on the ports
it touched. `converge` reads each switch's VLAN table once, changes only the ports that differ, and
reads the intent again afterwards: a trunk shared by two clusters whose jobs ran at once may have
been written by the other job from an older intent, so ports whose intent moved meanwhile are set
again, until the intent stands still. The ports it changed are looked at again in the next round
(one more table read per switch): a change that did not stay (another manager writing back a table
it read before ours, which SNMP cannot prevent) is made again.

Device calls run in parallel through a `DevicePool` (per-switch and total limits, deadlines,
retries of retryable errors only). A port that cannot be brought to its intent is returned as a
failure with the driver's reason; the caller decides what that means (roll back, mark nodes failed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from metalgraph.drivers.base import SwitchDriver
from metalgraph.drivers.errors import DriverError
from metalgraph.drivers.parallel import DevicePool, DeviceWork
from metalgraph.drivers.types import SwitchportMode, VlanState

from ..devices.access import DeviceAccess, switch_device
from ..devices.secrets import SecretError
from ..errors import DomainError
from ..store.base import GraphStore, Statement

Progress = Callable[[int, int], None]
MAX_ROUNDS = 8

_INTENT = """
UNWIND $ports AS k
MATCH (s:Switch)-[:HAS_PORT]->(p:Port {key: k})
RETURN p.key AS key, p.name AS port, p.mode AS mode, p.access_vlan AS access_vlan,
       p.allowed_vlans AS allowed_vlans,
       s{.name, .driver, .mgmt_address, .credentials} AS switch
"""


def set_access_statement(ports: Sequence[str], vlan: int) -> Statement:
    return (
        "UNWIND $ports AS k MATCH (p:Port {key: k}) SET p.access_vlan = $vlan",
        {"ports": list(ports), "vlan": vlan},
    )


def trunk_statements(add: Iterable[str], remove: Iterable[str], vlan: int) -> list[Statement]:
    """Add `vlan` to the intent of trunks `add` and take it off `remove`. The trunks are locked first:
    two clusters changing one trunk at once must not lose either change."""
    add, remove = sorted(set(add)), sorted(set(remove))
    touched = sorted({*add, *remove})
    if not touched:
        return []
    params = {"add": add, "remove": remove, "touched": touched, "vlan": vlan}
    return [
        ("UNWIND $touched AS k MATCH (p:Port {key: k}) SET p.vlan_lock = true", params),
        (
            "UNWIND $add AS k MATCH (p:Port {key: k}) "
            "SET p.allowed_vlans = [x IN coalesce(p.allowed_vlans, []) WHERE x <> $vlan] + [$vlan]",
            params,
        ),
        (
            "UNWIND $remove AS k MATCH (p:Port {key: k}) "
            "SET p.allowed_vlans = [x IN coalesce(p.allowed_vlans, []) WHERE x <> $vlan]",
            params,
        ),
        ("UNWIND $touched AS k MATCH (p:Port {key: k}) REMOVE p.vlan_lock", params),
    ]


@dataclass(frozen=True)
class PortIntent:
    key: str
    port: str
    switch: str
    mode: str
    access_vlan: int | None
    allowed_vlans: tuple[int, ...]

    def satisfied_by(self, state: VlanState | None) -> bool:
        if state is None or state.untagged_vlans:
            return False
        if self.mode == SwitchportMode.TRUNK:
            if not self.allowed_vlans:  # carrying nothing: some switches show that as a port in no VLAN
                return not _carries_any(state)
            return state.mode is SwitchportMode.TRUNK and tuple(sorted(state.allowed_vlans)) == self.allowed_vlans
        return state.mode is SwitchportMode.ACCESS and state.access_vlan == self.access_vlan


def _carries_any(state: VlanState) -> bool:
    if state.mode is SwitchportMode.TRUNK:
        return bool(state.allowed_vlans) or state.native_vlan is not None
    return state.mode is SwitchportMode.ACCESS and state.access_vlan is not None


@dataclass
class ConvergeResult:
    changed: int = 0
    """Port changes sent to switches."""
    failures: dict[str, str] = field(default_factory=dict)
    """Port key -> why it could not be brought to its intent."""
    calls: int = 0
    """Device calls made (reads and changes)."""

    @property
    def ok(self) -> bool:
        return not self.failures


async def converge(
    store: GraphStore,
    access: DeviceAccess,
    pool: DevicePool,
    ports: Iterable[str],
    progress: Progress | None = None,
) -> ConvergeResult:
    """Bring `ports` (keys) to the VLAN state the graph intends for them (see the module doc)."""
    keys = sorted(set(ports))
    result = ConvergeResult()
    done: set[str] = set()
    pending = keys
    applied: dict[str, PortIntent] = {}
    for _ in range(MAX_ROUNDS):
        intents, switches = await _read_intents(store, pending)
        if not intents:
            break
        changed = await _apply(
            access, pool, intents, switches, result, lambda key: _tick(done, key, len(keys), progress)
        )
        applied.update((i.key, i) for i in intents)
        after = {i.key: i for i in (await _read_intents(store, [i.key for i in intents]))[0]}
        pending = [
            key
            for key, intent in after.items()
            if (intent != applied[key] or key in changed) and key not in result.failures
        ]
        if not pending:
            break
    else:  # out of rounds: a port whose intent moved is converged by the job that moved it
        for key in sorted(k for k in changed if after.get(k) == applied[k] and k not in result.failures):
            result.failures[key] = f"port {key} did not keep its change in {MAX_ROUNDS} rounds"
    return result


def _tick(done: set[str], key: str, total: int, progress: Progress | None) -> None:
    if key not in done:
        done.add(key)
        if progress is not None:
            progress(len(done), total)


async def _read_intents(store: GraphStore, keys: Sequence[str]) -> tuple[list[PortIntent], dict[str, dict[str, Any]]]:
    """The intent of each port, and the connection properties of their switches by name."""
    if not keys:
        return [], {}
    rows = await store.read(_INTENT, {"ports": list(keys)})
    intents, switches = [], {}
    for row in rows:
        intents.append(
            PortIntent(
                key=row["key"],
                port=row["port"],
                switch=row["switch"]["name"],
                mode=row["mode"] or SwitchportMode.ACCESS.value,
                access_vlan=row["access_vlan"],
                allowed_vlans=tuple(sorted(row["allowed_vlans"] or ())),
            )
        )
        switches[row["switch"]["name"]] = row["switch"]
    return intents, switches


async def _apply(
    access: DeviceAccess,
    pool: DevicePool,
    intents: list[PortIntent],
    switches: dict[str, dict[str, Any]],
    result: ConvergeResult,
    tick: Callable[[str], None],
) -> set[str]:
    """Bring `intents` about; the keys of the ports changed."""
    by_switch: dict[str, list[PortIntent]] = {}
    changed: set[str] = set()
    for intent in intents:
        if intent.mode != SwitchportMode.TRUNK and intent.access_vlan is None:
            tick(intent.key)  # no intent for this port: nothing to bring it to
            continue
        by_switch.setdefault(intent.switch, []).append(intent)
    drivers: dict[str, SwitchDriver] = {}
    try:
        for switch, wanted in by_switch.items():
            try:
                drivers[switch] = _open(access, switches[switch])
            except (DomainError, SecretError, DriverError) as e:
                for intent in wanted:
                    result.failures[intent.key] = f"switch {switch}: {e}"
                    tick(intent.key)
        reads = [DeviceWork(drivers[s].address, drivers[s].get_vlan_states, f"read VLANs of {s}") for s in drivers]
        states = await pool.run(reads)
        result.calls += len(reads)
        work: list[tuple[PortIntent, DeviceWork[None]]] = []
        for switch, read in zip(drivers, states, strict=True):
            for intent in by_switch[switch]:
                if not read.ok:
                    result.failures[intent.key] = f"switch {switch}: {read.error}"
                    tick(intent.key)
                elif intent.satisfied_by((read.value or {}).get(intent.port)):
                    result.failures.pop(intent.key, None)
                    tick(intent.key)
                else:
                    setter = _setter(drivers[switch], intent)
                    work.append((intent, DeviceWork(drivers[switch].address, setter, intent.key)))
        # progress as each change lands, not once they all have (a long step shows how far it got)
        changes = await pool.run([w for _, w in work], lambda change: tick(change.work.label))
        result.calls += len(changes)
        for (intent, _), change in zip(work, changes, strict=True):
            if change.ok:
                result.changed += 1
                changed.add(intent.key)
                result.failures.pop(intent.key, None)
            else:
                result.failures[intent.key] = f"switch {intent.switch} port {intent.port}: {change.error}"
            tick(intent.key)
    finally:
        for driver in drivers.values():
            await driver.close()
    return changed


def _open(access: DeviceAccess, props: dict[str, Any]) -> SwitchDriver:
    ref = switch_device(props)
    if ref is None:
        raise DomainError(f"switch {props['name']} names no driver")
    return access.open_switch(ref)


def _setter(driver: SwitchDriver, intent: PortIntent) -> Callable[[], Any]:
    if intent.mode == SwitchportMode.TRUNK:
        return lambda: driver.set_trunk_vlans(intent.port, intent.allowed_vlans)
    vlan = intent.access_vlan
    assert vlan is not None  # ports without an intent are not applied
    return lambda: driver.set_access_vlan(intent.port, vlan)
