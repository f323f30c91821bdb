"""The client's address behind proxies: trust X-Forwarded-For only through trusted hops."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def parse_networks(spec: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def address_in(address: str | None, trusted: tuple[Network, ...]) -> bool:
    """Whether an address lies in one of the networks (IPv4-mapped IPv6 counts as IPv4)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:  # 127.0.0.1 seen on a dual-stack socket
        ip = ip.ipv4_mapped
    return any(ip in net for net in trusted)


@lru_cache(maxsize=4096)
def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str | None:
    """Walk the chain from the nearest hop outwards; the first untrusted hop is the client.

    ``peer`` is the address that connected to us (unknown under OpenFaaS, where the
    watchdog is the peer: then the gateway's X-Forwarded-For is the chain).
    """
    chain = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    if peer:
        chain.append(peer)
    if not chain:
        return None
    if peer and not address_in(peer, trusted):
        return peer
    for hop in reversed(chain):
        if not address_in(hop, trusted):
            return hop
    return chain[0]
