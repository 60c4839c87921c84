"""The Q-BRIDGE PortList codec: MSB of the first octet is bridge port 1."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metalgraph.drivers.snmp import portlist


def test_first_bit_is_bridge_port_one() -> None:
    assert portlist.decode(b"\x80") == {1}
    assert portlist.decode(b"\x01") == {8}
    assert portlist.decode(b"\x00\x80") == {9}


def test_decode_a_leaf_vlan() -> None:
    # VLAN 20 of the test leaf: untagged 3, 4, 7 and tagged 9, in a 4-octet list
    assert portlist.decode(bytes.fromhex("32800000")) == {3, 4, 7, 9}


def test_empty_and_short_lists() -> None:
    assert portlist.decode(b"") == frozenset()
    assert portlist.decode(b"\x00\x00\x00\x00") == frozenset()
    assert portlist.encode([]) == b""
    assert portlist.encode([], 4) == b"\x00\x00\x00\x00"


def test_encode_keeps_the_requested_length() -> None:
    assert portlist.encode([1, 9], 4) == bytes.fromhex("80800000")
    assert portlist.encode([16]) == b"\x00\x01"


def test_encode_refuses_ports_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        portlist.encode([17], 2)
    with pytest.raises(ValueError, match="start at 1"):
        portlist.encode([0])


def test_with_port_flips_one_bit_and_keeps_the_rest() -> None:
    original = bytes.fromhex("32800000")
    assert portlist.with_port(original, 1, True) == bytes.fromhex("b2800000")
    assert portlist.with_port(original, 3, False) == bytes.fromhex("12800000")
    assert portlist.with_port(original, 3, True) == original
    assert portlist.with_port(b"\x80", 12, True) == b"\x80\x10"  # grows only when needed


@settings(max_examples=50)
@given(st.sets(st.integers(min_value=1, max_value=4096), max_size=64), st.integers(min_value=0, max_value=8))
def test_round_trip(ports: set[int], slack: int) -> None:
    length = portlist.octets_needed(ports) + slack
    encoded = portlist.encode(ports, length)
    assert len(encoded) == length
    assert portlist.decode(encoded) == ports


@settings(max_examples=50)
@given(st.binary(max_size=64), st.integers(min_value=1, max_value=600), st.booleans())
def test_with_port_changes_only_that_port(octets: bytes, port: int, member: bool) -> None:
    result = portlist.decode(portlist.with_port(octets, port, member))
    assert (port in result) is member
    assert result - {port} == portlist.decode(octets) - {port}
