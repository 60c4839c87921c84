"""The recordings the SNMP agent serves: the switches of `snmp_switches.py` rendered as snmpsim
`.snmprec` files (`data/*.snmprec`, shipped; `test_recordings.py` checks they match this file).

Regenerate after editing: `.venv/bin/python tests/drivers/snmp/snmp_recordings.py`.

A record is `OID|TAG|VALUE`; TAG is the ASN.1 type (2 INTEGER, 4 OCTET STRING, 4x the same in hex,
6 OID, 65 Counter32, 66 Gauge32/Unsigned32, 67 TimeTicks), optionally `:module` to route the record
through an snmpsim variation module (`writecache` keeps SETs, `error` refuses them, `ignoreset` is
ours: acknowledges SETs and keeps the old value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snmp_switches import ARISTA, LEAF, Switch

DATA = Path(__file__).parent / "data"
Records = dict[tuple[int, ...], tuple[str, str]]

IF, IFX = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
LLDP_LOC, LLDP_REM = "1.0.8802.1.1.2.1.3.7.1", "1.0.8802.1.1.2.1.4.1.1"
BASE_PORT_IFINDEX = "1.3.6.1.2.1.17.1.4.1.2"
VLAN_CURRENT, VLAN_STATIC, PVID = "1.3.6.1.2.1.17.7.1.4.2.1", "1.3.6.1.2.1.17.7.1.4.3.1", "1.3.6.1.2.1.17.7.1.4.5.1.1"
STATIC_EGRESS, STATIC_UNTAGGED = f"{VLAN_STATIC}.2", f"{VLAN_STATIC}.4"


def oid(dotted: str, *index: int) -> tuple[int, ...]:
    return tuple(int(part) for part in dotted.split(".")) + index


def text(value: str) -> tuple[str, str]:
    return ("4", value) if value.isprintable() and "|" not in value else ("4x", value.encode().hex())


def octets(value: bytes) -> tuple[str, str]:
    return ("4x", value.hex())


def portlist(ports: set[int], length: int) -> tuple[str, str]:
    buffer = bytearray(length)
    for port in ports:
        buffer[(port - 1) // 8] |= 0x80 >> ((port - 1) % 8)
    return octets(bytes(buffer))


def records(switch: Switch, *, tables: tuple[str, ...] = ("static", "current"), lldp: bool = True) -> Records:
    """Every record of `switch`: system, IF-MIB, LLDP-MIB, BRIDGE-MIB, Q-BRIDGE-MIB."""
    out: Records = {
        oid("1.3.6.1.2.1.1.1.0"): text(switch.description),
        oid("1.3.6.1.2.1.1.5.0"): text(switch.name),
    }
    for i in switch.interfaces:
        n = i.index
        out[oid(IF, 1, n)] = ("2", str(n))
        out[oid(IF, 2, n)] = text(i.descr or i.name)
        out[oid(IF, 3, n)] = ("2", str(i.type))
        out[oid(IF, 4, n)] = ("2", str(i.mtu))
        out[oid(IF, 5, n)] = ("66", str(min(i.mbps * 1_000_000, 4_294_967_295)))
        out[oid(IF, 7, n)] = ("2", str(i.admin))
        out[oid(IF, 8, n)] = ("2", str(i.oper))
        out[oid(IF, 13, n)] = ("65", str(i.in_discards))
        out[oid(IF, 14, n)] = ("65", str(i.in_errors))
        out[oid(IF, 19, n)] = ("65", str(i.out_discards))
        out[oid(IF, 20, n)] = ("65", str(i.out_errors))
        out[oid(IFX, 1, n)] = text(i.name)
        out[oid(IFX, 15, n)] = ("66", str(i.mbps))
        out[oid(IFX, 18, n)] = text(i.alias)
    if lldp:
        for num, name in switch.lldp_ports.items():
            out[oid(LLDP_LOC, 2, num)] = ("2", "5")  # interfaceName
            out[oid(LLDP_LOC, 3, num)] = text(name)
            out[oid(LLDP_LOC, 4, num)] = text(name)
        for nb in switch.neighbours:
            index = (nb.time_mark, nb.local_port, nb.rem_index)
            out[oid(LLDP_REM, 4, *index)] = ("2", "4")  # macAddress
            out[oid(LLDP_REM, 5, *index)] = octets(bytes.fromhex(nb.chassis_mac.replace(":", "")))
            if ":" in nb.port_id:
                out[oid(LLDP_REM, 6, *index)] = ("2", "3")  # macAddress
                out[oid(LLDP_REM, 7, *index)] = octets(bytes.fromhex(nb.port_id.replace(":", "")))
            else:
                out[oid(LLDP_REM, 6, *index)] = ("2", "5")  # interfaceName
                out[oid(LLDP_REM, 7, *index)] = text(nb.port_id)
            out[oid(LLDP_REM, 8, *index)] = text(nb.port_desc)
            out[oid(LLDP_REM, 9, *index)] = text(nb.system_name)
    if not tables:
        return out
    for bridge_port, if_index in switch.bridge_ports.items():
        out[oid(BASE_PORT_IFINDEX, bridge_port)] = ("2", str(if_index))
        out[oid(PVID, bridge_port)] = ("66", str(switch.pvid[bridge_port]))
    size = switch.portlist_octets
    for vlan in switch.vlans:
        egress, untagged = vlan.untagged | vlan.tagged, vlan.untagged
        if "current" in tables:
            out[oid(VLAN_CURRENT, 2, 0, vlan.vid)] = ("66", str(vlan.vid))  # dot1qVlanFdbId
            out[oid(VLAN_CURRENT, 4, 0, vlan.vid)] = portlist(egress, size)
            out[oid(VLAN_CURRENT, 5, 0, vlan.vid)] = portlist(untagged, size)
            out[oid(VLAN_CURRENT, 6, 0, vlan.vid)] = ("2", "2")  # permanent
        if "static" in tables:
            out[oid(VLAN_STATIC, 1, vlan.vid)] = text(vlan.name)
            out[oid(VLAN_STATIC, 2, vlan.vid)] = portlist(egress, size)
            out[oid(VLAN_STATIC, 3, vlan.vid)] = portlist(set(), size)
            out[oid(VLAN_STATIC, 4, vlan.vid)] = portlist(untagged, size)
            out[oid(VLAN_STATIC, 5, vlan.vid)] = ("2", "1")  # active
    return out


def through(module: str, recs: Records, extra: str = "") -> Records:
    """`recs` with the writable Q-BRIDGE objects (static port lists, PVIDs) routed via `module`."""
    out = dict(recs)
    for key, (tag, value) in recs.items():
        if key[: len(oid(STATIC_EGRESS))] in (oid(STATIC_EGRESS), oid(STATIC_UNTAGGED)) or key[:-1] == oid(PVID):
            setting = f"hexvalue={value}" if tag.endswith("x") else f"value={value}"
            out[key] = (f"{tag.rstrip('x')}:{module}", f"{extra}{setting}")
    return out


def changed(recs: Records, **edits: tuple[str, str] | None) -> Records:
    """`recs` with records replaced (or removed, for None); keys are dotted OIDs with `_` for `.`."""
    out = dict(recs)
    for dotted, record in edits.items():
        key = oid(dotted.replace("_", "."))
        assert key in out, f"no record {dotted}"
        if record is None:
            del out[key]
        else:
            out[key] = record
    return out


def render(recs: Records) -> str:
    return "".join(f"{'.'.join(map(str, key))}|{tag}|{value}\n" for key, (tag, value) in sorted(recs.items()))


@dataclass(frozen=True)
class Recording:
    community: str
    """Also the file name and the SNMPv3 context name."""
    build: Callable[[], Records]
    purpose: str = ""


def _leaf() -> Records:
    return records(LEAF)


RECORDINGS = (
    Recording("leaf", _leaf, "the leaf, read-only"),
    Recording("leaf-rw", lambda: through("writecache", _leaf()), "the leaf; SETs of VLAN objects persist"),
    Recording("leaf-ro", lambda: through("error", _leaf(), "op=set,status=notwritable,"), "refuses every SET"),
    Recording("leaf-ignore", lambda: through("ignoreset", _leaf()), "acknowledges SETs, changes nothing"),
    Recording("leaf-current", lambda: records(LEAF, tables=("current",)), "no dot1qVlanStaticTable"),
    Recording("bare", lambda: records(LEAF, tables=(), lldp=False), "IF-MIB only"),
    Recording("arista", lambda: records(ARISTA, tables=("static",)), "EOS-like: LLDP port numbers are not ifIndex"),
    Recording("broken-if-type", lambda: changed(_leaf(), **{f"{IFX}_15_7": ("4", "100G")}), "ifHighSpeed.7 text"),
    Recording("broken-if-hole", lambda: changed(_leaf(), **{f"{IF}_4_9": None}), "ifMtu.9 missing"),
    Recording("broken-pvid", lambda: changed(_leaf(), **{f"{PVID}_3": ("4", "twenty")}), "dot1qPvid.3 text"),
    Recording(
        "broken-vlan",
        lambda: changed(_leaf(), **{f"{STATIC_UNTAGGED}_20": portlist({3, 4, 7, 12}, LEAF.portlist_octets)}),
        "VLAN 20 untagged port 12 is no egress member",
    ),
    Recording(
        "broken-lldp",
        lambda: changed(_leaf(), **{f"{LLDP_REM}_5_4210_4_1": octets(bytes.fromhex("0c42a10001"))}),
        "a 5-octet MAC chassis id",
    ),
)


def write_all(directory: Path = DATA) -> list[Path]:
    """Render every recording into `directory`; returns the files."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for recording in RECORDINGS:
        path = directory / f"{recording.community}.snmprec"
        path.write_text(render(recording.build()))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all():
        print(written)
