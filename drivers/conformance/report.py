"""What a conformance run found: one `CheckResult` per capability, gathered in a `ConformanceReport`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CheckStatus(StrEnum):
    PASSED = "pass"
    FAILED = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one capability, with a message saying what was seen."""

    capability: str
    status: CheckStatus
    message: str
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "capability": self.capability,
            "status": str(self.status),
            "message": self.message,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass(frozen=True)
class ConformanceReport:
    """A driver checked against one device. `passed` when no check failed and at least one passed."""

    driver: str
    kind: str
    target: str
    checks: tuple[CheckResult, ...]
    allow_writes: bool = False
    test_port: str | None = None

    @property
    def passed(self) -> bool:
        statuses = {check.status for check in self.checks}
        return CheckStatus.FAILED not in statuses and CheckStatus.PASSED in statuses

    @property
    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if check.status is CheckStatus.FAILED]

    def check(self, capability: str) -> CheckResult:
        """The result for `capability`; `KeyError` when it was not checked."""
        for check in self.checks:
            if check.capability == capability:
                return check
        raise KeyError(capability)

    def to_dict(self) -> dict[str, Any]:
        return {
            "driver": self.driver,
            "kind": self.kind,
            "target": self.target,
            "allow_writes": self.allow_writes,
            "test_port": self.test_port,
            "passed": self.passed,
            "checks": [check.to_dict() for check in self.checks],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def render(self) -> str:
        """Plain text: a verdict line, then one line per capability."""
        counts = {status: sum(check.status is status for check in self.checks) for status in CheckStatus}
        verdict = "PASSED" if self.passed else "FAILED"
        mode = (
            f"writes allowed, test port {self.test_port}"
            if self.allow_writes and self.test_port
            else ("writes allowed" if self.allow_writes else "read-only")
        )
        lines = [
            f"{self.kind} driver '{self.driver}' against {self.target} ({mode}): {verdict}",
            f"  {counts[CheckStatus.PASSED]} passed, {counts[CheckStatus.FAILED]} failed, "
            f"{counts[CheckStatus.SKIPPED]} skipped",
        ]
        width = max((len(check.capability) for check in self.checks), default=0)
        for check in self.checks:
            lines.append(f"  {check.status.upper():<7} {check.capability:<{width}}  {check.message}")
        return "\n".join(lines)

    __str__ = render
