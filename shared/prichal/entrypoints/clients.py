"""Who is calling: the storefront's buyer session, else the buyer's address."""

from __future__ import annotations

from .app import Request


def client_id(request: Request, header: str) -> str:
    """The storefront passes its session id in ``header``; without it the client address
    (through trusted proxies) identifies the buyer."""
    return (request.header(header) or "").strip()[:128] or request.client_ip or "unknown"
