"""What an agent typed, turned into search criteria (pure; the SQL twins are migrations 0016 and 0018).

Normalisation is the same at write time (the ``order_search`` trigger) and here:

- names: lower case, ``ё`` as ``е``, runs of spaces as one (``prichal_search_text``);
- phones: E.164 digits without the plus; Russian forms ``8 (921) 555-12-34``,
  ``+7 921 555 12 34`` and ``921 555-12-34`` are all ``79215551234``
  (``prichal_phone_digits``). A fragment matches anywhere in the digits; a fragment that
  begins with the trunk prefix 8 also matches as ``7...`` from the start;
- e-mails: lower case; a whole address is an exact match, anything else a fragment.

Fragments shorter than three characters are refused: a trigram index cannot answer them
and they would match most of a tenant.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import InvalidInput

MIN_FRAGMENT = 3
MAX_PAGE = 100
ORDER_STATUSES = ("awaiting_payment", "paid", "expired", "cancelled", "partially_refunded", "refunded")
TICKET_NUMBER = re.compile(r"^\s*(\d{4})-(\d{1,9})\s*$")
_NON_DIGIT = re.compile(r"\D")
_PHONE_CHARS = re.compile(r"^[\d\s()+\-.]+$")


def search_text(value: str | None) -> str:
    """``prichal_search_text``: what names are compared as."""
    return " ".join((value or "").lower().replace("ё", "е").split())


def phone_digits(phone: str | None) -> str | None:
    """``prichal_phone_digits``: E.164 digits of a Russian number, other numbers' digits as typed."""
    digits = _NON_DIGIT.sub("", phone or "")
    if not digits:
        return None
    if len(digits) == 11 and digits[0] == "8":
        return "7" + digits[1:]
    if len(digits) == 10 and digits[0] == "9":
        return "7" + digits
    return digits


def like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


WORD_PART_MAX = 10  # the longest word start/end prichal_name_lexemes indexes (migration 0018)


def _lexeme(marker: str, part: str) -> str:
    text = marker + part[:WORD_PART_MAX]
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def name_word_query(name: str) -> str | None:
    """The words-index query (a ``tsquery``) every name containing ``name`` matches, or None.

    ``name`` is normalised (``search_text``). Found inside a name, a fragment of two words or
    more has its last word at the start of a name word, its first word at the end of one,
    and its middle words are whole words (both). ``prichal_name_lexemes`` (migration 0018)
    indexes every word's starts ``<...`` and reversed ends ``>...`` of 3 to
    ``WORD_PART_MAX`` letters, so the query is a few exact lexemes; a longer word is cut,
    which only widens what the LIKE then checks.

    None (the trigram index answers) for a single word, which can begin and end inside a
    name word, and for a fragment with a word shorter than ``MIN_FRAGMENT``: without that
    word the query could say as little as "a word ends in -ова" (half the names), while
    the trigrams still see it.
    """
    words = name.split(" ")
    if len(words) < 2 or any(len(word) < MIN_FRAGMENT for word in words):
        return None
    terms = []
    for position, word in enumerate(words):
        if position > 0:
            terms.append(_lexeme("<", word))
        if position < len(words) - 1:
            terms.append(_lexeme(">", word[::-1]))
    return " & ".join(terms)


def _invalid(field_name: str, msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[{"loc": ["query", field_name], "type": "value_error", "msg": msg}])


@dataclass(frozen=True)
class PhoneQuery:
    contains: str  # digits that must appear somewhere
    prefix: str | None = None  # or: digits the number must start with (a trunk-8 fragment)


def phone_query(text: str, field_name: str = "phone") -> PhoneQuery:
    if not _PHONE_CHARS.match(text):
        raise _invalid(field_name, "a phone is digits, spaces, brackets, dashes and a leading +")
    digits = _NON_DIGIT.sub("", text)
    if len(digits) < MIN_FRAGMENT:
        raise _invalid(field_name, f"type at least {MIN_FRAGMENT} digits of the phone")
    full = phone_digits(text)
    assert full is not None
    if full != digits or text.strip().startswith("+"):
        return PhoneQuery(full)  # a whole number in a national or international form
    if digits[0] == "8" and len(digits) < 11:
        return PhoneQuery(digits, "7" + digits[1:])
    return PhoneQuery(digits)


