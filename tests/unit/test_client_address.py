"""client_address(): the first untrusted hop, walking X-Forwarded-For from the nearest hop."""

from __future__ import annotations

import pytest

from prichal.entrypoints.client_address import client_address, parse_networks

TRUSTED = parse_networks("127.0.0.1/32, ::1/128, 10.0.0.0/8, fd00::/8")


def test_parse_networks():
    assert [str(n) for n in parse_networks("10.1.2.3/8,  ::1 ,")] == ["10.0.0.0/8", "::1/128"]
    assert parse_networks("") == ()


def test_untrusted_peer_is_the_client_whatever_it_claims():
    assert client_address("203.0.113.7", "198.51.100.1", TRUSTED) == "203.0.113.7"


def test_trusted_peer_passes_on_the_forwarded_client():
    assert client_address("10.0.0.5", "198.51.100.1", TRUSTED) == "198.51.100.1"


def test_walks_through_several_trusted_proxies():
    assert client_address("127.0.0.1", "198.51.100.1, 10.0.0.9, 10.0.0.8", TRUSTED) == "198.51.100.1"


def test_spoofed_leftmost_entries_are_ignored():
    # the client sent "X-Forwarded-For: 1.1.1.1, 2.2.2.2"; our proxy appended the real address
    assert client_address("10.0.0.5", "1.1.1.1, 2.2.2.2, 198.51.100.1", TRUSTED) == "198.51.100.1"


def test_without_a_peer_the_chain_is_walked_from_the_right():
    # OpenFaaS: the watchdog is the peer, so only the gateway's chain is known
    assert client_address(None, "1.1.1.1, 198.51.100.1, 10.0.0.2", TRUSTED) == "198.51.100.1"


def test_all_trusted_gives_the_leftmost():
    assert client_address("127.0.0.1", "10.0.0.3, 10.0.0.2", TRUSTED) == "10.0.0.3"


def test_no_information():
    assert client_address(None, None, TRUSTED) is None
    assert client_address(None, " , ", TRUSTED) is None


def test_peer_only():
    assert client_address("127.0.0.1", None, TRUSTED) == "127.0.0.1"
    assert client_address("198.51.100.1", "", TRUSTED) == "198.51.100.1"


def test_garbage_hop_is_never_trusted():
    assert client_address("10.0.0.5", "198.51.100.1, not-an-ip", TRUSTED) == "not-an-ip"


@pytest.mark.parametrize(("peer", "chain", "expected"), [
    ("::1", "2001:db8::7", "2001:db8::7"),
    ("fd00::5", "2001:db8::1, 2001:db8::7, fd00::4", "2001:db8::7"),
    ("2001:db8::9", "198.51.100.1", "2001:db8::9"),
    ("::1", "198.51.100.1", "198.51.100.1"),  # mixed families
])
def test_ipv6(peer, chain, expected):
    assert client_address(peer, chain, TRUSTED) == expected


def test_ipv4_mapped_peer_of_a_trusted_proxy_is_trusted():
    assert client_address("::ffff:127.0.0.1", "198.51.100.1", TRUSTED) == "198.51.100.1"
