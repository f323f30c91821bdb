"""Storefront client ids signed with the tenant's storefront key.

A storefront names each buyer session with ``X-Client-Id``. Anyone can send any id, so an
id counts as a buyer of its own (own hold and order limits) only when the storefront
signed it::

    X-Client-Id: <id>.<signature>
    id         1-64 characters of A-Z a-z 0-9 _ -
    signature  base64url, no padding, of HMAC-SHA256(storefront key, "v1\\n<tenant slug>\\n<id>")

The key is the tenant's secret (``python -m prichal.admin storefront-key <slug>``). An
unsigned or badly signed id is not an error: the buyer is then known by its address.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import urlsafe_b64encode

CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SIGNATURE_LENGTH = 43  # base64url of 32 bytes, unpadded


def client_id_signature(key: str, tenant_slug: str, client_id: str) -> str:
    digest = hmac.new(key.encode(), f"v1\n{tenant_slug}\n{client_id}".encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).decode().rstrip("=")


def sign_client_id(key: str, tenant_slug: str, client_id: str) -> str:
    """The header value a storefront sends for one buyer session."""
    if not CLIENT_ID.fullmatch(client_id):
        raise ValueError("a client id is 1-64 characters of A-Z a-z 0-9 _ -")
    return f"{client_id}.{client_id_signature(key, tenant_slug, client_id)}"


def verified_client_id(key: str | None, tenant_slug: str, value: str) -> str | None:
    """The id inside a correctly signed header value, else ``None`` (compared in constant time)."""
    client_id, dot, signature = value.rpartition(".")
    if not key or not dot or len(signature) != _SIGNATURE_LENGTH or not CLIENT_ID.fullmatch(client_id):
        return None
    expected = client_id_signature(key, tenant_slug, client_id)
    return client_id if hmac.compare_digest(expected.encode(), signature.encode()) else None
