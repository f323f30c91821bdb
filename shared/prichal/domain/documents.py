"""Documents of a paid order: which ones, their numbers, lines, requisites and amounts in words.

An order gets one e-ticket per item, one invoice (счёт) and one act (акт). Numbers are
consecutive per tenant, per kind and per calendar year in the tenant's time zone; the
counter itself lives in the database (see ``DocumentRepository``). Invoice and act lines
are grouped exactly as the 54-FZ receipt groups them (``pricing.receipt``), so the
documents and the receipt show the same items, rates and totals.
"""

from __future__ import annotations

import enum
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from num2words import num2words

from .errors import InvalidInput
from .orders import Order
from .pricing import RECEIPT_DESCRIPTION_LIMIT
from .vat import VatRate


class DocumentKind(enum.StrEnum):
    TICKET = "ticket"
    INVOICE = "invoice"
    ACT = "act"

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {DocumentKind.TICKET: "Электронный билет", DocumentKind.INVOICE: "Счёт на оплату",
           DocumentKind.ACT: "Акт"}


class MissingRequisites(InvalidInput):
    """The seller's requisites are incomplete: no invoice or act can be issued until someone
    completes them, so retrying the same event cannot help (a permanent failure)."""

    code = "requisites-missing"
    title = "The seller's requisites are incomplete"


class DocumentDoesNotFit(InvalidInput):
    """A text of the order (a name, a title) is too long for the document's page: drawing it
    again will not help until someone shortens it, so it is a permanent failure too."""

    code = "document-does-not-fit"
    title = "The document does not fit its page"


class TemplateBroken(InvalidInput):
    """A tenant's own document or email template cannot be rendered (a syntax error, a bad
    filter): permanent until someone fixes the template."""

    code = "template-broken"
    title = "A template cannot be rendered"


@dataclass(frozen=True, slots=True)
class PlannedDocument:
    kind: DocumentKind
    position: int  # tickets: the order item's position; invoice and act: 1
    ticket_id: str | None = None


def plan(order: Order) -> list[PlannedDocument]:
    """The documents a paid order gets, in the order their numbers are taken."""
    tickets = [PlannedDocument(DocumentKind.TICKET, item.position, item.ticket_id) for item in order.items]
    return [*tickets, PlannedDocument(DocumentKind.INVOICE, 1), PlannedDocument(DocumentKind.ACT, 1)]


def issue_date(at: datetime, timezone: str) -> date:
    """The document's date — and so the year of its number — in the seller's time zone:
    a sale at 01:00 on 1 January in St. Petersburg belongs to the new year, whatever UTC says."""
    return at.astimezone(ZoneInfo(timezone)).date()


def display_number(kind: DocumentKind, year: int, number: int) -> str:
    """How a number is printed: invoices and acts by their yearly number (the date beside it
    tells the year), tickets with the year so that a ticket number is unique on its own."""
    if kind is DocumentKind.TICKET:
        return f"{year}-{number:06d}"
    return str(number)


def object_key(tenant_slug: str, order_number: int, kind: DocumentKind, position: int) -> str:
    """Deterministic: a resumed or repeated issue overwrites the same object, never adds one."""
    return f"tenants/{tenant_slug}/orders/{order_number}/{kind.value}-{position}.pdf"


# --- amounts in words ----------------------------------------------------------------------

def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 100 in range(11, 15):
        return many
    return {1: one, 2: few, 3: few, 4: few}.get(n % 10, many)


def amount_in_words(amount: Decimal) -> str:
    """"Семь тысяч пятьсот рублей 00 копеек": rubles in words, kopecks in digits, as
    Russian invoices print them. ``num2words`` spells the integer (an ``int`` is never
    passed to its currency mode, which would read it as kopecks)."""
    if amount < 0:
        raise ValueError("an amount in words cannot be negative")
    rubles_part = int(amount)
    kopecks = int((amount - rubles_part) * 100)
    words = num2words(rubles_part, lang="ru")
    text = (f"{words} {_plural(rubles_part, 'рубль', 'рубля', 'рублей')} "
            f"{kopecks:02d} {_plural(kopecks, 'копейка', 'копейки', 'копеек')}")
    return text[0].upper() + text[1:]


# --- requisites ----------------------------------------------------------------------------

