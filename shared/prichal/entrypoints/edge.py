"""What a function believes about the way a request reached it, and what it refuses at the door.

- proxies: how many hops to trust (``client_address``) and from where ``X-Forwarded-Host``
  and the tenant header count;
- internal routes (the cron and event functions, ``/metrics``) answer only callers with the
  internal credential, ``Authorization: Bearer <internal_token>`` (401 without, 403 when
  wrong), unless the deployment says its network already keeps outsiders away;
- bodies: at most ``max_body_bytes`` (413), and JSON where a route reads JSON (415).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from . import problems
from .client_address import Network, parse_networks

JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class EdgePolicy:
    proxy_hops: int = 0
    trusted_proxies: str = ""
    internal_token: str | None = None
    internal_network_guarded: bool = False
    max_body_bytes: int = 1 << 20

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @classmethod
    def from_settings(cls, settings: Any) -> EdgePolicy:
        return cls(proxy_hops=settings.trusted_proxy_hops, trusted_proxies=settings.trusted_proxies,
                   internal_token=settings.internal_token,
                   internal_network_guarded=settings.internal_network_guarded,
                   max_body_bytes=settings.max_body_bytes)


def internal_refusal(authorization: str | None, policy: EdgePolicy) -> tuple[int, dict[str, Any]] | None:
    """None when the caller may use an internal route, else (status, problem body)."""
    if policy.internal_network_guarded:
        return None
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return 401, problems.problem(401, "internal-credential-required", "Internal route",
                                     "this route is for the platform's own callers: send "
                                     "Authorization: Bearer <internal token>")
    expected = policy.internal_token or ""
    if not expected or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return 403, problems.problem(403, "internal-credential-invalid", "Internal credential not valid",
                                     "the internal token is not valid")
    return None


def too_large(limit: int, size: int | None = None) -> dict[str, Any]:
    """413 body; ``size`` when known (a chunked body is not read past the limit)."""
    return problems.problem(413, "body-too-large", "Request body too large",
                            f"the body has more than {limit} bytes", {"max_bytes": limit, "size": size})


def is_json(content_type: str | None) -> bool:
    """``application/json`` or ``application/<anything>+json``, with parameters (charset) allowed."""
    media = (content_type or "").split(";")[0].strip().lower()
    return media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


def not_json(content_type: str | None) -> dict[str, Any]:
    return problems.problem(415, "unsupported-media-type", "Unsupported media type",
                            f"send the body as application/json, not {content_type or 'without a Content-Type'}",
                            {"accepted": ["application/json"]})
