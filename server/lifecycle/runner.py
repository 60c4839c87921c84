"""The job runner: every server runs one; together they drive every cluster job to a resting state.

`tick` (every `poll_s`) claims working clusters whose lease has run out: new jobs (created
unowned) and jobs of a server that died. A claimed job runs as a task that renews its lease and
performs the job's steps in order, each ending with a write that records the next step; a job
taken over after a crash therefore resumes at the step it had reached, and each step is idempotent.

Steps by job (the cluster state each shows in parentheses):
- create: reserve (reserving), network (configuring_network), power (powering_on), ready;
- grow, replace: reserve, network, power (resizing), [replace: detach the old node], ready;
- shrink: detach (resizing), ready;
- release: detach (releasing), wait for sanitization (sanitizing), released; or `failed` again when
  detach had to hold the VLAN (a switch did not answer), so that a later release finishes the job.
A failure in reserve, network or power turns the job into a rollback (rolling_back) that detaches
the nodes the job brought in; a new cluster then ends `failed` with the reason, a resize goes back
to `ready` with the reason in its events. Nodes that may hold the tenant's data never go back to the
pool unerased: those a job brought in once it began powering them on, and those a shrink or a release
takes out, leave the rollback to sanitization.

A step that raises something unexpected (a bug, not a refusal of a device or of a rule) is tried
again once its lease runs out, each failure counted on the cluster with the error (`step_failed`);
after `step_attempts` failures of the same step the job rolls back like any failed step, the reason
naming the step and the kind of error only (the traceback goes to the log). A rollback is never
given up: it alone returns the nodes and the VLAN, so it is tried again at every lease expiry, each
failure (of a device too) counted on the cluster the same way, so that a provider sees why it is stuck.
A device's words in a reason, an event or `last_error` are made storable where each statement is built
(NUL characters and lone surrogates escaped, see `audit.storable`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from metalgraph.drivers.errors import DriverError

from ..devices.secrets import SecretError
from ..errors import DomainError
from ..store.base import Statement, StoreError, StoreQueryError
from .context import JobContext
from .detach import detach
from .events import event_statement
from .fabric import cluster_trunks, node_ports
from .network import converge
from .power import power_on
from .progress import StepProgress
from .records import (
    ClusterRecord,
    LeaseLost,
    claim,
    claimable,
    end_job,
    owner_guard,
    read_cluster,
    set_state,
    step_failed,
)
from .reserve import reserve
from .states import WORKING, ClusterState, JobKind
from .vlan_pool import held_ports

log = logging.getLogger("metalgraph.lifecycle")


_STEPS_AFTER_POWER_ON = frozenset({"power", "detach", "ready"})
"""Steps a job reaches once it may have powered its new nodes on (the power step itself included)."""


class StepFailed(DomainError):
    """A step could not be done; the job rolls back and the message becomes the cluster's reason."""


class StepRetried(Exception):
    """A step failed unexpectedly and was counted; the job is resumed once its lease runs out."""


_ERROR_TEXT = 500
"""How much of an unexpected error's text is kept on the cluster (for providers)."""


def _progress_state(record: ClusterRecord, creating: ClusterState) -> ClusterState:
    return creating if record.job is JobKind.CREATE else ClusterState.RESIZING