_DIGITS = {"inn": (10, 12), "kpp": (9,), "ogrn": (13, 15), "bic": (9,), "correspondent_account": (20,),
           "account": (20,)}
_REQUIRED = ("name", "inn", "ogrn", "address", "bank", "bic", "correspondent_account", "account")


@dataclass(frozen=True, slots=True)
class Requisites:
    name: str
    inn: str
    kpp: str | None  # organisations only (a 10-digit INN); individual entrepreneurs have none
    ogrn: str
    address: str
    bank: str
    bic: str
    correspondent_account: str
    account: str
    director: str | None = None
    accountant: str | None = None

    @property
    def is_entrepreneur(self) -> bool:
        return len(self.inn) == 12

    @property
    def ogrn_label(self) -> str:
        return "ОГРНИП" if self.is_entrepreneur else "ОГРН"


def requisites(legal: dict) -> Requisites:
    """The seller's requisites from the tenant's ``legal`` settings, checked field by field.

    Raises ``MissingRequisites`` naming every missing or malformed field."""
    values = {key: str(value).strip() for key, value in (legal or {}).items() if value is not None}
    problems = [{"loc": ["legal", key], "type": "missing", "msg": "required for invoices and acts"}
                for key in _REQUIRED if not values.get(key)]
    if len(values.get("inn", "")) == 10 and not values.get("kpp"):
        problems.append({"loc": ["legal", "kpp"], "type": "missing", "msg": "an organisation needs a KPP"})
    for key, lengths in _DIGITS.items():
        value = values.get(key)
        if value and not (re.fullmatch(r"[0-9]+", value) and len(value) in lengths):
            problems.append({"loc": ["legal", key], "type": "malformed",
                             "msg": f"{' or '.join(map(str, lengths))} digits expected"})
    if problems:
        names = ", ".join(".".join(p["loc"][1:]) for p in problems)
        raise MissingRequisites(f"the seller's requisites are incomplete: {names}", errors=problems)
    return Requisites(
        name=values["name"], inn=values["inn"], kpp=values.get("kpp") or None, ogrn=values["ogrn"],
        address=values["address"], bank=values["bank"], bic=values["bic"],
        correspondent_account=values["correspondent_account"], account=values["account"],
        director=values.get("director") or None, accountant=values.get("accountant") or None)


# --- lines ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DocumentLine:
    description: str
    quantity: int
    price: Decimal  # per unit, VAT included
    amount: Decimal
    vat_rate: VatRate
    vat_amount: Decimal
    unit: str = "усл."


@dataclass(frozen=True, slots=True)
class VatLine:
    rate: VatRate
    amount: Decimal

    @property
    def label(self) -> str:
        """"В т.ч. НДС (22%)" or "Без НДС"."""
        return "Без НДС" if self.rate is VatRate.NONE else f"В т.ч. НДС ({self.rate.value}%)"


def document_lines(order: Order) -> list[DocumentLine]:
    """Items grouped by description, unit price and rate — the grouping of the receipt."""
    groups: dict[tuple[str, Decimal, VatRate], list[Decimal]] = defaultdict(list)
    for item in order.items:
        groups[(item.description[:RECEIPT_DESCRIPTION_LIMIT], item.price, item.vat_rate)].append(item.vat_amount)
    return [DocumentLine(description=description, quantity=len(vats), price=price, amount=price * len(vats),
                         vat_rate=rate, vat_amount=sum(vats, Decimal("0.00")))
            for (description, price, rate), vats in groups.items()]


def vat_summary(lines: list[DocumentLine]) -> list[VatLine]:
    """One line per VAT rate; all lines without VAT give a single "Без НДС"."""
    by_rate: dict[VatRate, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for line in lines:
        by_rate[line.vat_rate] += line.vat_amount
    return [VatLine(rate, amount) for rate, amount in by_rate.items()]


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    """A document as recorded: its number is final from the moment the row exists."""

    id: str
    order_id: str
    kind: DocumentKind
    position: int
    ticket_id: str | None
    number: int
    year: int
    issued_on: date
    s3_key: str
    status: str  # pending (recorded, not yet stored) | stored
    sha256: str | None = None
    size: int | None = None

    @property
    def display_number(self) -> str:
        return display_number(self.kind, self.year, self.number)

    @property
    def stored(self) -> bool:
        return self.status == "stored"
