"""A tenant as the platform sets it up, and what it still lacks before it may sell.

Pure rules: the shape of a slug and of host names, the time zone, the tax system, the
payment account (a *reference* to the secret key, never the key), the refund policy's
known keys, and ``readiness``: the list of what keeps a tenant from opening sales. The
requisites are checked by ``documents.requisites``, the one check invoices and acts use,
the brand by ``brand.brand_problems``, the one check templates rely on, and the refund
policy by ``refund_policy.check_policy``, the refund service's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .brand import brand_problems
from .documents import MissingRequisites, requisites
from .errors import InvalidInput
from .refund_policy import check_policy
from .vat import VatPeriod

SLUG = re.compile(r"\A[a-z][a-z0-9-]{1,38}[a-z0-9]\Z")
# Hostnames as a browser sends them (lowercase, no port, no trailing dot); IDNs in punycode.
_LABEL = re.compile(r"\A(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
MAX_HOSTS = 20
# 54-FZ tax systems: 1 general, 2 simplified (income), 3 simplified (income less costs),
# 5 unified agricultural, 6 patent (4, the imputed income tax, was abolished in 2021).
TAX_SYSTEMS = (1, 2, 3, 5, 6)
PROVIDERS = ("mock", "yookassa")
# The secret key of a payment account: never accepted in a request, never stored.
SECRET_FIELDS = ("secret_key", "secret", "password", "api_key", "key")
_SECRET_NAME = re.compile(r"\A[a-z0-9]([a-z0-9._-]{0,251}[a-z0-9])?\Z")


def error(loc: Iterable[str | int], kind: str, msg: str) -> dict[str, Any]:
    return {"loc": list(loc), "type": kind, "msg": msg}


def slug_problems(slug: str) -> list[dict[str, Any]]:
    if not SLUG.match(slug or ""):
        return [error(["slug"], "malformed", "3-40 characters: a-z, 0-9 and '-', starting with a letter")]
    return []


def normalize_host(host: str) -> str:
    return (host or "").strip().lower().rstrip(".")


def host_problems(hosts: list[str]) -> list[dict[str, Any]]:
    problems = []
    if len(hosts) > MAX_HOSTS:
        problems.append(error(["hosts"], "too_many", f"at most {MAX_HOSTS} host names"))
    seen: set[str] = set()
    for index, raw in enumerate(hosts):
        host = normalize_host(raw)
        labels = host.split(".")
        if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels) \
                or labels[-1].isdigit():
            problems.append(error(["hosts", index], "malformed", "a host name such as tickets.example.ru (no port)"))
        elif host in seen:
            problems.append(error(["hosts", index], "duplicate", f"{host} is listed twice"))
        seen.add(host)
    return problems


def timezone_problems(name: str) -> list[dict[str, Any]]:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return [error(["timezone"], "unknown", "an IANA time zone such as Europe/Moscow")]
    return []


def payment_problems(settings: Mapping[str, Any], accepted: tuple[str, ...]) -> list[dict[str, Any]]:
    """The shape of a payment account. The secret key travels to the secret store, not here:
    ``secret_name`` names it (see ``prichal.config.read_secret``)."""
    problems = [error(["payment", key], "secret_not_accepted",
                      "the secret key is never sent here: store it as a secret and give its name as secret_name")
                for key in SECRET_FIELDS if key in settings]
    provider = settings.get("provider")
    if provider not in PROVIDERS:
        problems.append(error(["payment", "provider"], "unknown", f"one of {', '.join(PROVIDERS)}"))
    elif provider not in accepted:
        problems.append(error(["payment", "provider"], "not_accepted",
                              "mock is the sandbox provider, accepted only in sandbox mode"))
    elif provider == "yookassa":
        shop_id = settings.get("shop_id")
        if not isinstance(shop_id, str) or not re.fullmatch(r"[0-9]{1,20}", shop_id):
            problems.append(error(["payment", "shop_id"], "malformed", "YooKassa's shop id: digits"))
        name = settings.get("secret_name")
        if not isinstance(name, str) or not _SECRET_NAME.match(name):
            problems.append(error(["payment", "secret_name"], "malformed",
                                  "the name of the secret holding the key, e.g. yookassa-<slug>"))
        api_url = settings.get("api_url")
        if api_url is not None and (not isinstance(api_url, str) or not api_url.startswith("https://")):
            problems.append(error(["payment", "api_url"], "malformed", "an https:// URL"))
    return problems


def refund_policy_problems(policy: Any) -> list[dict[str, Any]]:
    """The refund rules' own check (``refund_policy.check_policy``: the refund service owns the policy)."""
    try:
        check_policy(policy)
    except InvalidInput as exc:
        return exc.errors
    return []