class JobRunner:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self._running: dict[str, asyncio.Task[None]] = {}
        self._working = [s.value for s in WORKING]

    @property
    def running(self) -> frozenset[str]:
        return frozenset(self._running)

    async def tick(self) -> None:
        keys = await claimable(self.ctx.store, self._working)
        # in an order of this server's own: servers walking the same list in step would queue behind
        # the first one's claim of each job, and it would take them all
        random.shuffle(keys)
        for key in keys:
            if key not in self._running and await claim(
                self.ctx.store, key, self.config.owner, self._working, self.config.lease_s
            ):
                task = asyncio.create_task(self._drive(key), name=f"cluster job {key}")
                self._running[key] = task
                task.add_done_callback(lambda _t, k=key: self._running.pop(k, None))

    async def close(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _drive(self, key: str) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(key, asyncio.current_task()))
        try:
            await self.ctx.prepare_devices()
            while True:
                record = await read_cluster(self.ctx.store, key)
                if record is None or record.state not in WORKING or record.job_owner != self.config.owner:
                    return
                await self._step(record)
        except LeaseLost:
            log.warning("job of cluster %s was taken over by another server", key)
        except StepRetried:
            pass  # logged where it was counted
        except asyncio.CancelledError:
            raise
        except Exception:  # a store outage: the lease runs out and a server resumes the job
            log.exception("job of cluster %s stopped; it will be resumed", key)
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, key: str, job: asyncio.Task[None] | None) -> None:
        while True:
            await asyncio.sleep(self.config.lease_s / 3)
            try:
                renewed = await claim(self.ctx.store, key, self.config.owner, self._working, self.config.lease_s)
            except StoreError:
                continue
            if not renewed and job is not None:
                job.cancel()
                return

    async def _step(self, record: ClusterRecord) -> None:
        step = record.job_step
        steps = {
            "reserve": self._reserve,
            "network": self._network,
            "power": self._power,
            "detach": self._detach,
            "wait_sanitized": self._wait_sanitized,
            "rollback": self._rollback,
            "ready": self._finish_ready,
        }
        try:
            if step not in steps:
                raise StepFailed(f"unknown job step {step!r}")
            await steps[step](record)
        except LeaseLost:
            raise
        except (DomainError, DriverError, SecretError) as e:
            if step == "rollback":  # never given up, but counted: a provider sees why it is stuck
                await self._unexpected(record, step, e)
            else:
                await self._roll_back(record, step, str(e))
        except Exception as e:
            await self._unexpected(record, step, e)

    async def _roll_back(self, record: ClusterRecord, step: str, reason: str) -> None:
        """`_fail` with `reason`; should that write fail, the failure is counted like any unexpected one."""
        try:
            await self._fail(record, reason)
        except LeaseLost:
            raise
        except Exception as e:
            await self._unexpected(record, step, e)

    async def _unexpected(self, record: ClusterRecord, step: str, error: Exception) -> None:
        """Count an unexpected failure of `step`; once `step_attempts` are spent, roll the job back.
        A rollback is never given up: its failures are counted, and it is tried again."""
        if isinstance(error, StoreError) and not isinstance(error, StoreQueryError):
            raise error  # the store is down: a server resumes the job once the lease runs out
        attempts = record.attempts_failed(step) + 1
        limit = self.config.step_attempts
        log.error(
            "step %s of cluster %s failed (attempt %d%s)",
            step,
            record.key,
            attempts,
            "; tried again until it succeeds" if step == "rollback" else f" of {limit}",
            exc_info=error,
        )
        text = (f"{type(error).__name__}: {error}".splitlines() or [""])[0][:_ERROR_TEXT]
        failure = step_failed(record.key, step, attempts, text)
        if attempts >= limit and step != "rollback":
            reason = (
                f"the {step} step failed {attempts} time(s) with an internal error ({type(error).__name__}); "
                "the provider's logs have the details"
            )
            await self._fail(record, reason, failure)
            return
        await self._write(record, failure)
        raise StepRetried(record.key) from None

    async def _write(self, record: ClusterRecord, *changes: tuple[str, dict[str, object]]) -> None:
        try:
            await self.ctx.store.write_atomically([*owner_guard(record.key, self.config.owner), *changes])
        except StoreError as e:
            if "by zero" in str(e).lower():
                raise LeaseLost(record.key) from None
            raise
        self.ctx.bell.ring([record.key])

    async def _reserve(self, record: ClusterRecord) -> None:
        if record.state is ClusterState.REQUESTED:
            state = ClusterState.RESERVING
            await self._write(
                record, set_state(record.key, state), event_statement(record.key, "reserving", state, "choosing nodes")
            )
        await reserve(self.ctx, record, _progress_state(record, ClusterState.CONFIGURING_NETWORK))

    async def _network(self, record: ClusterRecord) -> None:
        state = _progress_state(record, ClusterState.CONFIGURING_NETWORK)
        progress = StepProgress(self.ctx, record.key)
        ports = await node_ports(self.ctx.store, record.job_nodes)
        trunks = await cluster_trunks(self.ctx.store, await node_ports(self.ctx.store, record.members))
        keys = [p.port for p in ports] + sorted(trunks)
        started = time.perf_counter()
        result = await converge(
            self.ctx.store, self.ctx.access, self.ctx.pool(), keys, progress.reporter("network", state)
        )
        await progress.flush()
        if not result.ok:
            first = sorted(result.failures.items())[:3]
            raise StepFailed(
                f"{len(result.failures)} switch port(s) could not be configured: "
                + "; ".join(f"{port}: {why}" for port, why in first)
            )
        next_state = _progress_state(record, ClusterState.POWERING_ON)
        message = (
            f"network isolated: {len(ports)} port(s) on VLAN {record.vlan}, {len(trunks)} trunk port(s) carry it; "
            f"{result.changed} change(s) in {time.perf_counter() - started:.2f} s"
        )
        await self._write(
            record,
            set_state(record.key, next_state, job_step="power"),
            event_statement(record.key, "network", next_state, message, len(keys), len(keys)),
        )

    async def _power(self, record: ClusterRecord) -> None:
        state = _progress_state(record, ClusterState.POWERING_ON)
        progress = StepProgress(self.ctx, record.key)
        nodes = list(record.job_nodes)
        failures = await power_on(
            self.ctx.store,
            self.ctx.access,
            self.ctx.pool(),
            nodes,
            self.config.boot_device,
            progress.reporter("power", state),
        )
        await progress.flush()
        if failures:
            first = sorted(failures.items())[:3]
            raise StepFailed(
                f"{len(failures)} node(s) could not be powered on: " + "; ".join(f"{n}: {why}" for n, why in first)
            )
        next_step = "detach" if record.job is JobKind.REPLACE else "ready"
        message = f"{len(nodes)} node(s) booting from {self.config.boot_device.value}"
        await self._write(
            record,
            set_state(record.key, state, job_step=next_step),
            event_statement(record.key, "power", state, message, len(nodes), len(nodes)),
        )

    async def _detach(self, record: ClusterRecord) -> None:
        progress = StepProgress(self.ctx, record.key)
        if record.job is JobKind.RELEASE:
            await detach(
                self.ctx,
                record,
                record.members,
                to="sanitizing",
                free_vlan=True,
                state=ClusterState.RELEASING,
                progress=progress,
            )
            await self._write(record, set_state(record.key, ClusterState.SANITIZING, job_step="wait_sanitized"))
            return
        leaving = [record.job_args["node"]] if record.job is JobKind.REPLACE else list(record.job_nodes)
        await detach(
            self.ctx, record, leaving, to="sanitizing", free_vlan=False, state=ClusterState.RESIZING, progress=progress
        )
        await self._write(record, set_state(record.key, ClusterState.RESIZING, job_step="ready"))

    async def _wait_sanitized(self, record: ClusterRecord) -> None:
        rows = await self.ctx.store.read(
            "MATCH (n:Node {state: 'sanitizing', sanitizing_for: $key}) RETURN count(n) AS left", {"key": record.key}
        )
        if rows and rows[0]["left"]:
            await self.ctx.bell.wait(record.key, self.config.poll_s * 4)
            return
        if record.vlan is not None:  # detach held it: a released cluster would keep it for good
            ports, why = await held_ports(self.ctx.store, record.key)
            reason = (
                f"VLAN {record.vlan} is held: {len(ports)} switch port(s) could not be confirmed off it ({why}); "
                "release the cluster again once the switches answer"
            )
            await self._write(
                record,
                end_job(record.key, ClusterState.FAILED, reason),
                event_statement(record.key, "failed", ClusterState.FAILED, f"release not finished: {reason}"),
            )
            return
        await self._write(
            record,
            end_job(record.key, ClusterState.RELEASED),
            event_statement(record.key, "released", ClusterState.RELEASED, "every node sanitized; cluster released"),
        )

    async def _finish_ready(self, record: ClusterRecord) -> None:
        current = await read_cluster(self.ctx.store, record.key)
        members = len(current.members) if current else 0
        message = f"ready: {members} node(s) on VLAN {record.vlan}"
        await self._write(
            record,
            end_job(record.key, ClusterState.READY),
            event_statement(record.key, "ready", ClusterState.READY, message),
        )

    async def _fail(self, record: ClusterRecord, reason: str, *also: Statement) -> None:
        """Turn the job into its rollback (with `also` in the same write); the rollback starts with no failed
        attempt counted (`last_error` stays, the latest error of the job)."""
        await self._write(
            record,
            *also,
            set_state(
                record.key,
                ClusterState.ROLLING_BACK,
                job_step="rollback",
                reason=reason,
                failed_step="",
                failed_attempts=0,
                rolled_back_from=record.job_step,
            ),
            event_statement(record.key, "failed", ClusterState.ROLLING_BACK, f"{reason}; rolling back"),
        )

    async def _rollback(self, record: ClusterRecord) -> None:
        """Undo what the job did to the cluster's membership. Nodes a job brings in (create, grow,
        replace) go back to the pool if the job failed before it powered them on; once they may have
        booted on the tenant's network, they may hold its data, like the nodes a job takes out (shrink,
        release): those only ever leave to sanitization (a failed release or shrink ends with them out)."""
        creating = record.job is JobKind.CREATE
        taking_out = record.job in (JobKind.SHRINK, JobKind.RELEASE)
        everything = creating or record.job is JobKind.RELEASE
        may_hold_data = taking_out or record.rolled_back_from in _STEPS_AFTER_POWER_ON
        progress = StepProgress(self.ctx, record.key)
        await detach(
            self.ctx,
            record,
            record.members if everything else record.job_nodes,
            to="sanitizing" if may_hold_data else "available",
            free_vlan=everything,
            state=ClusterState.ROLLING_BACK,
            progress=progress,
        )
        job = record.job.value if record.job else "change"
        if everything:
            final, message = ClusterState.FAILED, f"failed: {record.reason}"
        elif taking_out:
            final, message = ClusterState.READY, f"{job} ended early, its node(s) sent to sanitization: {record.reason}"
        else:
            final, message = ClusterState.READY, f"{job} undone: {record.reason}"
        await self._write(
            record,
            end_job(record.key, final, record.reason if everything else ""),
            event_statement(record.key, "rolled_back", final, message),
        )
