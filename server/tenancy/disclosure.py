"""What a tenant reads of the infrastructure: one rule for every field and every text it can read.

`visibility` says which vertices a tenant sees; this module says what it reads of them, and of the
text the server writes about them (cluster events and reasons, placement explanations, refusals of
placement, its audit entries).

Fields. Of a vertex in its scope a tenant reads the properties `TENANT_PROPERTIES` lists for its label,
and nothing else: a property added to the graph later stays hidden until it is listed here. Listed:
names, roles and what a tenant needs to use and debug what it rents (a node's hardware and state, a
NIC's MAC and speed, a port's mode, speed and status, a switch's name and role). Not listed: how the
provider manages its devices (a switch's management address, driver, credentials and model, a node's
BMC), and the provider's layout (a switch's spine pod, a GPU's NVLink domain name: the NVLink peers
of a GPU are its `nvlinkPeers`). A filter on a hidden property matches nothing, so that it cannot be
used to read the property back. On a port, VLANs are owned per site: a tenant reads the VLANs its
clusters hold in that port's site only, never the other VLANs a shared trunk carries (the same VLAN
id belongs to other tenants in other sites). Edges carry physical facts only (rack unit, cable speed,
NVLink link count, PCIe path) and are read as they are. Free capacity, an aggregate of the pool every
tenant may read, comes per site and GPU model (`tenant_capacity`), its spine pods merged.

Text. A tenant reads in text what it could read in fields, and words for the rest:
- a node or switch name outside its scope becomes "a node" / "a switch";
- a spine pod, leaf domain or NVLink domain name always becomes its level word ("a leaf domain"),
  like the fields that would name them;
- a network address (a URL, an IPv4 address, an IPv6 address, the host of a switch's or BMC's management
  address, a dotted host name a colon follows, as a driver's error starts) becomes "an address";
- VLAN ids (one, a list or a range after the word VLAN, or a trunk's "allowed"/"native") are read like a
  port's VLANs: the ones its clusters hold now in the site the text is about stay, the others become one
  "(hidden)" (text about no known site shows none);
- each part of a `switch/port` key is read on its own;
- site names stay (a tenant names sites in its requests).
What the tenant sent itself is never rewritten (its own words in its audit entries, and the names they
hold): rewriting only real names would confirm that a guessed name exists. Other error messages go out as
they are: the services write them from what the request named and the caller's own objects only.
Providers read everything as it is.
"""

from __future__ import annotations

import dataclasses
import json
import re
import weakref
from collections.abc import Iterable, Iterator, Mapping, Set
from typing import Any
from urllib.parse import urlsplit

from ..audit.entry import AuditEntry
from ..auth.principal import Role
from ..placement.explain import NOUN
from ..placement.index import PlacementIndex, Topology
from ..placement.spec import OUTER_FIRST
from ..store.base import GraphStore
from .capacity import Capacity

TENANT_PROPERTIES: Mapping[str, frozenset[str]] = {
    "Tenant": frozenset({"key", "name", "display_name", "created_at", "contact_email"}),
    "Cluster": frozenset(
        {"key", "name", "tenant", "description", "spec", "state", "created_at", "vlan", "site", "reason"}
    ),
    "Site": frozenset(
        {"key", "name", "region", "country", "jurisdiction", "certifications", "vlan_pool", "quarantine_vlan"}
    ),
    "Rack": frozenset({"key", "name", "site", "row"}),
    "Node": frozenset(
        {
            "key",
            "name",
            "rack",
            "serial",
            "vendor",
            "model",
            "cpu_model",
            "cpu_cores",
            "memory_gb",
            "storage_gb",
            "state",
            "power_state",
            "health",
        }
    ),
    "GPU": frozenset({"key", "uuid", "index", "model", "memory_gb", "node"}),
    "NIC": frozenset({"key", "name", "mac", "speed_gbps", "role", "rail", "node"}),
    "Switch": frozenset({"key", "name", "role", "rack"}),
    "Port": frozenset(
        {"key", "name", "switch", "index", "speed_gbps", "mode", "access_vlan", "allowed_vlans", "oper_status"}
    ),
}
"""The properties a tenant reads, by label; a label not listed shows its key only."""

class TenantFields:
    """The field rule, as a tenant's `Scope` applies it to every vertex it reads."""

    def readable(self, label: str) -> frozenset[str]:
        return TENANT_PROPERTIES.get(label, frozenset({"key"}))

    def view(self, label: str, props: Mapping[str, Any], own_vlans: frozenset[int]) -> dict[str, Any]:
        allowed = self.readable(label)
        out = {k: v for k, v in props.items() if k in allowed}
        if "access_vlan" in out and out["access_vlan"] not in own_vlans:
            del out["access_vlan"]
        if "allowed_vlans" in out:
            out["allowed_vlans"] = [v for v in out["allowed_vlans"] or () if v in own_vlans]
        return out


