"""Tenant administration from the command line, until the CRM API covers it.

    python -m prichal.admin tenants
    python -m prichal.admin payments <slug> --provider yookassa --shop-id 123456 \\
        --secret-name yookassa-demo [--api-url https://api.yookassa.ru/v3]
    python -m prichal.admin payments <slug> --provider mock        # sandbox mode only
    python -m prichal.admin webhook-url <slug> [--provider yookassa]   # the URL for the provider's cabinet
    python -m prichal.admin vat <slug> --rate 22 --from 2026-01-01
    python -m prichal.admin requisites <slug>                    # show, and say what is missing
    python -m prichal.admin requisites <slug> --file legal.json  # set (merged into what is there)
    python -m prichal.admin brand <slug> [--file brand.json]     # show, or merge in (checked first)
    python -m prichal.admin dead-letters issue-documents [--replay] [--limit 100]
    python -m prichal.admin storefront-key <slug> [--rotate]     # the key a storefront signs client ids with
    python -m prichal.admin staff-user <slug> --email E --name N [--role admin]   # staff: see prichal.cli_staff
    python -m prichal.admin tenant-onboard <slug> --name ... [--file tenant.json]   # see prichal.cli_tenants
    python -m prichal.admin seatmap-import <slug> <vessel id> map.json [--publish]  # see prichal.cli_seatmaps
    python -m prichal.admin supplier-account <slug> astra_marine --mode real   # operators: prichal.cli_suppliers
    python -m prichal.admin finance-email <slug> finance@seller.ru           # reports: see prichal.cli_reports

The YooKassa secret key is never stored: ``--secret-name`` names the key, an entry of the
OpenFaaS secret ``yookassa-keys`` (JSON ``{"<name>": "<key>"}`` or ``name=key`` lines), a
secret of its own (``/var/openfaas/secrets/<name>``) or an environment variable
(``YOOKASSA_DEMO`` for ``yookassa-demo``) that the payment functions read. A new tenant has
no provider and cannot sell until one is chosen here; ``mock`` (the sandbox) is refused
unless sandbox mode is on. The notification URL carries a per-tenant token derived from ``WEBHOOK_URL_KEY`` (secret
``webhook-url-key``): configure the one ``webhook-url`` prints; it changes when that key changes.

Requisites are what invoices and acts print (name, inn, kpp, ogrn, address, bank, bic,
correspondent_account, account; director and accountant optional); they are checked before
they are saved. Events that failed for good (e.g. documents of a seller without requisites)
wait in the function's dead-letter queue; ``dead-letters --replay`` sends them back once the
cause is fixed.

The storefront key signs a storefront's client ids (``X-Client-Id: <id>.<signature>``, see
``prichal.domain.client_ids``); every tenant gets a random one when it is created. It is a
secret of the storefront's server, shown only here; ``--rotate`` replaces it (ids signed with
the old key then count as their address, until the storefront signs with the new one).

The brand (display_name, primary_color, email_from, support_email, ...) is printed by
documents and emails: colours must be ``#rgb`` or ``#rrggbb``, addresses valid, text free of
control characters (``prichal.domain.brand``); a file that breaks a rule saves nothing.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, text, update
from sqlalchemy.dialects.postgresql import insert

from prichal import cli_reports, cli_seatmaps, cli_staff, cli_suppliers, cli_tenants
from prichal.adapters.db import tables as t
from prichal.adapters.db.engine import make_owner_engine
from prichal.adapters.payments.registry import PROVIDERS, accepted_providers
from prichal.config import get_settings
from prichal.domain.brand import brand_problems
from prichal.domain.documents import MissingRequisites, requisites
from prichal.domain.vat import VatRate
from prichal.domain.webhook_tokens import webhook_token


def _tenant_id(conn: Connection, slug: str) -> str:
    found = conn.execute(select(t.tenants.c.id).where(t.tenants.c.slug == slug)).scalar()
    if found is None:
        raise SystemExit(f"no tenant {slug!r}")
    return found


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m prichal.admin", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("tenants", help="list tenants with their hosts and payment provider")
    payments = commands.add_parser("payments", help="choose a tenant's payment provider")
    payments.add_argument("slug")
    payments.add_argument("--provider", choices=PROVIDERS, required=True)
    payments.add_argument("--shop-id")
    payments.add_argument("--secret-name", help="OpenFaaS secret or environment variable with the secret key")
    payments.add_argument("--api-url", help="a YooKassa-compatible API base URL (default: YooKassa's)")
    hook = commands.add_parser("webhook-url", help="the payment notification URL to configure for a tenant")
    hook.add_argument("slug")
    hook.add_argument("--provider", choices=PROVIDERS, help="default: the tenant's current provider")
    vat = commands.add_parser("vat", help="set a tenant's VAT rate from a date on")
    vat.add_argument("slug")
    vat.add_argument("--rate", choices=[rate.value for rate in VatRate], required=True)
    vat.add_argument("--from", dest="valid_from", type=date.fromisoformat, required=True)
    legal = commands.add_parser("requisites", help="show or set a tenant's requisites for invoices and acts")
    legal.add_argument("slug")
    legal.add_argument("--file", help="a JSON object of requisites to set ('-' reads standard input)")
    key = commands.add_parser("storefront-key", help="show (or rotate) the key a storefront signs client ids with")
    key.add_argument("slug")
    key.add_argument("--rotate", action="store_true", help="replace it with a new random key")
    brand = commands.add_parser("brand", help="show or set a tenant's brand (checked before it is saved)")
    brand.add_argument("slug")
    brand.add_argument("--file", help="a JSON object of brand values to set ('-' reads standard input); "
                                      "null removes a value")
    dead = commands.add_parser("dead-letters", help="list a function's failed events, or replay them")
    dead.add_argument("function", help="the function's name in stack.yml, e.g. issue-documents")
    dead.add_argument("--replay", action="store_true", help="send them back to the function's queue")
    dead.add_argument("--limit", type=int, default=100)
    cli_staff.add_commands(commands)
    cli_tenants.add_commands(commands)
    cli_seatmaps.add_commands(commands)
    cli_suppliers.add_commands(commands)
    cli_reports.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in cli_staff.COMMANDS or args.command in cli_tenants.COMMANDS:
        from prichal.bootstrap import container

        return (cli_staff if args.command in cli_staff.COMMANDS else cli_tenants).run(args, container())
    if args.command in cli_seatmaps.COMMANDS:
        from prichal.bootstrap import container

        return cli_seatmaps.run(args, container())
    if args.command in cli_suppliers.COMMANDS:
        from prichal.bootstrap import container

        return cli_suppliers.run(args, container())
    if args.command in cli_reports.COMMANDS:
        from prichal.bootstrap import container

        return cli_reports.run(args, container())
    if args.command == "dead-letters":
        return _dead_letters(args.function, args.replay, args.limit)
    if args.command == "payments" and args.provider == "yookassa" and not (args.shop_id and args.secret_name):
        parser.error("yookassa needs --shop-id and --secret-name")
    if args.command == "payments" and args.provider not in accepted_providers(get_settings()):
        parser.error(f"{args.provider} is the sandbox provider (any buyer can mark an order paid on its page): "
                     "accepted only in sandbox mode (PAYMENTS_SANDBOX=true, the default in development)")
    given = None
    if args.command in ("requisites", "brand") and args.file:
        given = _requisites_file(args.file) if args.command == "requisites" else _json_object_file(args.file)
        if given is None:
            return 2
    engine = make_owner_engine(get_settings().database_url)
    try:
        with engine.begin() as conn:
            if args.command == "tenants":
                code = _tenants(conn)
            elif args.command == "payments":
                code = _payments(conn, args)
            elif args.command == "requisites":
                code = _requisites(conn, args.slug, given)
            elif args.command == "storefront-key":
                code = _storefront_key(conn, args.slug, args.rotate)
            elif args.command == "brand":
                code = _brand(conn, args.slug, given)
            elif args.command == "webhook-url":
                code = _webhook_url(conn, args.slug, args.provider)
            else:
                code = _vat(conn, args)
    finally:
        engine.dispose()
    if code == 0 and (args.command in ("payments", "vat") or given is not None
                      or (args.command == "storefront-key" and args.rotate)):
        print("(functions cache tenants for a few seconds; the change applies right after)", file=sys.stderr)
    return code


def _tenants(conn: Connection) -> int:
    rows = conn.execute(text(
        "SELECT t.id, t.slug, t.name, t.payment_provider, t.payment_settings, "
        "array_remove(array_agg(d.host ORDER BY d.host), NULL) AS hosts "
        "FROM tenants t LEFT JOIN tenant_domains d ON d.tenant_id = t.id GROUP BY t.id ORDER BY t.slug"))
    for row in rows:
        print(json.dumps({"id": str(row.id), "slug": row.slug, "name": row.name, "provider": row.payment_provider,
                          "payment_settings": row.payment_settings, "hosts": row.hosts}, ensure_ascii=False))
    return 0


def _payments(conn: Connection, args: argparse.Namespace) -> int:
    tenant_id = _tenant_id(conn, args.slug)
    settings = {}
    if args.provider == "yookassa":
        settings = {"shop_id": args.shop_id, "secret_name": args.secret_name}
        if args.api_url:
            settings["api_url"] = args.api_url
    conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id)
                 .values(payment_provider=args.provider, payment_settings=settings))
    print(f"{args.slug}: payments by {args.provider} {settings or ''}".rstrip())
    print(f"{args.slug}: notifications to {webhook_url(args.provider, args.slug)}")
    return 0


def webhook_url(provider: str, slug: str) -> str:
    """``<PAYMENT_WEBHOOK_URL>/<provider>/<slug>/<token>``: what the provider's cabinet is given."""
    settings = get_settings()
    token = webhook_token(settings.webhook_url_key, provider, slug)
    return f"{settings.payment_webhook_url.rstrip('/')}/{provider}/{slug}/{token}"


