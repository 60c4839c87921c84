"""Cleaning: `Drive.SecureErase` on every drive that offers it, one POST per drive, in turn.

A job id is self-contained (jobs survive a server restart and a new driver instance): it encodes, per
drive, where to poll. How a drive's erase is followed:
- the BMC answers 202 with a `Task` body (its `@odata.id`) or a `Location` header: that task, task
  monitor or job (Dell: `/Managers/iDRAC.Embedded.1/Jobs/JID_...`, with `JobState`) is polled.
  Completed (unless `TaskStatus` is Critical) is done; Exception, Killed, Cancelled, Interrupted, Failed
  and CompletedWithErrors are failures; a monitor answering 202 without a task body is running, and
  one answering 200/204 without a task or job body has finished.
- the BMC answers 200/204 (no task): the erase is taken as completed when the action returned. Redfish
  gives no way to follow such an erase; the BMC accepted it and some run it synchronously.
Drives without the action are skipped and named in the job's message, and the job then ends FAILED
once the others are done: a node is sanitized only when every drive is. `OVERWRITE` uses the action's
`SanitizationType: Overwrite` where the drive advertises it.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass

from sushy.exceptions import ResourceNotFoundError  # type: ignore[import-untyped]

from ..errors import ChangeRejected, MalformedResponse, Unsupported
from ..types import CleaningJob, CleaningMethod, JobState
from .client import RedfishClient, Reply
from .doc import Doc
from .inventory import absent, secure_erase_target

JOB_PREFIX = "rf-erase-"
RUNNING = {"New", "Starting", "Running", "Suspended", "Pending", "Stopping", "Cancelling", "Service"}
RUNNING |= {"UserIntervention", "Continue", "Scheduled", "Scheduling", "Downloading", "Waiting", "ReadyForExecution"}
"""Task and Job states (DMTF Task/Job, and Dell iDRAC's jobs) of work not finished yet."""
FAILED = {"Exception", "Killed", "Cancelled", "Interrupted", "Failed", "CompletedWithErrors"}


def has_state(doc: Doc | None) -> bool:
    """A `Task` (TaskState) or a `Job` (JobState; Dell answers actions with a job's Location)."""
    return doc is not None and (doc.get("TaskState") is not None or doc.get("JobState") is not None)


@dataclass(frozen=True)
class JobRecord:
    """What a job id carries: (drive, task or monitor URI, empty when done at once) and skipped drives."""

    drives: tuple[tuple[str, str], ...]
    skipped: tuple[str, ...] = ()


def encode_job(record: JobRecord) -> str:
    payload = json.dumps({"d": record.drives, "s": record.skipped}, separators=(",", ":")).encode()
    return JOB_PREFIX + base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode().rstrip("=")


def decode_job(job_id: str) -> JobRecord:
    """The record in `job_id`; `MalformedResponse` (field `job_id`) for anything this driver did not issue."""
    try:
        if not job_id.startswith(JOB_PREFIX):
            raise ValueError("foreign prefix")
        data = job_id[len(JOB_PREFIX) :]
        raw = json.loads(zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))))
        drives = tuple((str(drive), str(uri)) for drive, uri in raw["d"])
        return JobRecord(drives, tuple(str(name) for name in raw["s"]))
    except (ValueError, TypeError, KeyError, binascii.Error, zlib.error) as error:
        raise MalformedResponse("not a job of this driver", field="job_id") from error


def task_progress(doc: Doc) -> tuple[JobState, int, str]:
    """(state, percent, message) of a Redfish `Task`, or of a `Job` (`JobState`)."""
    key = "JobState" if doc.get("TaskState") is None and doc.get("JobState") is not None else "TaskState"
    state = doc.text(key, required=True)
    message = next((text for item in doc.objects("Messages") if (text := item.text("Message"))), "")
    percent = doc.integer("PercentComplete", minimum=0) or 0
    if state == "Completed":
        failed = doc.text("TaskStatus") == "Critical"
        return (JobState.FAILED if failed else JobState.COMPLETED), 100, message
    if state in FAILED:
        return JobState.FAILED, percent, message or state
    if state in RUNNING:
        return JobState.RUNNING, min(percent, 99), message
    raise doc.error(f"unknown task state {state!r}", key)


