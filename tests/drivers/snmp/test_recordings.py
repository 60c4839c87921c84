"""The shipped recordings (`data/*.snmprec`) are exactly what `snmp_recordings.py` renders from
`snmp_switches.py`; regenerate with `.venv/bin/python tests/drivers/snmp/snmp_recordings.py`."""

from __future__ import annotations

from pathlib import Path

import snmp_recordings
from snmp_agent import DATA


def test_shipped_recordings_match_their_description(tmp_path: Path) -> None:
    written = snmp_recordings.write_all(tmp_path)
    assert sorted(path.name for path in DATA.glob("*.snmprec")) == sorted(path.name for path in written)
    for path in written:
        assert (DATA / path.name).read_text() == path.read_text(), f"{path.name} is stale: regenerate it"


def test_leaf_recording_is_a_plausible_leaf() -> None:
    records = snmp_recordings.records(snmp_recordings.LEAF)
    if_names = [value for key, (_, value) in records.items() if key[:-1] == snmp_recordings.oid(snmp_recordings.IFX, 1)]
    assert if_names[:3] == ["lo", "eth0", "swp1"] and len(if_names) == 16