def _webhook_url(conn: Connection, slug: str, provider: str | None) -> int:
    _tenant_id(conn, slug)
    current = conn.execute(select(t.tenants.c.payment_provider).where(t.tenants.c.slug == slug)).scalar()
    chosen = provider or current
    if chosen not in PROVIDERS:
        print(f"{slug} has no payment provider; say which with --provider", file=sys.stderr)
        return 2
    print(webhook_url(chosen, slug))
    return 0


def _vat(conn: Connection, args: argparse.Namespace) -> int:
    tenant_id = _tenant_id(conn, args.slug)
    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})
    statement = insert(t.tenant_vat_periods).values(tenant_id=tenant_id, valid_from=args.valid_from, rate=args.rate)
    conn.execute(statement.on_conflict_do_update(constraint="uq_tenant_vat_periods_from", set_={"rate": args.rate}))
    print(f"{args.slug}: VAT {args.rate} from {args.valid_from}")
    return 0


def _requisites(conn: Connection, slug: str, given: dict[str, Any] | None) -> int:
    """Show them (and what is missing), or merge ``given`` in, refusing an incomplete result."""
    tenant_id = _tenant_id(conn, slug)
    current = conn.execute(select(t.tenants.c.legal).where(t.tenants.c.id == tenant_id)).scalar() or {}
    merged = {**current, **given} if given is not None else current
    problems = _requisites_problems(merged)
    if given is not None:
        if problems:
            print(f"{slug}: not saved, the requisites would be incomplete:\n{problems}", file=sys.stderr)
            return 2
        conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id).values(legal=merged))
    print(json.dumps(merged, ensure_ascii=False, indent=2))
    print(f"{slug}: " + (f"incomplete:\n{problems}" if problems else "complete, invoices and acts can be issued"),
          file=sys.stderr)
    return 0


