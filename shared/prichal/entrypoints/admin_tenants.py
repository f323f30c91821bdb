"""Tenant onboarding routes of the ``admin`` function: the platform's staff only.

Every route takes a platform admin's staff token (``tenants.manage``); no tenant is
resolved from the request, the tenant is the path's slug. The payment account names its
secret key (``secret_name``); the key itself is never accepted nor shown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from prichal.bootstrap import container
from prichal.domain.staff import Permission
from prichal.entrypoints.app import FunctionApp, Request, Response
from prichal.entrypoints.fields import Email, StrictText, Text
from prichal.entrypoints.openapi import describe
from prichal.entrypoints.staff import require_staff

SECURITY = ("staffToken",)


class VatRateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    valid_from: dt.date
    rate: StrictText = Field(description="none, 0, 5, 7, 10, 22 (or the calculated 5/105, 7/107, 10/110, 22/122)")


class VatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    included: StrictBool | None = Field(default=None, description="prices include VAT (the default)")
    tax_system_code: StrictInt | None = Field(default=None, description="54-FZ: 1 general, 2/3 simplified, 5, 6")
    rates: list[VatRateIn] | None = Field(default=None, max_length=50, description="replaces the schedule")


class PaymentIn(BaseModel):
    """The provider account, by reference: ``secret_name`` names the secret holding the key."""

    model_config = ConfigDict(extra="allow")  # a secret key sent anyway is named in the 422, never stored
    provider: StrictText = Field(description="yookassa, or mock (sandbox mode only)")
    shop_id: StrictText | None = Field(default=None, max_length=20)
    secret_name: StrictText | None = Field(default=None, max_length=253,
                                           description="the secret (or yookassa-keys entry) with the key")
    api_url: StrictText | None = Field(default=None, max_length=500)


class TenantChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    brand: dict[str, Any] | None = Field(default=None, description="display_name, *_color, logo_url, "
                                                                   "support_email ...; null removes a key")
    legal: dict[str, StrictText | None] | None = Field(
        default=None, description="requisites for invoices: name, inn, kpp, ogrn, address, bank, bic, "
                                  "correspondent_account, account, director, accountant")
    hosts: list[StrictText] | None = Field(default=None, max_length=20, description="storefront host names")
    vat: VatIn | None = None
    payment: PaymentIn | None = None
    refund_policy: dict[str, Any] | None = Field(default=None, description="cutoff_hours, fee_percent, ...")
    timezone: StrictText | None = Field(default=None, max_length=64)
    email_sender: Email | None = Field(default=None, description="the From of the buyers' e-mails")


class TenantCreate(TenantChange):
    slug: StrictText = Field(min_length=3, max_length=40)
    name: Text = Field(min_length=1, max_length=200)  # type: ignore[assignment]


class MissingItem(BaseModel):
    loc: list[str | int]
    type: str
    msg: str


class TenantView(BaseModel):
    id: str
    slug: str
    name: str
    brand: dict[str, Any]
    legal: dict[str, Any]
    hosts: list[str]
    timezone: str
    vat: dict[str, Any]
    payment: dict[str, Any] | None = Field(description="provider, shop_id, secret_name, api_url: never a key")
    refund_policy: dict[str, Any]
    email_sender: str | None
    sales_open: bool
    active: bool
    missing: list[MissingItem] = Field(description="what keeps the tenant from opening sales")


class TenantList(BaseModel):
    tenants: list[TenantView]


class Readiness(BaseModel):
    ready: bool
    missing: list[MissingItem]


def settings_of(body: TenantChange) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True, exclude={"slug"})
    if "vat" in values and values["vat"] is not None:
        values["vat"] = {k: v for k, v in values["vat"].items() if v is not None}
    return {k: v for k, v in values.items() if v is not None or k == "email_sender"}


def register(app: FunctionApp) -> None:
    @app.route("GET", "/tenants", tenant=False, response=TenantList, errors=(401, 403))
    @describe(security=SECURITY)
    def list_tenants(request: Request) -> dict:
        """Every tenant with what it still lacks."""
        require_staff(request, Permission.TENANTS_MANAGE)
        return {"tenants": container().tenant_onboarding.list()}

    @app.route("POST", "/tenants", tenant=False, body=TenantCreate, response=TenantView, status=201,
               errors=(401, 403, 409))
    @describe(security=SECURITY)
    def create_tenant(request: Request, body: TenantCreate) -> Response:
        """Onboard a tenant: it starts with sales closed."""
        actor = require_staff(request, Permission.TENANTS_MANAGE)
        created = container().tenant_onboarding.create(actor, body.slug, body.name, settings_of(body))
        return Response(status=201, body=created, headers={"Location": f"/function/admin/tenants/{body.slug}"})

    @app.route("GET", "/tenants/{slug}", tenant=False, response=TenantView, errors=(401, 403, 404))
    @describe(security=SECURITY)
    def read_tenant(request: Request, slug: str) -> dict:
        """One tenant (never a secret key, never the storefront key)."""
        require_staff(request, Permission.TENANTS_MANAGE)
        return container().tenant_onboarding.get(slug)

    @app.route("PATCH", "/tenants/{slug}", tenant=False, body=TenantChange, response=TenantView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def change_tenant(request: Request, slug: str, body: TenantChange) -> dict:
        """Change a tenant: brand and legal merge (null removes a key), hosts and VAT rates are replaced."""
        actor = require_staff(request, Permission.TENANTS_MANAGE)
        return container().tenant_onboarding.update(actor, slug, settings_of(body))

    @app.route("GET", "/tenants/{slug}/readiness", tenant=False, response=Readiness, errors=(401, 403, 404))
    @describe(security=SECURITY)
    def tenant_readiness(request: Request, slug: str) -> dict:
        """What keeps the tenant from selling (empty when it may open sales)."""
        require_staff(request, Permission.TENANTS_MANAGE)
        missing = container().tenant_onboarding.readiness(slug)
        return {"ready": not missing, "missing": [m.as_error() for m in missing]}

    @app.route("POST", "/tenants/{slug}/sales/open", tenant=False, response=TenantView, errors=(401, 403, 404, 409))
    @describe(security=SECURITY, body_required=False)
    def open_sales(request: Request, slug: str) -> dict:
        """Open the tenant's sales; 409 with the list of what is missing until it is complete."""
        actor = require_staff(request, Permission.TENANTS_MANAGE)
        return container().tenant_onboarding.open_sales(actor, slug)

    @app.route("POST", "/tenants/{slug}/sales/close", tenant=False, response=TenantView, errors=(401, 403, 404))
    @describe(security=SECURITY, body_required=False)
    def close_sales(request: Request, slug: str) -> dict:
        """Stop taking orders for every sailing of the tenant."""
        actor = require_staff(request, Permission.TENANTS_MANAGE)
        return container().tenant_onboarding.close_sales(actor, slug)
