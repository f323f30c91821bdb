"""Tenant administration from the command line, until the CRM API covers it.

    python -m prichal.admin tenants
    python -m prichal.admin payments <slug> --provider yookassa --shop-id 123456 \\
        --secret-name yookassa-demo [--api-url https://api.yookassa.ru/v3]
    python -m prichal.admin payments <slug> --provider mock
    python -m prichal.admin vat <slug> --rate 22 --from 2026-01-01

The YooKassa secret key is never stored: ``--secret-name`` names an OpenFaaS secret
(``/var/openfaas/secrets/<name>``) or an environment variable (``YOOKASSA_DEMO`` for
``yookassa-demo``) that the payment functions read.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from prichal.adapters.db import tables as t
from prichal.adapters.db.engine import make_owner_engine
from prichal.adapters.payments.registry import PROVIDERS
from prichal.config import get_settings
from prichal.domain.vat import VatRate


def _tenant_id(conn, slug: str) -> str:
    found = conn.execute(select(t.tenants.c.id).where(t.tenants.c.slug == slug)).scalar()
    if found is None:
        raise SystemExit(f"no tenant {slug!r}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prichal.admin", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("tenants", help="list tenants with their hosts and payment provider")
    payments = commands.add_parser("payments", help="choose a tenant's payment provider")
    payments.add_argument("slug")
    payments.add_argument("--provider", choices=PROVIDERS, required=True)
    payments.add_argument("--shop-id")
    payments.add_argument("--secret-name", help="OpenFaaS secret or environment variable with the secret key")
    payments.add_argument("--api-url", help="a YooKassa-compatible API base URL (default: YooKassa's)")
    vat = commands.add_parser("vat", help="set a tenant's VAT rate from a date on")
    vat.add_argument("slug")
    vat.add_argument("--rate", choices=[rate.value for rate in VatRate], required=True)
    vat.add_argument("--from", dest="valid_from", type=date.fromisoformat, required=True)
    args = parser.parse_args(argv)

    engine = make_owner_engine(get_settings().database_url)
    try:
        with engine.begin() as conn:
            if args.command == "tenants":
                rows = conn.execute(text(
                    "SELECT t.slug, t.name, t.payment_provider, t.payment_settings, "
                    "array_remove(array_agg(d.host ORDER BY d.host), NULL) AS hosts "
                    "FROM tenants t LEFT JOIN tenant_domains d ON d.tenant_id = t.id GROUP BY t.id ORDER BY t.slug"))
                for row in rows:
                    print(json.dumps({"slug": row.slug, "name": row.name, "provider": row.payment_provider,
                                      "payment_settings": row.payment_settings, "hosts": row.hosts},
                                     ensure_ascii=False))
            elif args.command == "payments":
                tenant_id = _tenant_id(conn, args.slug)
                settings = {}
                if args.provider == "yookassa":
                    if not args.shop_id or not args.secret_name:
                        parser.error("yookassa needs --shop-id and --secret-name")
                    settings = {"shop_id": args.shop_id, "secret_name": args.secret_name}
                    if args.api_url:
                        settings["api_url"] = args.api_url
                conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id)
                             .values(payment_provider=args.provider, payment_settings=settings))
                print(f"{args.slug}: payments by {args.provider} {settings or ''}".rstrip())
            else:
                tenant_id = _tenant_id(conn, args.slug)
                conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})
                statement = insert(t.tenant_vat_periods).values(tenant_id=tenant_id, valid_from=args.valid_from,
                                                                rate=args.rate)
                conn.execute(statement.on_conflict_do_update(constraint="uq_tenant_vat_periods_from",
                                                             set_={"rate": args.rate}))
                print(f"{args.slug}: VAT {args.rate} from {args.valid_from}")
    finally:
        engine.dispose()
    print("(functions cache tenants for a few seconds; the change applies right after)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
