"""Which client serves a tenant's account with an operator: stub or real, URL, credentials.

The account (``supplier_accounts``: mode, base URL, secret name, agent email) says what a
tenant uses; the credential itself never lives in the database: it is the secret the
account names (``read_secret(name, bundle="supplier-keys")``), else the operator's
default secret (``astra-auth`` = ``user:password``, ``neva-api-key``). Stub mode talks to
the sandbox's stub servers and is refused in production.
"""

from __future__ import annotations

from prichal.config import Settings, read_secret
from prichal.domain.suppliers import Supplier, SupplierAccount, SupplierMode, SupplierNotConfigured
from prichal.services.supplier_port import SupplierClient

from .astra_marine import AstraMarineClient
from .http import HttpPolicy, SupplierHttp
from .neva_travel import NevaTravelClient

DEFAULT_SECRETS = {Supplier.ASTRA_MARINE: "astra-auth", Supplier.NEVA_TRAVEL: "neva-api-key"}
# The stub servers' well-known credentials (prichal_sandbox.suppliers).
STUB_CREDENTIALS = {Supplier.ASTRA_MARINE: "stub:stub", Supplier.NEVA_TRAVEL: "stub-key"}


def policy_from(settings: Settings) -> HttpPolicy:
    return HttpPolicy(timeout=settings.supplier_timeout_seconds, attempts=settings.supplier_attempts,
                      backoff=settings.supplier_backoff_seconds,
                      failure_threshold=settings.supplier_circuit_failures,
                      open_seconds=settings.supplier_circuit_open_seconds)


def base_url_for(account: SupplierAccount, settings: Settings) -> str:
    if account.base_url:
        return account.base_url
    if account.mode is SupplierMode.STUB:
        return settings.astra_stub_url if account.supplier is Supplier.ASTRA_MARINE else settings.neva_stub_url
    return settings.astra_base_url if account.supplier is Supplier.ASTRA_MARINE else settings.neva_base_url


def client_for(account: SupplierAccount, settings: Settings) -> SupplierClient:
    if account.mode is SupplierMode.STUB:
        if settings.production:
            raise SupplierNotConfigured(f"{account.supplier.value}: stub mode is refused in production")
        credential: str | None = STUB_CREDENTIALS[account.supplier]
    else:
        credential = read_secret(account.secret_name or DEFAULT_SECRETS[account.supplier], bundle="supplier-keys")
        if credential is None:
            raise SupplierNotConfigured(f"{account.supplier.value}: the secret "
                                        f"{account.secret_name or DEFAULT_SECRETS[account.supplier]} is missing")
    url, policy = base_url_for(account, settings), policy_from(settings)
    if account.supplier is Supplier.ASTRA_MARINE:
        user, _, password = credential.partition(":")
        return AstraMarineClient(SupplierHttp(account.supplier.value, url, policy, auth=(user, password)),
                                 email=account.email)
    return NevaTravelClient(SupplierHttp(account.supplier.value, url, policy, headers={"X-API-KEY": credential}))
