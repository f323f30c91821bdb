"""Field types for request bodies: text without control characters, e-mail addresses.

Every string a client sends goes through one of these (``Text`` or ``StrictText`` for any
text, ``Email`` for an address), so a NUL that PostgreSQL cannot store, or a CR/LF that
would end up in a mail header, is a 422 naming the field, before anything is written.
``FunctionApp`` also refuses a NUL anywhere in a JSON body, path or query, whatever the model.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StrictStr

from prichal.domain.contacts import BadAddress, control_character, normalize_email


def refuse_control_characters(value: str) -> str:
    if (found := control_character(value)) is not None:
        raise ValueError(f"control characters are not allowed (found {found})")
    return value


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except BadAddress as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from exc


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


Text = Annotated[str, AfterValidator(refuse_control_characters)]
StrictText = Annotated[StrictStr, AfterValidator(refuse_control_characters)]
# Surrounding blanks are forgiven (a storefront's form), then the address is checked and normalised.
Email = Annotated[str, BeforeValidator(_strip), AfterValidator(_email)]


def nul_location(value: Any) -> list[str | int] | None:
    """Where the first string (or object key) holding a NUL sits in parsed JSON, or None.
    Iterative: the JSON parser allows nesting deeper than a recursive walk would."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        loc, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return loc
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return [*loc, key]
                stack.append(([*loc, key], child))
        elif isinstance(item, list):
            stack.extend(([*loc, index], child) for index, child in enumerate(item))
    return None