def _storefront_key(conn: Connection, slug: str, rotate: bool) -> int:
    tenant_id = _tenant_id(conn, slug)
    if rotate:
        conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id).values(storefront_key=secrets.token_hex(32)))
    key = conn.execute(select(t.tenants.c.storefront_key).where(t.tenants.c.id == tenant_id)).scalar_one()
    print(key)
    print(f"{slug}: {'a new ' if rotate else ''}storefront key; keep it on the storefront's server, never in a page. "
          "It signs X-Client-Id as <id>.<base64url HMAC-SHA256(key, 'v1\\n<slug>\\n<id>')>", file=sys.stderr)
    return 0


def _brand(conn: Connection, slug: str, given: dict[str, Any] | None) -> int:
    """Show the brand, or merge ``given`` in (``null`` removes a key), refusing any invalid value."""
    tenant_id = _tenant_id(conn, slug)
    current = conn.execute(select(t.tenants.c.brand).where(t.tenants.c.id == tenant_id)).scalar() or {}
    if given is not None:
        problems = brand_problems(given)
        if problems:
            lines = "\n".join(f"  {key}: {why}" for key, why in problems.items())
            print(f"{slug}: brand not saved:\n{lines}", file=sys.stderr)
            return 2
        current = {k: v for k, v in {**current, **given}.items() if v is not None}
        conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id).values(brand=current))
    print(json.dumps(current, ensure_ascii=False, indent=2))
    return 0


def _json_object_file(path: str) -> dict[str, Any] | None:
    try:
        given = json.loads(sys.stdin.read() if path == "-" else Path(path).read_text())
    except (OSError, ValueError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return None
    if not isinstance(given, dict):
        print(f"{path} must hold a JSON object", file=sys.stderr)
        return None
    return given


def _requisites_file(path: str) -> dict[str, Any] | None:
    try:
        given = json.loads(sys.stdin.read() if path == "-" else Path(path).read_text())
    except (OSError, ValueError) as exc:
        print(f"cannot read requisites from {path}: {exc}", file=sys.stderr)
        return None
    if not isinstance(given, dict) or not all(isinstance(v, str | None) for v in given.values()):
        print("requisites must be a JSON object of strings", file=sys.stderr)
        return None
    return given


def _requisites_problems(legal: dict[str, Any]) -> str:
    """What keeps these requisites from an invoice, one line each; empty when complete."""
    try:
        requisites(legal)
    except MissingRequisites as exc:
        return "\n".join(f"  {'.'.join(map(str, p['loc'][1:]))}: {p['msg']}" for p in exc.errors)
    return ""


def _dead_letters(function: str, replay: bool, limit: int) -> int:
    try:  # the local runtime's package; not installed in production images
        from prichal_localrun.dead_letters import DeadLetters, NoSuchQueue
    except ModuleNotFoundError as exc:
        if exc.name != "prichal_localrun" and not (exc.name or "").startswith("prichal_localrun."):
            raise
        print("dead-letters needs the local runtime's package prichal-localrun "
              "(pip install -e ./localrun, or make venv)", file=sys.stderr)
        return 2

    queue = DeadLetters(function)
    try:
        letters = queue.replay(limit) if replay else queue.peek(limit)
    except NoSuchQueue as exc:
        print(exc, file=sys.stderr)
        return 2
    for letter in letters:
        print(json.dumps(letter.summary(), ensure_ascii=False))
    verb = "replayed to" if replay else "parked in"
    print(f"{len(letters)} event(s) {verb} {queue.queues.main if replay else queue.queues.dead}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
