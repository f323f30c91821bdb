"""Which provider account serves a tenant, and a client for a payment's stored account.

A new payment takes the tenant's current account (``account_for``) and keeps it; every
later call for that payment (re-read, capture, cancel, refund) builds its client from the
stored account (``client_for``), so switching a tenant's provider never strands payments
in flight.

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
from prichal.domain.orders import PaymentAccount
from prichal.domain.tenants import Tenant

from .base import PaymentProvider
from .yookassa import YooKassaClient

PROVIDERS = ("mock", "yookassa")
# Provider calls happen inside requests: fail fast, and let the caller retry with the same
# idempotence key rather than wait out a long backoff. All attempts of one request end
# within ``Settings.payment_call_budget_seconds`` (see deadline.py).
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


def account_for(tenant: Tenant) -> PaymentAccount:
    """The account a new payment of ``tenant`` is made with: its current settings, as a
    reference the payment keeps (the secret's name, never the secret)."""
    name = tenant.payment_provider
    if name == "mock":
        return PaymentAccount("mock", shop_id=tenant.slug)
    if name == "yookassa":
        config = tenant.payment_settings
        return PaymentAccount("yookassa", shop_id=str(config.get("shop_id") or "") or None,
                              secret_name=config.get("secret_name") or None, api_url=config.get("api_url") or None)
    raise PaymentNotConfigured(f"unknown payment provider {name!r}", provider=name)


def client_for(account: PaymentAccount, settings: Settings) -> PaymentProvider:
    """A client for the account a payment was made with (the secret key is looked up by name
    now, so a rotated key is picked up; the database never holds it)."""
    if account.provider == "mock":
        return YooKassaClient(account.api_url or settings.mock_payments_api_url, account.shop_id or "",
                              settings.mock_payments_secret, budget=settings.payment_call_budget_seconds,
                              **REQUEST_PATH_LIMITS)
    if account.provider == "yookassa":
        secret = read_secret(account.secret_name) if account.secret_name else None
        if not account.shop_id or not secret:
            raise PaymentNotConfigured("the seller has no YooKassa shop id or secret key configured",
                                       provider=account.provider)
        return YooKassaClient(account.api_url or settings.yookassa_api_url, account.shop_id, secret,
                              budget=settings.payment_call_budget_seconds, **REQUEST_PATH_LIMITS)
    raise PaymentNotConfigured(f"unknown payment provider {account.provider!r}", provider=account.provider)


def provider_for(tenant: Tenant, settings: Settings) -> PaymentProvider:
    """A client for the tenant's current account (what a new payment would use)."""
    return client_for(account_for(tenant), settings)


def webhook_allowlist(provider: str, settings: Settings) -> str:
    return settings.yookassa_webhook_allowlist if provider == "yookassa" else settings.mock_webhook_allowlist
