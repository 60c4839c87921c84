"""Runs sushy-tools' Redfish emulator (`sushy-emulator`) for these tests.

The fake system driver applies a power change 1 to 11 s after the request, at random; here that delay is
pinned to its minimum (the change shows within a second), so the driver's read-back polling is still
exercised while the tests stay fast and deterministic. Arguments are those of `sushy-emulator`.
"""

from __future__ import annotations

import types

from sushy_tools.emulator import main  # type: ignore[import-untyped]
from sushy_tools.emulator.resources.systems import fakedriver  # type: ignore[import-untyped]

fakedriver.random = types.SimpleNamespace(randint=lambda low, high: low)

if __name__ == "__main__":
    main.main()