TENANT_FIELDS = TenantFields()


def tenant_capacity(buckets: Iterable[Capacity]) -> list[Capacity]:
    """Free capacity as a tenant reads it: per site and GPU model, the spine pods merged (and unnamed)."""
    merged: dict[tuple[str, str], Capacity] = {}
    for c in buckets:
        seen = merged.get((c.site, c.gpu_model))
        nodes, gpus = (seen.free_nodes, seen.free_gpus) if seen else (0, 0)
        merged[(c.site, c.gpu_model)] = Capacity(c.site, "", c.gpu_model, nodes + c.free_nodes, gpus + c.free_gpus)
    return sorted(merged.values(), key=lambda c: (c.site, c.gpu_model))


# --- text ---------------------------------------------------------------------------------------------

_NOUNS = "|".join(re.escape(NOUN[level][0]) for level in OUTER_FIRST[1:]) + "|node|switch"
_NAME = re.compile(rf"(?:\b(?:{_NOUNS}) )?([\w.:/@-]+)")
_TRAILING = ".:/@-"
_ADDRESS = re.compile(
    r"\b[a-z][a-z0-9+.-]*://[^\s,;()<>'\"]*[^\s,;()<>'\".:]"  # a URL
    r"|\[[0-9a-f.]*:[0-9a-f:.]*\](?::\d+)?"  # a bracketed IPv6 address (never a list such as [100])
    r"|(?<![\w.:])\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?![\w.])"  # IPv4, with a port
    r"|(?<![\w:])(?=[0-9a-f:]*::)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])"  # IPv6 (shortened)
    r"|(?<![\w.-])[a-z0-9-]+(?:\.[a-z0-9-]+)+\.[a-z][a-z0-9-]*(?::\d+)?(?=:)",  # a host name, then a colon
    re.IGNORECASE,
)
_ID = r"(?<![\w-])\d+(?:-\d+)?(?![\w-])"
"""One VLAN id or a range, standing alone (never digits inside a name such as `rack7-leaf`)."""
_COUNT = r"\d+\s+(?:[a-z]+\s+)?[a-z]+\(s\)"
"""A count the server writes after a VLAN id ("on VLAN 5, 2 trunk port(s) carry it"): not an id."""
_VLAN_IDS = re.compile(
    r"(\b(?:vlans?|allowed|native|allowed_vlans|native_vlan|access_vlan|vlan_ids?)\b[\s:=]*"  # words that say
    r"(?:(?:vlans?|ids?)\b[\s:=]*){0,2})"  # VLAN ids follow ("allowed vlans", "VLAN ids"), then
    r"(\[[\d,\s-]*\]|\([\d,\s-]*\)|\{[\d,\s-]*\}"  # a bracketed list, or ids separated by commas or spaces
    rf"|{_ID}(?:(?:\s*,\s*|\s+(?:and\s+|or\s+)?)(?!{_COUNT}){_ID})*)",
    re.IGNORECASE,
)
_ITEM = re.compile(r"\d+(?:-\d+)?")
_PARTS = re.compile(r"([/:@])")
"""What separates the parts of a word that are read one by one (`switch/port`, `user@host`)."""
ADDRESS = "an address"
HIDDEN_VLAN = "(hidden)"


def _article(noun: str) -> str:
    return ("an " if noun[0].lower() in "aeiou" else "a ") + noun


def words_of(texts: Iterable[str]) -> set[str]:
    """The name-like words of `texts` (what `TenantText` would judge one by one)."""
    words = {m[1].rstrip(_TRAILING) for text in texts for m in _NAME.finditer(text)}
    return words | {part for word in words for part in _PARTS.split(word)}


def host_of(address: str) -> str:
    """The host part of a device's management address (`snmp://leaf1.oob:161` -> `leaf1.oob`), lower case."""
    address = address.strip()
    if "://" in address:
        try:
            return urlsplit(address).hostname or ""
        except ValueError:
            return ""
    if address.startswith("["):
        return address[1:].partition("]")[0].lower()
    if address.count(":") == 1:  # host:port (an IPv6 address has more colons)
        address = address.partition(":")[0]
    return address.lower()


