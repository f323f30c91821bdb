"""Wires the sandbox to a core ``Container`` (its settings, Redis and clock).

The core's ``bootstrap`` does not know the sandbox; the ``mock-payments`` handler asks
``sandbox_payments(container())`` instead.
"""

from __future__ import annotations

import threading

from prichal.bootstrap import Container
from prichal_sandbox.notify import post_json
from prichal_sandbox.service import SandboxPayments
from prichal_sandbox.store import SandboxStore

_lock = threading.Lock()
_ATTRIBUTE = "_prichal_sandbox_payments"


def sandbox_payments(container: Container) -> SandboxPayments:
    """The sandbox service of this container, built once (kept on the container, as its own
    cached properties are, so a test's container gets its own)."""
    found = container.__dict__.get(_ATTRIBUTE)
    if found is None:
        with _lock:
            found = container.__dict__.get(_ATTRIBUTE)
            if found is None:
                s = container.settings
                found = SandboxPayments(SandboxStore(container.redis, s.redis_prefix), secret=s.mock_payments_secret,
                                        public_url=s.mock_payments_public_url,
                                        notify_url=s.mock_payments_notify_url, now=container.now, deliver=post_json)
                container.__dict__[_ATTRIBUTE] = found
    return found
