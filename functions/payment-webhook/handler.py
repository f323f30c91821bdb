"""payment-webhook: notifications from YooKassa and from the sandbox provider.

``POST /{provider}/{tenant}/{token}`` — each tenant's shop is configured to notify its own
URL, whose token (``prichal.domain.webhook_tokens``, printed by ``prichal.admin webhook-url``)
is a second factor beside the source address: without the right one the answer is the 404
of an unknown tenant and nothing changes. Nothing in the body is believed: the source address
is checked against the provider's allowlist, the notification is recorded, and the payment
is re-read from the provider (``prichal.services.payments``). 200 means "recorded and
handled"; anything else makes the provider deliver again.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prichal.adapters.payments.registry import accepted_providers
from prichal.bootstrap import container, function_app
from prichal.domain.errors import InvalidInput, NotFound, TenantUnknown
from prichal.domain.webhook_tokens import token_matches
from prichal.entrypoints.app import Request
from prichal.entrypoints.openapi import JSON, Media, describe

app = function_app("payment-webhook", "Payment notifications",
                   "Receives provider notifications and applies the re-read payment state.")


class NotifiedObject(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1)


class Notification(BaseModel):
    """YooKassa's notification; only ``event`` and ``object.id`` are read, the rest is re-read."""

    model_config = ConfigDict(extra="allow")
    type: Literal["notification"]
    event: Literal["payment.succeeded", "payment.waiting_for_capture", "payment.canceled", "refund.succeeded"]
    object: NotifiedObject


class Handled(BaseModel):
    status: str
    outcome: str = Field(description="what the re-read state did: paid, no-change, stale, unknown-payment, ...")


@app.route("POST", "/{provider}/{tenant_slug}/{token}", tenant=False, response=Handled,
           errors=(400, 403, 404, 422, 503))
@describe(body=Media(JSON, Notification))
def notify(request: Request, provider: str, tenant_slug: str, token: str) -> dict:
    """A provider notification (YooKassa format) to the tenant's secret URL."""
    c = container()
    if provider not in accepted_providers(c.settings):  # mock only in sandbox mode
        raise NotFound(f"no provider {provider!r} here")
    if not token_matches(c.settings.webhook_url_key, provider, tenant_slug, token):
        raise TenantUnknown(f"no tenant {tenant_slug!r}")  # the same answer as a tenant that does not exist
    c.payments.check_source(provider, request.client_ip)
    tenant = c.tenants.by_slug(tenant_slug)
    if tenant is None:
        raise TenantUnknown(f"no tenant {tenant_slug!r}")
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("the notification is not JSON") from exc
    outcome = c.payments.handle_notification(tenant, provider, body, request.client_ip)
    return {"status": "ok", "outcome": outcome}


handle = app.openfaas_handler
main = app.functions_framework_target
