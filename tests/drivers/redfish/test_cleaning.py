"""Secure erase jobs over loopback: tasks, task monitors, synchronous erases, failures, refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from metalgraph.drivers.errors import ChangeRejected, MalformedResponse, Unsupported
from metalgraph.drivers.redfish.cleaning import JobRecord, decode_job, encode_job
from metalgraph.drivers.types import CleaningMethod, JobState

Factory = Callable[..., Any]
DRIVES = "/redfish/v1/Chassis/1/Drives"
BAY0 = f"{DRIVES}/NVMeSSD.0.Group.0.StorageBackplane.Disk.Bay.0"
BAY1 = f"{DRIVES}/NVMeSSD.0.Group.0.StorageBackplane.Disk.Bay.1"


async def test_erase_followed_through_tasks_by_a_new_driver(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hgx_h100")
    async with make_driver(bmc.url) as driver:
        job = await driver.start_cleaning()
    assert job.state is JobState.RUNNING and job.percent == 0
    assert "skipped (no secure erase): Chassis/1/Drives/HA-RAID.0.StorageEnclosure.0.Disk.0" in job.message
    assert [path for path, _ in bmc.bodies] == [
        f"{BAY0}/Actions/Drive.SecureErase",
        f"{BAY1}/Actions/Drive.SecureErase",
    ]
    async with make_driver(bmc.url) as driver:  # the job id is all a new instance needs
        running = await driver.get_cleaning_job(job.id)
        done = await driver.get_cleaning_job(job.id)
    assert (running.state, running.percent) == (JobState.RUNNING, 50)
    # Both erasable drives are done, but the RAID disk could not be erased: the node is not sanitized.
    assert (done.state, done.id) == (JobState.FAILED, job.id)
    assert done.message.startswith("secure erase: 2/2 drives done")
    assert "skipped (no secure erase)" in done.message


async def test_erase_with_a_task_monitor_and_a_synchronous_drive(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hgx_h100")
    bmc.erase = {BAY0: "sync", BAY1: "monitor"}
    async with make_driver(bmc.url) as driver:
        job = await driver.start_cleaning()
        assert (job.state, job.percent) == (JobState.RUNNING, 50)  # one drive done at once
        assert (await driver.get_cleaning_job(job.id)).state is JobState.RUNNING  # monitor: 202
        assert (await driver.get_cleaning_job(job.id)).state is JobState.FAILED  # monitor: 204; RAID disk skipped
    bmc.erase = {BAY0: "sync", BAY1: "sync"}
    async with make_driver(bmc.url) as driver:
        job = await driver.start_cleaning()
    assert (job.state, job.percent) == (JobState.FAILED, 100)  # done at once, but the RAID disk was skipped


async def test_failed_erase_fails_the_job(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hgx_h100")
    bmc.erase = {BAY1: "fail"}
    async with make_driver(bmc.url) as driver:
        job = await driver.start_cleaning()
        await driver.get_cleaning_job(job.id)
        job = await driver.get_cleaning_job(job.id)
    assert job.state is JobState.FAILED
    assert "Disk.Bay.1: Sanitize failed: drive is write-protected" in job.message


async def test_refused_erase(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hgx_h100")
    bmc.erase = {BAY0: "reject"}
    async with make_driver(bmc.url) as driver:
        with pytest.raises(ChangeRejected, match="locked"):
            await driver.start_cleaning()
    bmc.erase = {BAY1: "reject"}
    async with make_driver(bmc.url) as driver:
        with pytest.raises(ChangeRejected, match=r"already started on .*Disk\.Bay\.0"):
            await driver.start_cleaning()


async def test_overwrite_only_where_advertised(fake_bmc: Factory, make_driver: Factory) -> None:
    bmc = fake_bmc("hgx_h100")
    async with make_driver(bmc.url) as driver:
        job = await driver.start_cleaning(CleaningMethod.OVERWRITE)
    assert bmc.bodies == [(f"{BAY0}/Actions/Drive.SecureErase", {"SanitizationType": "Overwrite"})]
    assert "Disk.Bay.1" in job.message.split("skipped")[1]


async def test_no_drive_with_secure_erase(fake_bmc: Factory, make_driver: Factory) -> None:
    async with make_driver(fake_bmc("hpe_dl380").url) as driver:
        with pytest.raises(Unsupported, match="no drive offers"):
            await driver.start_cleaning()


async def test_unknown_jobs(fake_bmc: Factory, make_driver: Factory) -> None:
    forgotten = encode_job(JobRecord(((BAY0, "/redfish/v1/TaskService/Tasks/404"),)))
    async with make_driver(fake_bmc("hgx_h100").url) as driver:
        for job_id in ("JID_123456789", "rf-erase-!!!", forgotten):
            with pytest.raises(MalformedResponse) as caught:
                await driver.get_cleaning_job(job_id)
            assert caught.value.field == "job_id"


def test_job_ids_round_trip() -> None:
    record = JobRecord(
        ((f"Systems/1/Storage/1/Drives/{n}", f"/redfish/v1/TaskService/Tasks/{n}") for n in range(24)), ("x",)
    )
    record = JobRecord(tuple(record.drives), record.skipped)
    assert decode_job(encode_job(record)) == record
    assert len(encode_job(record)) < 600  # 24 NVMe drives still make a short id
