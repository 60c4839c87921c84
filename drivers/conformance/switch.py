"""The switch checks. Read-only unless writes are allowed; then the test port's VLAN state is
changed, read back, and restored to what it was (the restore is checked too)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

from ..base import SwitchDriver
from ..errors import ChangeRejected, MalformedResponse, Unsupported
from ..types import PortInfo, SwitchportMode, VlanState
from .harness import CallError, CheckFailed, CheckSkipped, Probe, fail_on, failed, run_check, skipped
from .report import CheckResult
from .values import counter_problems, describe_vlans, neighbour_problems, port_problems, vlan_problems

WRITE_CAPABILITIES = ("access_vlan", "trunk", "vlan_restore")
NO_SUCH_PORT = "metalgraph-conformance-no-such-port"
DEFAULT_TEST_VLANS = range(3001, 3100)
SAMPLED_PORTS = 4


class SwitchSuite:
    """Checks one switch driver instance; `run` returns one result per capability."""

    def __init__(
        self, driver: SwitchDriver, *, allow_writes: bool, test_port: str | None, test_vlans: Sequence[int] | None
    ) -> None:
        self.driver = driver
        self.probe = Probe(driver.config.timeout_s)
        self.allow_writes = allow_writes
        self.test_port = test_port
        self.test_vlans = list(test_vlans) if test_vlans is not None else list(DEFAULT_TEST_VLANS)
        self.ports: list[PortInfo] = []

    async def run(self) -> list[CheckResult]:
        results = [
            await run_check("ports", self.check_ports),
            await run_check("vlan_state", self.check_vlan_state),
            await run_check("lldp", self.check_lldp, optional=True),
            await run_check("counters", self.check_counters),
            await run_check("errors", self.check_errors),
        ]
        return results + await self.write_checks()

    @property
    def port_names(self) -> set[str]:
        if not self.ports:
            raise CheckSkipped("needs the port list, which could not be read")
        return {port.name for port in self.ports}

    async def check_ports(self) -> str:
        ports = await self.probe("get_ports", self.driver.get_ports())
        fail_on(port_problems(ports))
        self.ports = ports
        up = sum(port.oper_up for port in ports)
        return f"{len(ports)} ports ({up} up), names and indexes unique, ordered by index"

    async def check_vlan_state(self) -> str:
        names = self.port_names
        states = await self.probe("get_vlan_states", self.driver.get_vlan_states())
        if not isinstance(states, dict):
            raise CheckFailed(f"get_vlan_states returned {type(states).__name__}, not a dict")
        problems = [f"no VLAN state for port {name}" for name in sorted(names - states.keys())]
        problems += [f"VLAN state for unknown port {name!r}" for name in sorted(states.keys() - names)]
        for name, state in states.items():
            problems += vlan_problems(name, state)
        sample = [port.name for port in self.ports[:SAMPLED_PORTS]]
        for name in sample:
            single = await self.probe(f"get_vlan_state({name!r})", self.driver.get_vlan_state(name))
            if single != states.get(name):
                problems.append(f"{name}: get_vlan_state gives {single}, get_vlan_states {states.get(name)}")
        fail_on(problems)
        modes = sorted({str(state.mode) for state in states.values()})
        return f"VLAN state read for all {len(states)} ports ({', '.join(modes)}); {len(sample)} read one by one agree"

    async def check_lldp(self) -> str:
        names = self.port_names
        neighbours = await self.probe("get_lldp_neighbours", self.driver.get_lldp_neighbours())
        fail_on(neighbour_problems(neighbours, names))
        return f"{len(neighbours)} neighbours on {len({n.local_port for n in neighbours})} ports, all on known ports"

    async def check_counters(self) -> str:
        names = self.port_names
        first = await self.probe("get_counters", self.driver.get_counters())
        second = await self.probe("get_counters (again)", self.driver.get_counters())
        problems: list[str] = []
        for read in (first, second):
            if not isinstance(read, dict):
                raise CheckFailed(f"get_counters returned {type(read).__name__}, not a dict")
            problems += [f"no counters for port {name}" for name in sorted(names - read.keys())]
            problems += [f"counters for unknown port {name!r}" for name in sorted(read.keys() - names)]
            for name, counters in read.items():
                problems += counter_problems(name, counters)
        fail_on(problems)
        decreased = [
            f"{name}: {field} went from {before} to {getattr(second[name], field)}"
            for name, counters in first.items()
            if name in second
            for field, before in vars(counters).items()
            if getattr(second[name], field) < before
        ]
        fail_on(decreased)
        return f"counters for all {len(first)} ports, non-negative ints that do not decrease between reads"

    async def check_errors(self) -> str:
        checked = [await self._expect_bad_port("get_vlan_state", self.driver.get_vlan_state(NO_SUCH_PORT))]
        if self.allow_writes:
            checked.append(await self._expect_bad_port("set_access_vlan", self.driver.set_access_vlan(NO_SUCH_PORT, 1)))
        return "; ".join(checked)

    async def _expect_bad_port(self, call: str, awaitable: Awaitable[object]) -> str:
        try:
            value = await self.probe(f"{call}({NO_SUCH_PORT!r})", awaitable)
        except CallError as error:
            if isinstance(error.error, MalformedResponse) and error.error.field != "port":
                raise CheckFailed(f"{error}; the field should be 'port'") from None
            if isinstance(error.error, MalformedResponse | Unsupported | ChangeRejected):
                return f"{call} on a missing port raises {type(error.error).__name__}"
            raise CheckFailed(f"{error}; a missing port should raise MalformedResponse (field 'port')") from None
        raise CheckFailed(f"{call} on a missing port returned {value!r} instead of raising MalformedResponse")

    async def write_checks(self) -> list[CheckResult]:
        if not self.allow_writes:
            return [
                skipped(cap, "read-only run (allow writes and give a test port to check changes)")
                for cap in WRITE_CAPABILITIES
            ]
        if self.test_port is None:
            return [failed(cap, "writes were allowed but no test port was given") for cap in WRITE_CAPABILITIES]
        port = self.test_port
        try:
            original = await self.probe(f"get_vlan_state({port!r})", self.driver.get_vlan_state(port))
            fail_on(vlan_problems(port, original))
        except (CallError, CheckFailed) as error:
            return [failed(cap, f"cannot read the test port's VLAN state: {error}") for cap in WRITE_CAPABILITIES]
        if original.mode is SwitchportMode.ROUTED:
            return [
                failed(cap, f"test port {port} is routed; choose an access or trunk port") for cap in WRITE_CAPABILITIES
            ]
        used = {original.access_vlan, original.native_vlan, *original.allowed_vlans}
        vlans = [vlan for vlan in self.test_vlans if vlan not in used][:3]
        if len(vlans) < 3:
            return [failed(cap, "need three test VLANs the test port is not in") for cap in WRITE_CAPABILITIES]
        access, tagged = vlans[0], sorted(vlans[1:])
        return [
            await run_check("access_vlan", lambda: self._set_and_read(port, VlanState(SwitchportMode.ACCESS, access))),
            await run_check(
                "trunk",
                lambda: self._set_and_read(port, VlanState(SwitchportMode.TRUNK, None, access, tuple(tagged))),
            ),
            await run_check("vlan_restore", lambda: self._set_and_read(port, original, restore=True)),
        ]

    async def _set_and_read(self, port: str, wanted: VlanState, *, restore: bool = False) -> str:
        """Apply `wanted`, read it back, apply it again (idempotency), read it back again."""
        for attempt in ("", " again"):
            if wanted.mode is SwitchportMode.ACCESS:
                assert wanted.access_vlan is not None
                call = f"set_access_vlan({port!r}, {wanted.access_vlan}){attempt}"
                await self.probe(call, self.driver.set_access_vlan(port, wanted.access_vlan))
            else:  # unsorted on purpose: the driver must read back sorted
                allowed = sorted(wanted.allowed_vlans, reverse=True)
                call = f"set_trunk_vlans({port!r}, {allowed}, native={wanted.native_vlan}){attempt}"
                await self.probe(call, self.driver.set_trunk_vlans(port, allowed, wanted.native_vlan))
            seen = await self.probe(f"get_vlan_state({port!r})", self.driver.get_vlan_state(port))
            if seen != wanted:
                shown = describe_vlans(seen) if isinstance(seen, VlanState) else repr(seen)
                raise CheckFailed(f"after {call} the port reads back as {shown}, expected {describe_vlans(wanted)}")
        verb = "restored to" if restore else "set to"
        return f"{port} {verb} {describe_vlans(wanted)}, read back, set again idempotently"
