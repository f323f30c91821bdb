"""What people type that we write back out: e-mail addresses, phones and names, and the
control characters none of them may hold.

**Phones** may be typed with spaces, brackets, dashes and dots, in the Russian 8/10-digit
forms or international ones; they are stored as ``+`` and their E.164 digits
(``8 (921) 555-12-34`` -> ``+79215551234``), which the order search and the CRM read.

**Control characters.** No text a client sends may contain a C0 or C1 control character
(U+0000-U+001F, U+007F-U+009F): NUL cannot be stored in PostgreSQL at all, CR/LF would
break a mail header, and none of them means anything in a name, a seat or a token.

**Addresses** are checked with ``email-validator`` (RFC 5322 syntax, RFC 6531 for
internationalised addresses; no DNS lookup) and kept in its normalised form (the domain
lower-cased and in Unicode, NFC). Sending uses the most portable form that reaches the
mailbox:

- an ASCII local part (``anna@пример.рф``): the domain is IDNA-encoded
  (``anna@xn--e1afmkfd.xn--p1ai``) in the envelope and the ``To`` header, which every
  mail server accepts;
- a non-ASCII local part (``анна@пример.рф``) has no ASCII form: it is sent with SMTPUTF8,
  and a server that does not offer SMTPUTF8 cannot take it (a permanent failure, not a retry).

Special-use domains that can never receive mail (``.invalid``, ``.onion``, ``.arpa``,
``localhost``) are refused; ``.test`` and ``.local`` are accepted because the tests and the
demo tenant write to them (a real server refuses them, which is a flagged permanent failure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address

import email_validator
from email_validator import EmailNotValidError, validate_email

from .order_search import phone_digits

# email-validator's documented way to allow special-use names is to edit this list in place.
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
                                               if name not in ("test", "local")]

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def control_character(text: str) -> str | None:
    """The first control character in ``text`` as ``U+000A``, or None."""
    found = CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def without_control_characters(text: str) -> str:
    """For text already stored before it was checked: each control character as a space."""
    return CONTROL.sub(" ", text)


class BadAddress(ValueError):
    """Not an address mail can be sent to; the message says why, for the buyer."""


class BadPhone(ValueError):
    """Not a phone number; the message says why."""


PHONE_TYPED = r"^\+?[\d\s()\-.]{10,24}$"  # what may be typed; e164_phone checks the digits
_PHONE_TYPED = re.compile(PHONE_TYPED)


def e164_phone(phone: str) -> str:
    """``+`` and the E.164 digits of a phone as typed (8/10-digit Russian forms -> +7)."""
    if not _PHONE_TYPED.match(phone.strip()):
        raise BadPhone("a phone is 10-15 digits, optionally with +, spaces, brackets, dashes")
    digits = phone_digits(phone) or ""
    if not 10 <= len(digits) <= 15:
        raise BadPhone("a phone is 10-15 digits")
    return "+" + digits


@dataclass(frozen=True, slots=True)
class EmailAddress:
    normalized: str  # what we store and show
    local_part: str
    domain: str  # Unicode
    ascii: str | None  # local part and IDNA domain; None when the local part needs SMTPUTF8


def parse_email(value: str) -> EmailAddress:
    if (control := control_character(value)) is not None:
        raise BadAddress(f"an e-mail address cannot contain the control character {control}")
    try:
        found = validate_email(value, check_deliverability=False, allow_smtputf8=True,
                               allow_display_name=False, allow_quoted_local=False, allow_domain_literal=False)
    except EmailNotValidError as exc:
        raise BadAddress(str(exc)) from exc
    return EmailAddress(found.normalized, found.local_part, found.domain, found.ascii_email)


def normalize_email(value: str) -> str:
    return parse_email(value).normalized


def recipient(display_name: str | None, email: str) -> Address:
    """The ``To`` (or ``From``) of a message: a display name of any text, safely encoded, and
    the address in its most portable form (see the module's docstring)."""
    address = parse_email(email)
    name = " ".join(without_control_characters(display_name or "").split())
    if address.ascii is not None:
        return Address(display_name=name, addr_spec=address.ascii)
    return Address(display_name=name, username=address.local_part, domain=address.domain)
