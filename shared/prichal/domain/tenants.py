"""A tenant: one ticket seller with its brand, storefront hosts, requisites and rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .errors import SalesClosed
from .vat import VatRate, VatSchedule


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    slug: str
    name: str
    brand: dict[str, Any] = field(default_factory=dict)
    legal: dict[str, Any] = field(default_factory=dict)
    vat_included: bool = True
    vat_schedule: VatSchedule = field(default_factory=lambda: VatSchedule(()))
    tax_system_code: int = 1
    refund_policy: dict[str, Any] = field(default_factory=dict)
    # None until one is chosen (``admin payments``): a tenant without provider cannot sell.
    payment_provider: str | None = None
    payment_settings: dict[str, Any] = field(default_factory=dict)
    timezone: str = "Europe/Moscow"
    # The storefront host names (lowercase): where buyers may be sent back after paying.
    hosts: tuple[str, ...] = ()
    # signs the storefront's client ids (see client_ids.py); a secret, kept out of repr and logs
    storefront_key: str = field(default="", repr=False)
    # False from onboarding until an admin opens sales with nothing missing (services/tenant_onboarding.py)
    sales_open: bool = True

    def ensure_selling(self) -> None:
        """Orders are taken only once the seller has opened sales."""
        if not self.sales_open:
            raise SalesClosed("this seller has not opened sales yet", tenant=self.slug)

    def vat_rate_on(self, day: date, override: VatRate | None = None) -> VatRate:
        """The VAT rate of a sale on ``day``: a tariff's own rate wins over the tenant's."""
        return override if override is not None else self.vat_schedule.rate_on(day)
