"""The Q-BRIDGE-MIB `PortList` codec (RFC 4363): an OCTET STRING in which each octet holds eight
bridge ports, most significant bit first, so the first octet's top bit (0x80) is bridge port 1.

An agent may send a list shorter than its number of ports: missing trailing octets mean "not a
member". `encode` therefore takes the length to send (normally the length the agent reported).
"""

from __future__ import annotations

from collections.abc import Iterable


def decode(octets: bytes) -> frozenset[int]:
    """The bridge port numbers (from 1) whose bits are set."""
    ports: set[int] = set()
    for byte_index, byte in enumerate(octets):
        for bit in range(8):
            if byte & (0x80 >> bit):
                ports.add(byte_index * 8 + bit + 1)
    return frozenset(ports)


def octets_needed(ports: Iterable[int]) -> int:
    """The shortest list that can hold every port in `ports` (0 for none)."""
    highest = max(ports, default=0)
    return (highest + 7) // 8


def encode(ports: Iterable[int], length: int | None = None) -> bytes:
    """A list of exactly `length` octets (default: the shortest that fits) with `ports` set.

    Raises `ValueError` for a port below 1 or one that does not fit in `length` octets.
    """
    members = set(ports)
    if any(port < 1 for port in members):
        raise ValueError(f"bridge ports start at 1, got {sorted(members)}")
    size = octets_needed(members) if length is None else length
    if octets_needed(members) > size:
        raise ValueError(f"bridge port {max(members)} does not fit in {size} octets")
    buffer = bytearray(size)
    for port in members:
        buffer[(port - 1) // 8] |= 0x80 >> ((port - 1) % 8)
    return bytes(buffer)


def with_port(octets: bytes, port: int, member: bool) -> bytes:
    """`octets` with the bit of `port` set (`member`) or cleared, every other bit kept; the list
    grows only when a set bit does not fit."""
    ports = set(decode(octets))
    if member:
        ports.add(port)
    else:
        ports.discard(port)
    return encode(ports, max(len(octets), octets_needed(ports)))
