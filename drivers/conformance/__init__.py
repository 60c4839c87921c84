"""The conformance kit: checks that a driver keeps the promises of the driver interfaces against a
live device, read-only by default. `validate` is what `metalgraph drivers validate` calls.

    report = await validate("switch", "snmp", DeviceConfig("udp:10.0.1.2:161", credentials),
                            allow_writes=True, test_port="Ethernet1/48")
    print(report.render()); report.passed; report.to_json()
"""

from .report import CheckResult, CheckStatus, ConformanceReport
from .runner import check_driver, public_target, validate

__all__ = ["CheckResult", "CheckStatus", "ConformanceReport", "check_driver", "public_target", "validate"]