class TenantText:
    """The names of one placement index's infrastructure and the hosts of its devices' management
    addresses, and how a tenant reads text that holds them."""

    def __init__(self, index: PlacementIndex, addresses: Iterable[str] = ()) -> None:
        t = index.topology
        self.sites = frozenset(t.domain_names[0])
        self.domains: dict[str, str] = {}
        for depth, level in enumerate(OUTER_FIRST):
            if depth:
                for name in t.domain_names[depth]:
                    self.domains.setdefault(name, _article(NOUN[level][0]))
        self.nodes = frozenset(t.node_names)
        self.switches = frozenset(t.switches)
        self.hosts = frozenset(h for a in addresses if isinstance(a, str) and (h := host_of(a)))

    def _word(self, name: str, keep: Set[str]) -> str | None:
        """What a tenant reads instead of `name`; None when it may read the name."""
        if not name or name in self.sites:
            return None
        if name in self.nodes:
            return None if name in keep else "a node"
        if name in self.domains:
            return self.domains[name]
        if name in self.switches:
            return None if name in keep else "a switch"
        if name.lower() in self.hosts:
            return ADDRESS
        return None

    def read(self, text: str, keep: Set[str] = frozenset(), vlans: Set[int] | None = None) -> str:
        """`text` as a tenant reads it. `keep`: the node and switch names it may read (its scope's);
        `vlans`: the VLAN ids it may read (None: leave VLAN ids as they are)."""
        if not text:
            return text
        text = _ADDRESS.sub(ADDRESS, text)
        if vlans is not None:
            text = _VLAN_IDS.sub(lambda m: m[1] + _own_ids(m[2], vlans), text)

        def replace(m: re.Match[str]) -> str:
            token = m[1]
            name = token.rstrip(_TRAILING)
            parts = _PARTS.split(name)
            read = [p if i % 2 else (self._word(p.rstrip(_TRAILING), keep) or p) for i, p in enumerate(parts)]
            if read == parts:
                return m[0]
            noun = m[0][: m.start(1) - m.start(0)] if read[0] == parts[0] else ""  # "switch x" -> "a switch"
            return noun + "".join(read) + token[len(name) :]

        return _NAME.sub(replace, text)


def _own_ids(ids: str, vlans: Set[int]) -> str:
    """The ids of `ids` the tenant may read, the others as one "(hidden)": not even their count shows."""
    items = _ITEM.findall(ids)
    shown = [item for item in items if _owned(item, vlans)]
    if len(shown) == len(items):
        return ids
    listed = ", ".join([*shown, HIDDEN_VLAN])
    return ids[0] + listed + ids[-1] if ids[0] in "[({" else listed


def _owned(item: str, vlans: Set[int]) -> bool:
    low, _, high = item.partition("-")
    first, last = int(low), int(high or low)
    return first <= last <= first + 4096 and all(v in vlans for v in range(first, last + 1))


_CACHE: weakref.WeakKeyDictionary[Topology, TenantText] = weakref.WeakKeyDictionary()
_DEVICE_ADDRESSES = (
    "MATCH (s:Switch) RETURN collect(s.mgmt_address) AS addresses",
    "MATCH (n:Node) RETURN collect(n.bmc_address) AS addresses",
)


async def tenant_text(index: PlacementIndex, store: GraphStore) -> TenantText:
    """The text rule over the names of `index` and the management addresses of the devices in `store`
    (built once per topology: an inventory change, addresses included, builds a new one)."""
    found = _CACHE.get(index.topology)
    if found is None:
        addresses = [a for q in _DEVICE_ADDRESSES for r in await store.read(q) for a in r["addresses"] or ()]
        found = _CACHE[index.topology] = TenantText(index, addresses)
    return found


# --- audit entries ------------------------------------------------------------------------------------

_PROVIDER_ROLES = frozenset(r.value for r in Role if r.is_provider)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _rewrite(value: Any, read: Any) -> Any:
    if isinstance(value, str):
        return read(value)
    if isinstance(value, dict):
        return {k: _rewrite(v, read) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, read) for v in value]
    return value


def tenant_entry(entry: AuditEntry, text: TenantText, keep: Set[str], vlans: Set[int]) -> AuditEntry:
    """An audit entry of a tenant's log as the tenant reads it. Entries of its own requests and of the
    lifecycle acting on its clusters hold its own words (its arguments, its nodes): those, and the names
    they hold, are read as they are; a provider's arguments go through the rule like any text."""
    variables_json = entry.variables_json
    variables = json.loads(variables_json)
    if entry.role in _PROVIDER_ROLES:
        variables_json = json.dumps(_rewrite(variables, lambda s: text.read(s, keep, vlans)), sort_keys=True)
    else:
        keep = frozenset(keep) | words_of(_strings(variables))
        vlans = frozenset(vlans) | _numbers(variables)
    detail = text.read(entry.detail, keep, vlans)
    return dataclasses.replace(entry, variables_json=variables_json, detail=detail)


def _numbers(value: Any) -> set[int]:
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, dict):
        return {n for v in value.values() for n in _numbers(v)}
    if isinstance(value, list):
        return {n for v in value for n in _numbers(v)}
    return set()
