"""Production mode (``PRICHAL_ENV=production``): refuse to start on any development default.

Every check is one ``Check``: a name, the sentence an operator reads, and a test of the
settings that is true when the setting is unsafe. ``refuse_unsafe_start`` runs them all
once, when a function starts (``bootstrap.function_app``, at import of its handler, so
before either runtime serves a request), logs ONE line naming everything that is wrong and
exits non-zero. In development mode nothing is checked: the local runtime keeps its
friendly defaults.

To add a check, append to ``CHECKS``, e.g.::

    Check("internal_token", "INTERNAL_TOKEN (secret internal-token) is the development default",
          lambda s: is_default(s, "internal_token")),

All checks apply to every function (simple, and a function cannot quietly run with a
public key it happens not to use today), except that ``database`` checks are skipped by a
function that never opens the database (``function_app(..., database=False)``) and a check
naming its ``functions`` (the webhook URL key) applies to those only.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prichal.config import Settings

log = logging.getLogger("prichal.production")

# sysexits.h EX_CONFIG: the configuration is wrong, restarting will not help.
EXIT_UNSAFE = 78


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    sentence: str  # what is wrong, for the operator: which setting / secret, and why
    unsafe: Callable[[Settings], bool]  # may raise: the check then fails closed
    database: bool = False  # needs a database connection
    functions: frozenset[str] | None = None  # only these functions use the setting (None: all)


def is_default(settings: Settings, field: str) -> bool:
    """The setting still has the value it has in ``Settings`` (a development default)."""
    return getattr(settings, field) == Settings.model_fields[field].default


def _development_ticket_key(settings: Settings) -> bool:
    if not settings.ticket_signing_key:
        return True
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from prichal.bootstrap import DEV_TICKET_KEY_SEED
    from prichal.domain.ticket_codes import TicketSigner, parse_private_key

    development = TicketSigner(Ed25519PrivateKey.from_private_bytes(DEV_TICKET_KEY_SEED)).kid
    return TicketSigner(parse_private_key(settings.ticket_signing_key)).kid == development


def _no_allowlist(value: str) -> bool:
    """Empty, or a network that admits every address (``0.0.0.0/0``, ``::/0``)."""
    networks = [part.strip() for part in value.split(",") if part.strip()]
    return not networks or any(ipaddress.ip_network(n, strict=False).prefixlen == 0 for n in networks)


def _privileged_database_login(settings: Settings) -> bool:
    """Is the login role (``session_user``, not the role the sessions ``SET ROLE`` to) a
    superuser or BYPASSRLS? Either would ignore every tenant's row-level security."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(settings.database_url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = session_user")).one()
    finally:
        engine.dispose()
    return bool(row.rolsuper or row.rolbypassrls)


CHECKS: list[Check] = [
    Check("ticket_signing_key",
          "TICKET_SIGNING_KEY (secret ticket-signing-key) is not set or is the public development key: "
          "anyone could forge e-tickets",
          _development_ticket_key),
    Check("order_token_secret",
          "ORDER_TOKEN_SECRET (secret order-token-secret) is the development default: "
          "anyone could read any buyer's order",
          lambda s: is_default(s, "order_token_secret")),
    Check("mock_payments_secret",
          "MOCK_PAYMENTS_SECRET (secret mock-payments-secret) is the public default while sandbox payments "
          "are on (PAYMENTS_SANDBOX)",
          lambda s: s.sandbox and is_default(s, "mock_payments_secret")),
    Check("yookassa_webhook_allowlist",
          "YOOKASSA_WEBHOOK_ALLOWLIST is empty or admits every address: anyone could post payment notifications",
          lambda s: _no_allowlist(s.yookassa_webhook_allowlist)),
    Check("mock_webhook_allowlist",
          "MOCK_WEBHOOK_ALLOWLIST is empty or admits every address while sandbox payments are on",
          lambda s: s.sandbox and _no_allowlist(s.mock_webhook_allowlist)),
    Check("internal_token",
          "INTERNAL_TOKEN (secret internal-token) is the development default while internal routes "
          "(/metrics, cron and event functions) are guarded by it: anyone could call them",
          lambda s: not s.internal_network_guarded and is_default(s, "internal_token")),
    Check("webhook_url_key",
          "WEBHOOK_URL_KEY (secret webhook-url-key) is the development default: anyone could compute "
          "every tenant's notification URL",
          lambda s: is_default(s, "webhook_url_key"), functions=frozenset({"payment-webhook", "mock-payments"})),
    Check("database_login",
          "the database login (DATABASE_URL, secret database-url) is a superuser or has BYPASSRLS: "
          "row-level security would not separate tenants; use a NOSUPERUSER NOBYPASSRLS login",
          _privileged_database_login, database=True),
]


def unsafe_settings(settings: Settings, database: bool = True,
                    checks: Sequence[Check] | None = None, function: str | None = None) -> list[tuple[str, str]]:
    """``(name, sentence)`` of every check that fails for ``function`` (all checks when it is
    not named); a check that cannot run fails too."""
    found = []
    for check in CHECKS if checks is None else checks:
        if check.database and not database:
            continue
        if check.functions is not None and function is not None and function not in check.functions:
            continue
        try:
            if check.unsafe(settings):
                found.append((check.name, check.sentence))
        except Exception as exc:  # fail closed, whatever broke
            error = " ".join(str(exc).split())[:300]
            found.append((check.name, f"could not be checked ({type(exc).__name__}: {error}), so the start is "
                                      "refused until it can be"))
    return found


def refuse_unsafe_start(function: str, settings: Settings, database: bool = True) -> None:
    """In production mode, exit (code 78) with one log line when anything is unsafe."""
    if not settings.production:
        return
    found = unsafe_settings(settings, database, function=function)
    if not found:
        log.info("production mode: every start-up check passed", extra={"checks": [c.name for c in CHECKS]})
        return
    log.critical("refusing to start %s in production mode (PRICHAL_ENV=production): %s", function,
                 "; ".join(f"[{name}] {sentence}" for name, sentence in found),
                 extra={"unsafe": [name for name, _ in found]})
    raise SystemExit(EXIT_UNSAFE)
