"""The secret part of a tenant's webhook URL: ``/<provider>/<tenant slug>/<token>``.

A second factor beside the provider's source addresses: the token is an HMAC-SHA256 of
the provider and the tenant slug under a server key (setting ``webhook_url_key``), so it
cannot be guessed, needs no storage, and changes for every tenant when the key changes.
The admin CLI prints the URL to configure in the provider's cabinet.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode


def webhook_token(key: str, provider: str, tenant_slug: str) -> str:
    """43 URL-safe characters (256 bits)."""
    digest = hmac.new(key.encode(), f"{provider}\n{tenant_slug}".encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_matches(key: str, provider: str, tenant_slug: str, token: str) -> bool:
    """Compared in constant time; an empty key never matches."""
    if not key:
        return False
    return hmac.compare_digest(webhook_token(key, provider, tenant_slug).encode(), token.encode())
