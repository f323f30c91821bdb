"""Who is calling: the storefront's buyer session, else the buyer's address."""

from __future__ import annotations

from dataclasses import dataclass

from prichal.domain.client_ids import verified_client_id

from .app import Request


@dataclass(frozen=True, slots=True)
class Client:
    id: str  # owns a hold (create-order must come from the same id): the header as sent, else the address
    holder: str  # what per-buyer limits count: ``id:<id>`` when the storefront signed it, else ``ip:<address>``
    address: str | None


def client_id(request: Request, header: str) -> str:
    """The storefront passes its session id in ``header``; without it the client address
    (through trusted proxies) identifies the buyer."""
    return (request.header(header) or "").strip()[:128] or request.client_ip or "unknown"


def client_of(request: Request, header: str) -> Client:
    """The caller, for a tenant's request. Only an id signed with the tenant's storefront key
    gets limits of its own; any other id counts as its address, whatever it says."""
    sent = (request.header(header) or "").strip()[:128]
    signed = verified_client_id(request.tenant.storefront_key, request.tenant.slug, sent) if sent else None
    address = request.client_ip
    holder = f"id:{signed}" if signed else f"ip:{address or 'unknown'}"
    return Client(id=sent or address or "unknown", holder=holder, address=address)
