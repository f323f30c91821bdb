"""POST a JSON document to a webhook, as a payment provider delivers its notifications."""

from __future__ import annotations

import json
from typing import Any

import requests

DELIVERY_TIMEOUT_SECONDS = 5.0


def post_json(url: str, body: dict[str, Any], timeout: float = DELIVERY_TIMEOUT_SECONDS) -> int:
    """The HTTP status the receiver answered; ``ConnectionError`` when there was no answer
    (refused, reset, timed out), so callers handle one exception type, not requests'."""
    try:
        response = requests.post(url, data=json.dumps(body, ensure_ascii=False).encode(),
                                 headers={"Content-Type": "application/json"}, timeout=timeout,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
    return response.status_code
