"""documents: an order's documents with short-lived download links, and the ticket key.

``GET /orders/{order_id}/documents`` answers the buyer (``Authorization: Bearer <order
access token>``) and staff with ``orders.read`` (``Authorization: Bearer <staff token>``: a
session of ``POST /function/crm/login`` or an API token, see ``prichal.entrypoints.staff``).
``GET /ticket-key`` publishes the Ed25519 public key scanners verify QR codes with.
"""

from __future__ import annotations

from base64 import b64encode
from datetime import date
from typing import Any

from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, Field

from prichal.bootstrap import container, function_app
from prichal.domain.documents import DocumentKind
from prichal.domain.staff import Permission
from prichal.domain.ticket_codes import PREFIX, public_key_pem
from prichal.entrypoints.app import Request
from prichal.entrypoints.openapi import describe
from prichal.entrypoints.staff import bearer_token, require_staff
from prichal.services.staff_auth import is_staff_token

app = function_app("documents", "Documents", "E-tickets, invoices and acts of an order; the ticket signing key.")


class DocumentView(BaseModel):
    kind: DocumentKind
    number: str
    issued_on: date
    status: str = Field(description="pending (recorded, not stored yet) or stored")
    sha256: str | None
    size: int | None
    url: str | None = Field(description="a presigned download link; null while the document is not stored")
    s3_key: str | None = Field(default=None, description="staff only")


class EmailView(BaseModel):
    status: str = Field(description="pending, sending, sent or failed")
    sent_at: str | None = Field(description="when the server accepted it")
    attempts: int
    recipient: str | None = Field(default=None, description="staff only")
    last_error: str | None = Field(default=None, description="staff only")


class OrderDocuments(BaseModel):
    order_id: str
    expires_in: int = Field(description="seconds the links stay valid")
    documents: list[DocumentView]
    email: EmailView | None


class TicketKey(BaseModel):
    algorithm: str
    kid: str
    public_key: str = Field(description="base64 of the raw 32-byte Ed25519 public key")
    public_key_pem: str
    format: str
    claims: str


def _authorise(request: Request, order_id: str) -> str:
    """``buyer`` or ``staff``; the buyer's token is checked by the checkout service."""
    assert request.tenant is not None
    token = bearer_token(request)
    if is_staff_token(token):
        require_staff(request, Permission.ORDERS_READ)  # 401 / 403
        return "staff"
    container().checkout.read(request.tenant, order_id, token)  # NotFound / Forbidden
    return "buyer"


@app.route("GET", "/orders/{order_id}/documents", response=OrderDocuments, errors=(401, 403, 404))
@describe(security=("orderToken", "staffToken"))
def order_documents(request: Request, order_id: str) -> dict[str, Any]:
    """The order's documents with presigned download URLs (buyer token or staff token)."""
    who = _authorise(request, order_id)
    c = container()
    links, email = c.documents.list(request.tenant, order_id)
    answer: dict[str, Any] = {
        "order_id": order_id,
        "expires_in": c.settings.document_url_expiry_seconds,
        "documents": [{"kind": link.document.kind.value, "number": link.document.display_number,
                       "issued_on": link.document.issued_on.isoformat(), "status": link.document.status,
                       "sha256": link.document.sha256, "size": link.document.size, "url": link.url,
                       **({"s3_key": link.document.s3_key} if who == "staff" else {})}
                      for link in links],
        "email": None if email is None else {"status": email.status, "sent_at": email.sent_at,
                                             "attempts": email.attempts},
    }
    if who == "staff" and email is not None:
        answer["email"].update(recipient=email.recipient, last_error=email.last_error)
    return answer


@app.route("GET", "/ticket-key", tenant=False, response=TicketKey)
def ticket_key(request: Request) -> dict[str, Any]:
    """The Ed25519 public key that verifies e-ticket QR codes offline."""
    signer = container().ticket_signer
    raw = signer.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"algorithm": "Ed25519", "kid": signer.kid, "public_key": b64encode(raw).decode(),
            "public_key_pem": public_key_pem(signer.public_key),
            "format": f"{PREFIX}.<base64url packed claims>.<base64url signature of '{PREFIX}.<claims>'>",
            "claims": "kid 8 bytes | ticket UUID 16 | sailing UUID 16 | order u32 | departure u32 minutes since "
                      "1970 UTC | UTC offset i16 minutes | tenant slug u8 length + UTF-8 | seat id u8 length + "
                      "UTF-8 (empty: free seating); big-endian"}


handle = app.openfaas_handler
main = app.functions_framework_target
