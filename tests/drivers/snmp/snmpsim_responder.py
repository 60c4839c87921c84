"""Run snmpsim's command responder (`snmpsim-command-responder`) with two work-arounds, then hand
it the command line unchanged:

- snmpsim 1.2.2 imports `pysmi` only to print its version, but does not declare the dependency;
  a stand-in module is installed when pysmi is missing.
- snmpsim refuses to run as root unless told which user to drop to; when root (as in CI
  containers) SNMPSIM_ALLOW_ROOT=true lets it keep running as is.

Usage: python snmpsim_responder.py --data-dir=DIR --agent-udpv4-endpoint=127.0.0.1:PORT [snmpsim options]
"""

from __future__ import annotations

import os
import sys
import types

if __name__ == "__main__":
    try:
        import pysmi  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("pysmi")
        stand_in.__version__ = "absent"  # type: ignore[attr-defined]
        sys.modules["pysmi"] = stand_in
    if os.getuid() == 0:
        os.environ.setdefault("SNMPSIM_ALLOW_ROOT", "true")

    from snmpsim.commands.responder import main

    sys.exit(main())
