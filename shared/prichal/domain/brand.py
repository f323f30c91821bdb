"""A tenant's brand as documents and emails print it: checked where it is set (the admin
command line) and again where it is read, so a bad value never reaches a template.

Colours go into ``style=`` attributes, where HTML escaping does not help
(``red;background:url(file:///etc/passwd)`` escapes to itself): only ``#rgb`` and
``#rrggbb`` are colours. Addresses go into mail headers; names into headers and pages.
"""

from __future__ import annotations

import re
from typing import Any

from .contacts import BadAddress, control_character, normalize_email

COLOUR = re.compile(r"\A#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z")
ADDRESSES = ("email_from", "support_email")
MAX_TEXT = 200


def is_colour(value: Any) -> bool:
    return isinstance(value, str) and COLOUR.match(value) is not None


def brand_problems(brand: dict[str, Any]) -> dict[str, str]:
    """What is wrong with each value of ``brand`` that a template would print, by key."""
    problems: dict[str, str] = {}
    for key, value in brand.items():
        if value is None:
            continue
        if key.endswith("_color"):
            if not is_colour(value):
                problems[key] = "a colour is #rgb or #rrggbb"
        elif key in ADDRESSES:
            if (wrong := _address_problem(value)) is not None:
                problems[key] = wrong
        elif not isinstance(value, str):
            continue  # numbers, flags, structures for the storefront: printed escaped, never in style=
        elif (found := control_character(value)) is not None:
            problems[key] = f"control character {found}"
        elif len(value) > MAX_TEXT:
            problems[key] = f"at most {MAX_TEXT} characters"
    return problems


def _address_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return "an e-mail address is text"
    try:
        normalize_email(value)
    except BadAddress as exc:
        return f"not an e-mail address: {exc}"
    return None


def safe_brand(brand: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The brand without its invalid values (templates then use their defaults), and what was
    left out and why."""
    problems = brand_problems(brand)
    return {key: value for key, value in brand.items() if key not in problems}, problems
