"""`SimBmc`: a BMC driver over a simulated node in a `SimLab`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..base import BmcDriver
from ..errors import MalformedResponse, Unsupported
from ..types import (
    BootDevice,
    BootOverride,
    CleaningJob,
    CleaningMethod,
    DeviceConfig,
    HardwareInventory,
    Health,
    JobState,
    PowerAction,
    PowerState,
)
from .lab import lab_for
from .state import NodeState, SimJob

T = TypeVar("T")


class SimBmc(BmcDriver):
    """Controls a simulated node. Every call passes the node's `faults` first."""

    name = "sim"

    def __init__(self, config: DeviceConfig) -> None:
        super().__init__(config)
        self.lab = lab_for(config)

    async def _call(self, operation: Callable[[NodeState], T], *, change: bool = False) -> T:
        """Run `operation` on the node's state as one device call (see `SimLab.call`)."""
        return await self.lab.call("node", self.address, self.config.timeout_s, operation, change=change)

    async def get_power_state(self) -> PowerState:
        return await self._call(lambda node: node.power)

    async def set_power_state(self, action: PowerAction) -> None:
        def apply(node: NodeState) -> None:
            if action is PowerAction.CYCLE or (action is PowerAction.ON and node.power is PowerState.OFF):
                node.boot_now()
            elif action in (PowerAction.OFF, PowerAction.SOFT_OFF):
                node.power = PowerState.OFF

        await self._call(apply, change=True)

    async def get_boot_override(self) -> BootOverride:
        return await self._call(lambda node: node.boot)

    async def set_boot_device(self, device: BootDevice, *, persistent: bool = False) -> None:
        def apply(node: NodeState) -> None:
            if device not in node.boot_devices:
                raise Unsupported(f"boot device {device} is not offered", device=self.address)
            node.boot = BootOverride(device, persistent)

        await self._call(apply, change=True)

    async def get_inventory(self) -> HardwareInventory:
        return await self._call(lambda node: node.inventory)

    async def start_cleaning(self, method: CleaningMethod = CleaningMethod.SECURE_ERASE) -> CleaningJob:
        def start(node: NodeState) -> CleaningJob:
            drives = node.inventory.drives
            if not drives or (method is CleaningMethod.SECURE_ERASE and not any(d.secure_erase for d in drives)):
                raise Unsupported(f"no drive offers {method}", device=self.address)
            # numbered per node, in the node's state: unique across the processes sharing a persistent lab
            job = SimJob(f"sim-job-{len(node.jobs) + 1}", method, steps=max(1, node.cleaning_steps))
            job.fails = node.faults.fail_cleaning
            node.jobs[job.id] = job
            return CleaningJob(job.id, JobState.RUNNING, percent=0)

        return await self._call(start, change=True)

    async def get_cleaning_job(self, job_id: str) -> CleaningJob:
        def poll(node: NodeState) -> CleaningJob:
            job = node.jobs.get(job_id)
            if job is None:
                raise MalformedResponse(f"no cleaning job {job_id!r}", field="job_id", device=self.address)
            job.polls = min(job.steps, job.polls + 1)
            if job.polls < job.steps:
                return CleaningJob(job.id, JobState.RUNNING, percent=100 * job.polls // job.steps)
            if job.fails:
                percent = 100 * (job.steps - 1) // job.steps
                return CleaningJob(job.id, JobState.FAILED, percent=percent, message=node.faults.said("erase failed"))
            return CleaningJob(job.id, JobState.COMPLETED, percent=100)

        return await self._call(poll)

    async def get_health(self) -> Health:
        return await self._call(lambda node: node.health)
