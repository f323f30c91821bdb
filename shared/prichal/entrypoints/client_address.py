"""The client's address behind proxies, counted in hops from the right, failing closed.

Every proxy in front of a function adds the address of whoever connected to it to the end
of ``X-Forwarded-For``; an edge proxy that does not trust its client first throws the
client's own header away. With ``hops`` proxies of ours in front (setting
``trusted_proxy_hops``) the client is therefore the ``hops``-th entry from the right; with
0 it is the connection's peer. Entries further left were written by the client and are
never believed. What each deployment sets is in README.md ("Client addresses and proxies").

functions-framework knows the peer; the OpenFaaS template does not (its peer is the
watchdog), so there only the header counts. A known peer outside ``trusted`` did not come
through our proxies: it is the client itself and its ``X-Forwarded-*`` claims are ignored.
Ports are stripped (``1.2.3.4:5678``, ``[::1]:80``: the OpenFaaS gateway writes its peer
with the port); anything unparseable, or a chain shorter than ``hops``, gives ``None``,
which every allowlist refuses.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def parse_networks(spec: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def parse_address(text: str | None) -> str | None:
    """``1.2.3.4``, ``1.2.3.4:5678``, ``::1``, ``[::1]:80`` -> the address; anything else -> None.

    IPv4-mapped IPv6 (``::ffff:127.0.0.1``, seen on dual-stack sockets) becomes IPv4.
    """
    text = (text or "").strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or (text[end + 1:] and not _is_port(text[end + 1:])):
            return None
        text = text[1:end]
    elif text.count(":") == 1:
        text, port = text.split(":")
        if not _is_port(":" + port):
            return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip)


def _is_port(suffix: str) -> bool:
    return suffix.startswith(":") and suffix[1:].isdigit() and suffix[1:].isascii() and len(suffix) <= 6


def address_in(address: str | None, trusted: tuple[Network, ...]) -> bool:
    """Whether an address lies in one of the networks (IPv4-mapped IPv6 counts as IPv4)."""
    parsed = parse_address(address)
    if parsed is None:
        return False
    ip = ipaddress.ip_address(parsed)
    return any(ip in net for net in trusted)


def via_trusted_proxy(peer: str | None, hops: int, trusted: tuple[Network, ...]) -> bool:
    """Whether the request came through our proxies, so that their ``X-Forwarded-*`` headers count."""
    return hops > 0 and (peer is None or address_in(peer, trusted))


@lru_cache(maxsize=4096)
def client_address(peer: str | None, forwarded_for: str | None, hops: int,
                   trusted: tuple[Network, ...]) -> str | None:
    """The client: the peer itself, or the ``hops``-th ``X-Forwarded-For`` entry from the right."""
    if not via_trusted_proxy(peer, hops, trusted):
        return parse_address(peer)
    chain = [hop.strip() for hop in (forwarded_for or "").split(",")]
    if chain == [""]:
        return None
    if len(chain) < hops:
        return None
    return parse_address(chain[-hops])