@dataclass(frozen=True)
class SearchCriteria:
    """Every condition is optional; all given ones must hold (AND)."""

    number: int | None = None
    order_id: str | None = None
    ticket: str | None = None  # a ticket code (QR), a ticket number 2026-000123 or a ticket id
    payment_id: str | None = None  # the provider's payment id or ours
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    sailing_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: tuple[str, ...] = field(default=())
    needs_attention: bool | None = None

    def database_criteria(self) -> dict[str, Any]:
        """The JSON ``prichal_search_orders`` reads (ids are resolved by the service)."""
        found: dict[str, Any] = {}
        if self.name is not None:
            name = search_text(self.name)
            if len(name) < MIN_FRAGMENT:
                raise _invalid("name", f"type at least {MIN_FRAGMENT} letters of the name")
            found["name"] = f"%{like_escape(name)}%"
            words = name_word_query(name)
            if words is not None:
                found["name_words"] = words
        if self.email is not None:
            email = self.email.strip().lower()
            if len(email) < MIN_FRAGMENT:
                raise _invalid("email", f"type at least {MIN_FRAGMENT} characters of the e-mail")
            if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                found["email_exact"] = email
            else:
                found["email"] = f"%{like_escape(email)}%"
        if self.phone is not None:
            phone = phone_query(self.phone)
            found["phone"] = f"%{phone.contains}%"
            if phone.prefix is not None:
                found["phone_prefix"] = phone.prefix  # digits only: a range on the btree
        if self.statuses:
            unknown = [s for s in self.statuses if s not in ORDER_STATUSES]
            if unknown:
                raise _invalid("status", f"unknown status {unknown[0]!r}; one of {', '.join(ORDER_STATUSES)}")
            found["statuses"] = list(self.statuses)
        if self.sailing_id is not None:
            found["sailing_id"] = _uuid(self.sailing_id, "sailing_id")
        if self.created_from is not None:
            found["created_from"] = self.created_from.isoformat()
        if self.created_to is not None:
            found["created_to"] = self.created_to.isoformat()
        if self.created_from and self.created_to and self.created_from >= self.created_to:
            raise _invalid("created_to", "the end of the date range must be after its start")
        if self.needs_attention is not None:
            found["needs_attention"] = self.needs_attention
        return found

    @property
    def empty(self) -> bool:
        return self == SearchCriteria()


def _uuid(value: str, field_name: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise _invalid(field_name, "a UUID is required") from None


def canonical_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def guess(text: str) -> SearchCriteria:
    """One search box: what the agent most likely typed.

    ``@`` -> e-mail; a ticket code (``PT2.``), a ticket number (``2026-000123``) -> ticket;
    a UUID -> order, ticket or payment id; up to 9 plain digits -> order number; digits
    with phone punctuation or 10+ digits -> phone; anything else -> name.
    """
    value = text.strip()
    if not value:
        raise _invalid("q", "type something to search for")
    if "@" in value:
        return SearchCriteria(email=value)
    if value.upper().startswith(("PT1.", "PT2.")) or TICKET_NUMBER.match(value):
        return SearchCriteria(ticket=value)
    if canonical_uuid(value) is not None:
        return SearchCriteria(order_id=value)  # the service also tries tickets and payments
    if value.isdigit() and len(value) <= 9:
        return SearchCriteria(number=int(value))
    if _PHONE_CHARS.match(value) and len(_NON_DIGIT.sub("", value)) >= MIN_FRAGMENT:
        return SearchCriteria(phone=value)
    return SearchCriteria(name=value)


@dataclass(frozen=True)
class OrderSummary:
    id: str
    number: int
    status: str
    created_at: datetime
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    total: Any  # Decimal
    currency: str
    sailing_id: str
    departs_at: datetime | None
    tickets: int
    needs_attention: str | None


@dataclass(frozen=True)
class SearchPage:
    orders: list[OrderSummary]
    next_cursor: str | None


def parse_cursor(cursor: str | None) -> int | None:
    """The cursor is the number of the last order shown: the next page starts below it.
    Order numbers are taken under a row lock held until commit, so they become visible in
    order: an order that commits later always has a higher number and can never fall into
    a page already read (no gaps), and no order moves between pages (no duplicates)."""
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 10:
        raise _invalid("cursor", "not a cursor of this search")
    return int(cursor)
