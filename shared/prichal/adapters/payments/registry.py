"""Which provider account serves a tenant, and a client for a payment's stored account.

A new payment takes the tenant's current account (``account_for``) and keeps it; every
later call for that payment (re-read, capture, cancel, refund) builds its client from the
stored account (``client_for``), so switching a tenant's provider never strands payments
in flight.

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
from prichal.domain.orders import PaymentAccount
from prichal.domain.tenants import Tenant

from .base import PaymentProvider
from .yookassa import YooKassaClient

PROVIDERS = ("mock", "yookassa")
# One secret holds every tenant's YooKassa key (JSON object or name=key lines by secret_name).
YOOKASSA_KEYS = "yookassa-keys"
# Provider calls happen inside requests: fail fast, and let the caller retry with the same
# idempotence key rather than wait out a long backoff. All attempts of one request end
# within ``Settings.payment_call_budget_seconds`` (see deadline.py).
REQUEST_PATH_LIMITS = {"timeout": 5.0, "max_attempts": 3}


class PaymentNotConfigured(Unavailable):
    code = "payment-not-configured"
    title = "Payments are not configured for this seller"


def accepted_providers(settings: Settings) -> tuple[str, ...]:
    """Providers this installation works with: ``mock`` only in sandbox mode."""
    return PROVIDERS if settings.sandbox else tuple(name for name in PROVIDERS if name != "mock")


def account_for(tenant: Tenant, settings: Settings) -> PaymentAccount:
    """The account a new payment of ``tenant`` is made with: its current settings, as a
    reference the payment keeps (the secret's name, never the secret); ``PaymentNotConfigured``
    with the list of what is ``missing`` when there is none."""
    name = tenant.payment_provider
    if not name:
        raise PaymentNotConfigured("the seller has no payment provider yet", missing=["payment_provider"])
    _check_accepted(name, settings)
    if name == "mock":
        return PaymentAccount("mock", shop_id=tenant.slug)
    if name == "yookassa":
        config = tenant.payment_settings
        return PaymentAccount("yookassa", shop_id=str(config.get("shop_id") or "") or None,
                              secret_name=config.get("secret_name") or None, api_url=config.get("api_url") or None)
    raise PaymentNotConfigured(f"unknown payment provider {name!r}", provider=name, missing=["payment_provider"])


def client_for(account: PaymentAccount, settings: Settings) -> PaymentProvider:
    """A client for the account a payment was made with (the secret key is looked up by name
    now, so a rotated key is picked up; the database never holds it)."""
    _check_accepted(account.provider, settings)
    if account.provider == "mock":
        return YooKassaClient(account.api_url or settings.mock_payments_api_url, account.shop_id or "",
                              settings.mock_payments_secret, budget=settings.payment_call_budget_seconds,
                              **REQUEST_PATH_LIMITS)
    if account.provider == "yookassa":
        secret = read_secret(account.secret_name, bundle=YOOKASSA_KEYS) if account.secret_name else None
        if not account.shop_id or not secret:
            raise PaymentNotConfigured("the seller has no YooKassa shop id or secret key configured",
                                       provider=account.provider, missing=_missing(account, secret))
        return YooKassaClient(account.api_url or settings.yookassa_api_url, account.shop_id, secret,
                              budget=settings.payment_call_budget_seconds, **REQUEST_PATH_LIMITS)
    raise PaymentNotConfigured(f"unknown payment provider {account.provider!r}", provider=account.provider,
                               missing=["payment_provider"])


def provider_for(tenant: Tenant, settings: Settings) -> PaymentProvider:
    """A client for the tenant's current account (what a new payment would use)."""
    return client_for(account_for(tenant, settings), settings)


def _check_accepted(name: str, settings: Settings) -> None:
    if name == "mock" and not settings.sandbox:
        raise PaymentNotConfigured("mock is the sandbox provider, accepted only in sandbox mode (PAYMENTS_SANDBOX)",
                                   provider=name, missing=["payment_provider"])


def _missing(account: PaymentAccount, secret: str | None) -> list[str]:
    missing = [key for key, value in (("shop_id", account.shop_id), ("secret_name", account.secret_name))
               if not value]
    if account.secret_name and not secret:
        missing.append(f"secret key {account.secret_name!r} (in secret {YOOKASSA_KEYS} or a secret of that name)")
    return missing


def webhook_allowlist(provider: str, settings: Settings) -> str:
    return settings.yookassa_webhook_allowlist if provider == "yookassa" else settings.mock_webhook_allowlist
