"""The shop's ``return_url``: checked when a payment is created, sent as an ASCII URI.

A storefront may pass an IRI (``https://магазин.рф/заказ/7?имя=Анна``): HTTP headers are
ASCII, so the ``Location`` the buyer is sent back with carries the host in IDNA (punycode)
and everything else percent-encoded as UTF-8 (RFC 3987, section 3.1); escapes already in the
URL are kept. Control characters are refused when the payment is created (they could split
the header), as is anything but an absolute http(s) URL (the page links to it as well).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit, urlunsplit

import idna

_HOST = re.compile(r"[a-z0-9._-]+")
# RFC 3986 reserved characters and "%" stay as they are; everything else is percent-encoded.
_SAFE = "!#$%&'()*+,/:;=?@[]~"


def as_uri(url: str) -> str:
    """``url`` as an ASCII URI; ``ValueError`` saying why it cannot be a return URL."""
    if any(unicodedata.category(char) == "Cc" for char in url):
        raise ValueError("must not contain control characters")
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is no number, an unclosed [IPv6
        raise ValueError(f"is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValueError("must be an absolute http or https URL")
    if ":" in host:
        host = f"[{host}]"
    elif not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"has a host name that cannot be encoded: {exc}") from exc
    if not host.startswith("[") and not _HOST.fullmatch(host):
        raise ValueError("has an invalid host name")
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = (quote(userinfo, safe=_SAFE) + "@" if userinfo else "") + host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme.lower(), netloc, quote(parts.path, safe=_SAFE), quote(parts.query, safe=_SAFE),
                       quote(parts.fragment, safe=_SAFE)))


def location(url: str | None) -> str | None:
    """Where to send the buyer back to; ``None`` without a usable return URL (one stored before
    it was checked), so a buyer who has paid sees the outcome instead of an error."""
    if not url:
        return None
    try:
        return as_uri(url)
    except ValueError:
        return None
