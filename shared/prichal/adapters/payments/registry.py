"""Which provider serves a tenant, with its credentials.

``mock`` is the sandbox (the ``mock-payments`` function) with the tenant's slug as shop id;
``yookassa`` uses the tenant's ``payment_settings`` — ``shop_id``, ``secret_name`` (the
name of an OpenFaaS secret, e.g. ``yookassa-demo``, or of an environment variable
``YOOKASSA_DEMO``) and optionally ``api_url`` (a YooKassa-compatible server). The secret key
is never stored in the database.
"""

from __future__ import annotations

import os
from pathlib import Path

from prichal.config import DEFAULT_SECRETS_DIR, Settings
from prichal.domain.errors import Unavailable
from prichal.domain.tenants import Tenant

from .base import PaymentProvider
from .yookassa import YooKassaClient

PROVIDERS = ("mock", "yookassa")
# Provider calls happen inside requests (15 s function timeout): fail fast, and let the
# caller retry with the same idempotence key rather than wait out a long backoff.
REQUEST_PATH_LIMITS = {"timeout": 5.0, "max_attempts": 3}


class PaymentNotConfigured(Unavailable):
    code = "payment-not-configured"
    title = "Payments are not configured for this seller"


def read_secret(name: str) -> str | None:
    """An OpenFaaS secret file, else an environment variable of the same name."""
    path = Path(os.environ.get("SECRETS_DIR", DEFAULT_SECRETS_DIR)) / name
    if path.is_file():
        return path.read_text().strip()
    return os.environ.get(name.upper().replace("-", "_"))


def provider_for(tenant: Tenant, settings: Settings, provider: str | None = None) -> PaymentProvider:
    name = provider or tenant.payment_provider
    if name == "mock":
        return YooKassaClient(settings.mock_payments_api_url, tenant.slug, settings.mock_payments_secret,
                              **REQUEST_PATH_LIMITS)
    if name == "yookassa":
        config = tenant.payment_settings
        secret = read_secret(config.get("secret_name", "")) if config.get("secret_name") else None
        if not config.get("shop_id") or not secret:
            raise PaymentNotConfigured("the seller has no YooKassa shop id or secret key configured",
                                       provider=name)
        return YooKassaClient(config.get("api_url") or settings.yookassa_api_url, str(config["shop_id"]), secret,
                              **REQUEST_PATH_LIMITS)
    raise PaymentNotConfigured(f"unknown payment provider {name!r}", provider=name)


def webhook_allowlist(provider: str, settings: Settings) -> str:
    return settings.yookassa_webhook_allowlist if provider == "yookassa" else settings.mock_webhook_allowlist