def brand_errors(brand: Mapping[str, Any]) -> list[dict[str, Any]]:
    problems = [error(["brand", key], "malformed", why) for key, why in brand_problems(dict(brand)).items()]
    logo = brand.get("logo_url")
    if logo is not None and not (isinstance(logo, str) and logo.startswith("https://") and len(logo) <= 2000):
        problems.append(error(["brand", "logo_url"], "malformed", "an https:// URL"))
    return problems


def requisites_errors(legal: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What keeps these requisites from an invoice (empty when complete): the invoices' own check."""
    try:
        requisites(dict(legal))
    except MissingRequisites as exc:
        return exc.errors
    return []


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """Everything the platform admin sets on a tenant (the secret key is not here: only its name)."""

    id: str
    slug: str
    name: str
    brand: dict[str, Any] = field(default_factory=dict)
    legal: dict[str, Any] = field(default_factory=dict)
    hosts: tuple[str, ...] = ()
    vat_included: bool = True
    tax_system_code: int = 1
    vat_periods: tuple[VatPeriod, ...] = ()
    refund_policy: dict[str, Any] = field(default_factory=dict)
    payment_provider: str | None = None
    payment_settings: dict[str, Any] = field(default_factory=dict)
    timezone: str = "Europe/Moscow"
    sales_open: bool = False
    active: bool = True


@dataclass(frozen=True, slots=True)
class Missing:
    """One thing a tenant lacks before it may sell: where, and what to do."""

    loc: tuple[str, ...]
    msg: str

    def as_error(self) -> dict[str, Any]:
        return error(self.loc, "missing", self.msg)


def readiness(tenant: TenantRecord, secret_found: Callable[[str], bool],
              accepted: tuple[str, ...]) -> list[Missing]:
    """What keeps ``tenant`` from selling; empty when it may open sales."""
    missing = [Missing(tuple(str(part) for part in problem["loc"]), problem["msg"])
               for problem in requisites_errors(tenant.legal)]
    if not tenant.hosts:
        missing.append(Missing(("hosts",), "at least one storefront host name"))
    if not tenant.payment_provider:
        missing.append(Missing(("payment", "provider"), "choose a payment provider"))
    else:
        settings = {"provider": tenant.payment_provider, **tenant.payment_settings}
        missing.extend(Missing(tuple(map(str, p["loc"])), p["msg"]) for p in payment_problems(settings, accepted))
        name = tenant.payment_settings.get("secret_name")
        if tenant.payment_provider == "yookassa" and isinstance(name, str) and name and not secret_found(name):
            missing.append(Missing(("payment", "secret_name"),
                                   f"no secret {name!r} is mounted: create it (or an entry of yookassa-keys)"))
    missing.extend(Missing(tuple(map(str, p["loc"])), p["msg"]) for p in timezone_problems(tenant.timezone))
    if tenant.tax_system_code not in TAX_SYSTEMS:
        missing.append(Missing(("vat", "tax_system_code"), f"one of {TAX_SYSTEMS}"))
    return missing


def vat_period_problems(periods: list[tuple[date, str]]) -> list[dict[str, Any]]:
    days = [day for day, _ in periods]
    return [error(["vat", "rates", index], "duplicate", "one rate per starting day")
            for index, day in enumerate(days) if days.index(day) != index]
