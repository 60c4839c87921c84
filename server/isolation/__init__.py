"""Tenant isolation: does what the switches carry match what the graph intends?

    report = await isolation_report(store, access)
    for violation in report.violations:
        print(violation.kind, violation.message)

`model` holds the result types, `intent` reads the graph, `devices` reads the switches in
parallel, `rules` decides (pure), `report` ties them together.
"""

from .model import IsolationReport, Source, Violation, ViolationKind
from .report import isolation_report

__all__ = ["IsolationReport", "Source", "Violation", "ViolationKind", "isolation_report"]
