"""Which provider serves a tenant, with its credentials.

``mock`` is the sandbox (the ``mock-payments`` function) with the tenant's slug as shop id,
accepted only in sandbox mode (``Settings.sandbox``: its public page marks any order paid);
``yookassa`` uses the tenant's ``payment_settings`` — ``shop_id``, ``secret_name`` (the
name of the tenant's key: an entry of the OpenFaaS secret ``yookassa-keys``, a secret file
of its own, e.g. ``yookassa-demo``, or an environment variable ``YOOKASSA_DEMO``; see
``prichal.config.read_secret``) and optionally ``api_url`` (a YooKassa-compatible server).
The secret key is never stored in the database. A tenant without a provider cannot sell.
"""

from __future__ import annotations

from prichal.config import Settings, read_secret
from prichal.domain.errors import Unavailable
from prichal.domain.tenants import Tenant

from .base import PaymentProvider
from .yookassa import YooKassaClient

PROVIDERS = ("mock", "yookassa")
# One secret holds every tenant's YooKassa key (JSON object or name=key lines by secret_name).
YOOKASSA_KEYS = "yookassa-keys"
# Provider calls happen inside requests (15 s function timeout): fail fast, and let the
# caller retry with the same idempotence key rather than wait out a long backoff.
REQUEST_PATH_LIMITS = {"timeout": 5.0, "max_attempts": 3}


class PaymentNotConfigured(Unavailable):
    code = "payment-not-configured"
    title = "Payments are not configured for this seller"


def accepted_providers(settings: Settings) -> tuple[str, ...]:
    """Providers this installation works with: ``mock`` only in sandbox mode."""
    return PROVIDERS if settings.sandbox else tuple(name for name in PROVIDERS if name != "mock")


def provider_for(tenant: Tenant, settings: Settings, provider: str | None = None) -> PaymentProvider:
    """The client for ``provider`` (default: the tenant's), or ``PaymentNotConfigured``
    with the list of what is ``missing``."""
    name = provider or tenant.payment_provider
    if not name:
        raise PaymentNotConfigured("the seller has no payment provider yet", missing=["payment_provider"])
    if name == "mock" and not settings.sandbox:
        raise PaymentNotConfigured("mock is the sandbox provider, accepted only in sandbox mode (PAYMENTS_SANDBOX)",
                                   provider=name, missing=["payment_provider"])
    if name == "mock":
        return YooKassaClient(settings.mock_payments_api_url, tenant.slug, settings.mock_payments_secret,
                              **REQUEST_PATH_LIMITS)
    if name == "yookassa":
        config = tenant.payment_settings
        secret = read_secret(config["secret_name"], bundle=YOOKASSA_KEYS) if config.get("secret_name") else None
        if not config.get("shop_id") or not secret:
            raise PaymentNotConfigured("the seller has no YooKassa shop id or secret key configured",
                                       provider=name, missing=_missing(config, secret))
        return YooKassaClient(config.get("api_url") or settings.yookassa_api_url, str(config["shop_id"]), secret,
                              **REQUEST_PATH_LIMITS)
    raise PaymentNotConfigured(f"unknown payment provider {name!r}", provider=name, missing=["payment_provider"])


def _missing(config: dict, secret: str | None) -> list[str]:
    missing = [key for key in ("shop_id", "secret_name") if not config.get(key)]
    if config.get("secret_name") and not secret:
        missing.append(f"secret key {config['secret_name']!r} (in secret {YOOKASSA_KEYS} or a secret of that name)")
    return missing


def webhook_allowlist(provider: str, settings: Settings) -> str:
    return settings.yookassa_webhook_allowlist if provider == "yookassa" else settings.mock_webhook_allowlist
