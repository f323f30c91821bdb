"""Identifiers as the system issues them."""

from __future__ import annotations

import uuid


def canonical_uuid(value: object) -> str | None:
    """The canonical text of a hyphenated UUID (either case), else ``None``: ids are
    accepted in the form we issue them, not every form ``uuid.UUID`` can parse."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