def monitor_of(reply: Reply) -> str:
    """Where to follow an action's reply; empty when it finished (or gave nothing to follow)."""
    body = reply.body
    if body is not None and has_state(body) and body.text("@odata.id"):
        return body.text("@odata.id")
    if reply.status == 202:
        return reply.location or (body.text("@odata.id") if body is not None else "")
    return ""


def summarize(job_id: str, record: JobRecord, parts: list[tuple[str, JobState, int, str]]) -> CleaningJob:
    """One job state from the drives' states: failed if any failed, completed when all completed."""
    failed = [f"{drive}: {message or 'failed'}" for drive, state, _, message in parts if state is JobState.FAILED]
    done = sum(1 for _, state, _, _ in parts if state is JobState.COMPLETED)
    percent = sum(percent for _, _, percent, _ in parts) // max(len(parts), 1)
    notes = [f"secure erase: {done}/{len(parts)} drives done", *failed]
    if record.skipped:
        notes.append(f"skipped (no secure erase): {', '.join(record.skipped)}")
    state = JobState.FAILED if failed else JobState.COMPLETED if done == len(parts) else JobState.RUNNING
    if state is JobState.COMPLETED and record.skipped:
        state = JobState.FAILED  # sanitized means every drive: a skipped drive may still hold a tenant's data
    return CleaningJob(
        id=job_id, state=state, percent=100 if state is JobState.COMPLETED else percent, message="; ".join(notes)
    )


async def start(client: RedfishClient, drives: list[Doc], method: CleaningMethod) -> CleaningJob:
    """POST the erase action to every drive that offers `method`; the job to poll."""
    body = {} if method is CleaningMethod.SECURE_ERASE else {"SanitizationType": "Overwrite"}
    targets: list[tuple[Doc, str]] = []
    skipped: list[str] = []
    for drive in drives:
        if absent(drive):
            continue
        target = secure_erase_target(drive)
        allowed = drive.texts("Actions", "#Drive.SecureErase", "SanitizationType@Redfish.AllowableValues")
        if target and (method is CleaningMethod.SECURE_ERASE or "Overwrite" in allowed):
            targets.append((drive, target))
        else:
            skipped.append(drive.path)
    if not targets:
        raise Unsupported(f"no drive offers {method}", device=client.device)
    started: list[tuple[str, str]] = []
    for drive, target in targets:
        try:
            reply = await client.post(target, body)
        except ChangeRejected as error:
            if not started:
                raise
            names = ", ".join(name for name, _ in started)
            raise ChangeRejected(f"{error.reason}; erase already started on {names}", device=client.device) from error
        started.append((drive.path, monitor_of(reply)))
    record = JobRecord(tuple(started), tuple(skipped))
    job_id = encode_job(record)
    return summarize(job_id, record, [(drive, *_initial(uri)) for drive, uri in started])


def _initial(uri: str) -> tuple[JobState, int, str]:
    return (JobState.RUNNING, 0, "") if uri else (JobState.COMPLETED, 100, "")


async def poll(client: RedfishClient, job_id: str) -> CleaningJob:
    """The job's state now, from each drive's task."""
    record = decode_job(job_id)
    parts: list[tuple[str, JobState, int, str]] = []
    for drive, uri in record.drives:
        if not uri:
            parts.append((drive, JobState.COMPLETED, 100, ""))
            continue
        try:
            reply = await client.get_reply(uri)
        except MalformedResponse as error:
            if isinstance(error.__cause__, ResourceNotFoundError):
                raise MalformedResponse(
                    f"unknown job: the BMC no longer knows {uri}", field="job_id", device=client.device
                ) from error
            raise
        if reply.body is not None and has_state(reply.body):
            parts.append((drive, *task_progress(reply.body)))
        elif reply.status == 202:
            parts.append((drive, JobState.RUNNING, 0, ""))
        else:
            parts.append((drive, JobState.COMPLETED, 100, ""))
    return summarize(job_id, record, parts)
