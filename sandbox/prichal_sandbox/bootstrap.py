"""Wires the sandbox to a core ``Container`` (its settings, Redis and clock).

The core's ``bootstrap`` does not know the sandbox; the ``mock-payments`` handler asks
``sandbox_payments(container())`` instead. The sandbox keeps its payments in PostgreSQL
(``DATABASE_URL``, its own schema ``sandbox``) through an engine of its own: the core's
engine switches to the application role, which may not create a schema.
"""

from __future__ import annotations

import threading

from prichal.adapters.db.engine import make_owner_engine
from prichal.bootstrap import Container
from prichal_sandbox.notify import post_json
from prichal_sandbox.service import SandboxPayments
from prichal_sandbox.store import SandboxStore

_lock = threading.Lock()
_ATTRIBUTE = "_prichal_sandbox"


class _Wired:
    def __init__(self, container: Container) -> None:
        s = container.settings
        self.engine = make_owner_engine(s.database_url)
        self.service = SandboxPayments(SandboxStore(self.engine, container.redis, s.redis_prefix),
                                       secret=s.mock_payments_secret, public_url=s.mock_payments_public_url,
                                       notify_url=s.mock_payments_notify_url, now=container.now, deliver=post_json,
                                       webhook_key=s.webhook_url_key)


def _wired(container: Container) -> _Wired:
    # Kept on the container, as its own cached properties are, so a test's container gets its own.
    found = container.__dict__.get(_ATTRIBUTE)
    if found is None:
        with _lock:
            found = container.__dict__.get(_ATTRIBUTE)
            if found is None:
                found = container.__dict__[_ATTRIBUTE] = _Wired(container)
    return found


def sandbox_payments(container: Container) -> SandboxPayments:
    """The sandbox service of this container, built once."""
    return _wired(container).service


def close(container: Container) -> None:
    """Release the sandbox's database connections (then ``container.close()`` the rest)."""
    found = container.__dict__.pop(_ATTRIBUTE, None)
    if found is not None:
        found.engine.dispose()
