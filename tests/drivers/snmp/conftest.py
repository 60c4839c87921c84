"""Fixtures for the SNMP driver tests: one real SNMP agent on loopback for the session (snmpsim's
command responder, see `snmp_agent.py`), serving every recording in `data/` (one per community,
which is also the SNMPv3 context name).

Only `leaf-rw` keeps what is SET (its VLAN objects go through snmpsim's `writecache`, whose store
no other recording uses), so the write tests share it and each changes its own ports only.
This folder goes on sys.path so the tests can import the helpers next to them (`snmp_*.py`).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))

from snmp_agent import DATA, Agent, start_agent

RECORDINGS = ["leaf", *sorted({path.stem for path in DATA.glob("*.snmprec")} - {"leaf"})]


@pytest.fixture(scope="session")
async def snmp_agent(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Agent]:
    """The agent serving every recording (community / context = recording name)."""
    async for agent in start_agent(tmp_path_factory.mktemp("snmp-agent"), RECORDINGS):
        yield agent
