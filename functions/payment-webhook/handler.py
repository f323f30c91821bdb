"""payment-webhook: notifications from YooKassa and from the sandbox provider.

``POST /{provider}/{tenant}`` — each tenant's shop is configured to notify its own URL.
Nothing in the body is believed: the source address is checked against the provider's
allowlist, the notification is recorded, and the payment is re-read from the provider
(``prichal.services.payments``). 200 means "recorded and handled"; anything else makes
the provider deliver again.
"""

from __future__ import annotations

import json

from prichal.adapters.payments.registry import accepted_providers
from prichal.bootstrap import container, function_app
from prichal.domain.errors import InvalidInput, NotFound, TenantUnknown
from prichal.entrypoints.app import Request

app = function_app("payment-webhook", "Payment notifications",
                   "Receives provider notifications and applies the re-read payment state.")


@app.route("POST", "/{provider}/{tenant_slug}", tenant=False, errors=(400, 403, 404, 422, 503))
def notify(request: Request, provider: str, tenant_slug: str) -> dict:
    """A provider notification (YooKassa format)."""
    c = container()
    if provider not in accepted_providers(c.settings):  # mock only in sandbox mode
        raise NotFound(f"no provider {provider!r} here")
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
