"""Where a buyer may be sent back after paying: only to the seller's own storefront.

A return URL given at create-order is refused unless its host is one of the tenant's hosts
and its scheme is https (http only for ``localhost`` / ``127.0.0.1`` on a development
installation). It is rebuilt from its checked parts — IDNA host, percent-encoded path,
query and fragment — so what reaches the provider and a ``Location`` header is plain ASCII
and says exactly what was checked (no user info, no backslash or control character tricks).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from .errors import InvalidInput

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
MAX_LENGTH = 2048
# Control characters (C0, DEL, C1), whitespace and backslashes are refused outright.
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f-\x9f\\\u2028\u2029]")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986 characters kept as they are (with "%" of existing escapes); the rest is encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


class ReturnUrlRefused(InvalidInput):
    code = "return-url-refused"
    title = "The return URL is not on this seller's storefront"


def _refuse(reason: str, message: str) -> ReturnUrlRefused:
    return ReturnUrlRefused(f"return_url: {message}", errors=[
        {"loc": ["return_url"], "type": reason, "msg": message}])


def idna_host(host: str) -> str | None:
    """``host`` in its ASCII (IDNA) form, lowercase; None when it is no valid host name."""
    try:
        return host.rstrip(".").encode("idna").decode("ascii").lower() or None
    except UnicodeError:
        return None


def _encode(part: str, safe: str) -> str:
    return quote(_STRAY_PERCENT.sub("%25", part), safe=safe)


def checked_return_url(url: str, hosts: tuple[str, ...] | list[str], allow_local_http: bool = False) -> str:
    """The normalised URL, or ``ReturnUrlRefused`` (422, naming the field ``return_url``)."""
    if _FORBIDDEN.search(url):
        raise _refuse("return_url_characters", "control characters, spaces and backslashes are not allowed")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse("return_url_syntax", "not a valid URL") from exc
    if parts.username is not None or parts.password is not None:
        raise _refuse("return_url_userinfo", "a return URL carries no user name or password")
    host = idna_host(parts.hostname or "")
    if host is None or ":" in host:  # no IPv6 literals: a storefront has a name
        raise _refuse("return_url_syntax", "the URL has no valid host")
    allowed = {idna_host(h) for h in hosts} - {None}
    if host not in allowed:
        raise _refuse("return_url_host", "the host must be one of the seller's storefront hosts")
    scheme = parts.scheme.lower()
    if not (scheme == "https" or (scheme == "http" and allow_local_http and host in LOCAL_HOSTS)):
        raise _refuse("return_url_scheme", "use https" + (" (http only for localhost)" if allow_local_http else ""))
    netloc = host if port is None else f"{host}:{port}"
    normalised = f"{scheme}://{netloc}{_encode(parts.path, _PATH_SAFE) or '/'}"
    if parts.query:
        normalised += "?" + _encode(parts.query, _QUERY_SAFE)
    if parts.fragment:
        normalised += "#" + _encode(parts.fragment, _QUERY_SAFE)
    if len(normalised) > MAX_LENGTH:
        raise _refuse("return_url_length", f"at most {MAX_LENGTH} characters once encoded")
    return normalised
