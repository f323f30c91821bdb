"""client_address(): the hops-th X-Forwarded-For entry from the right, or the peer; None when unsure."""

from __future__ import annotations

import pytest

from prichal.entrypoints.client_address import (
    address_in,
    client_address,
    parse_address,
    parse_networks,
    via_trusted_proxy,
)

TRUSTED = parse_networks("127.0.0.1/32, ::1/128, 10.0.0.0/8, fd00::/8")


def test_parse_networks():
    assert [str(n) for n in parse_networks("10.1.2.3/8,  ::1 ,")] == ["10.0.0.0/8", "::1/128"]
    assert parse_networks("") == ()


@pytest.mark.parametrize(("text", "expected"), [
    ("1.2.3.4", "1.2.3.4"), (" 1.2.3.4 ", "1.2.3.4"), ("1.2.3.4:5678", "1.2.3.4"),
    ("::1", "::1"), ("[::1]:80", "::1"), ("[2001:db8::7]", "2001:db8::7"), ("::ffff:127.0.0.1", "127.0.0.1"),
    ("1.2.3.4:", None), ("1.2.3.4:port", None), ("[::1]x", None), ("[::1", None), ("not-an-ip", None),
    ("", None), (None, None), ("1.2.3.4:5678:9", None), ("1.2.3.4:١٢", None),
])
def test_parse_address_strips_ports_and_refuses_garbage(text, expected):
    assert parse_address(text) == expected


# --- OpenFaaS: the watchdog is the peer, so the runtime knows none -------------------------
def test_the_issue_spoof_no_longer_passes():
    # the client sent "X-Forwarded-For: 185.71.76.1"; the edge replaced it with the real address
    assert client_address(None, "203.0.113.7", 1, TRUSTED) == "203.0.113.7"
    # an edge that appends: the client's claim stays on the left and is ignored
    assert client_address(None, "185.71.76.1, 203.0.113.7", 1, TRUSTED) == "203.0.113.7"


def test_hops_are_counted_from_the_right():
    assert client_address(None, "6.6.6.6, 198.51.100.1, 10.0.0.2", 2, TRUSTED) == "198.51.100.1"


def test_the_openfaas_gateway_writes_its_peer_with_a_port():
    assert client_address(None, "198.51.100.1:41234", 1, TRUSTED) == "198.51.100.1"
    assert client_address(None, "[2001:db8::7]:41234", 1, TRUSTED) == "2001:db8::7"


@pytest.mark.parametrize(("chain", "hops"), [(None, 1), ("", 1), (" , ", 1), ("198.51.100.1", 2),
                                             ("198.51.100.1, not-an-ip", 1), ("198.51.100.1, ", 1)])
def test_fails_closed(chain, hops):
    assert client_address(None, chain, hops, TRUSTED) is None


def test_without_proxies_and_without_a_peer_nothing_is_known():
    # TRUSTED_PROXY_HOPS=0 under OpenFaaS: the header is the client's own word
    assert client_address(None, "185.71.76.1", 0, TRUSTED) is None


# --- functions-framework: the peer is known --------------------------------------------------
def test_direct_serving_believes_only_the_peer():
    assert client_address("203.0.113.7", "185.71.76.1", 0, TRUSTED) == "203.0.113.7"
    assert client_address("127.0.0.1", "185.71.76.1", 0, TRUSTED) == "127.0.0.1"
    assert client_address("[::1]:80", None, 0, TRUSTED) == "::1"


def test_behind_a_trusted_proxy_its_entry_counts():
    assert client_address("10.0.0.5", "185.71.76.1, 198.51.100.1", 1, TRUSTED) == "198.51.100.1"
    assert client_address("::ffff:127.0.0.1", "198.51.100.1", 1, TRUSTED) == "198.51.100.1"


def test_a_peer_that_bypassed_the_proxies_is_the_client():
    assert client_address("203.0.113.7", "185.71.76.1", 1, TRUSTED) == "203.0.113.7"


def test_forwarded_headers_count_only_through_trusted_proxies():
    assert via_trusted_proxy(None, 1, TRUSTED)
    assert via_trusted_proxy("10.0.0.5", 1, TRUSTED)
    assert not via_trusted_proxy("203.0.113.7", 1, TRUSTED)
    assert not via_trusted_proxy("127.0.0.1", 0, TRUSTED)
    assert not via_trusted_proxy(None, 0, TRUSTED)


def test_address_in():
    assert address_in("10.1.2.3:80", TRUSTED) and address_in("::ffff:10.1.2.3", TRUSTED)
    assert not address_in("garbage", TRUSTED) and not address_in(None, TRUSTED)
