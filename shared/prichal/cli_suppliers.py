"""Boat-operator accounts and sync runs from the command line.

    python -m prichal.admin supplier-account <slug> astra_marine [--mode real|stub] \\
        [--base-url URL] [--secret-name astra-demo] [--email agent@seller.ru] [--off]
    python -m prichal.admin supplier-accounts <slug>
    python -m prichal.admin supplier-runs <slug> [--limit 20]
    python -m prichal.admin supplier-sync <slug> [--days 3]        # one sync now, every account
    python -m prichal.admin supplier-mismatches <slug>             # what reconciliation found

The credential is never stored: ``--secret-name`` names an entry of the ``supplier-keys``
bundle (or a secret of its own) that the supplier functions read; without it the operator's
default (``astra-auth`` = ``user:password``, ``neva-api-key``). Without ``--mode`` the mode is
``ASTRA_USE_STUB`` / ``NEVA_USE_STUB``'s; stub mode is refused in production.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from prichal.domain.errors import DomainError
from prichal.domain.suppliers import Supplier, SupplierAccount, SupplierMode

COMMANDS = frozenset({"supplier-account", "supplier-accounts", "supplier-runs", "supplier-sync",
                      "supplier-mismatches"})


def add_commands(subparsers: Any) -> None:
    account = subparsers.add_parser("supplier-account", help="set a tenant's account with a boat operator")
    account.add_argument("slug")
    account.add_argument("supplier", choices=[s.value for s in Supplier])
    account.add_argument("--mode", choices=[m.value for m in SupplierMode])
    account.add_argument("--base-url")
    account.add_argument("--secret-name", help="the credential's entry in the supplier-keys secret")
    account.add_argument("--email", help="Astra Marine: the agent email that selects agent prices")
    account.add_argument("--off", action="store_true", help="stop syncing and pushing for this account")
    for name, text in (("supplier-accounts", "list a tenant's operator accounts"),
                       ("supplier-mismatches", "what the reconciliation found")):
        subparsers.add_parser(name, help=text).add_argument("slug")
    runs = subparsers.add_parser("supplier-runs", help="a tenant's last sync and reconciliation runs")
    runs.add_argument("slug")
    runs.add_argument("--limit", type=int, default=20)
    sync = subparsers.add_parser("supplier-sync", help="sync a tenant's operators now")
    sync.add_argument("slug")
    sync.add_argument("--days", type=int, default=3)


def run(args: Any, container: Any) -> int:
    tenant = container.tenants.by_slug(args.slug)
    if tenant is None:
        print(f"no tenant {args.slug!r}")
        return 1
    try:
        return _run(args, container, tenant)
    except DomainError as exc:
        print(f"{exc.code}: {exc.detail}")
        return 1


def _run(args: Any, container: Any, tenant: Any) -> int:
    settings = container.settings
    with container.uow(tenant.id) as uow:
        if args.command == "supplier-account":
            supplier = Supplier(args.supplier)
            default_stub = settings.astra_use_stub if supplier is Supplier.ASTRA_MARINE else settings.neva_use_stub
            mode = SupplierMode(args.mode or ("stub" if default_stub else "real"))
            if mode is SupplierMode.STUB and settings.production:
                print("stub mode is refused in production")
                return 1
            uow.suppliers.set_account(SupplierAccount(supplier, mode, args.base_url, args.secret_name, args.email,
                                                      active=not args.off))
            uow.commit()
            print(f"{tenant.slug}: {supplier.value} {mode.value}{' (off)' if args.off else ''}")
            return 0
        if args.command == "supplier-accounts":
            for account in uow.suppliers.accounts():
                print(json.dumps({"supplier": account.supplier.value, "mode": account.mode.value,
                                  "base_url": account.base_url, "secret_name": account.secret_name,
                                  "email": account.email}))
            return 0
        if args.command == "supplier-runs":
            for row in uow.suppliers.runs()[-args.limit:]:
                print(json.dumps(row, default=str, ensure_ascii=False))
            return 0
        if args.command == "supplier-mismatches":
            for row in uow.suppliers.mismatches():
                print(json.dumps(row, default=str, ensure_ascii=False))
            return 0
        accounts = uow.suppliers.accounts()
    today = container.now().date()
    failed = 0
    for account in accounts:
        result = container.supplier_sync.sync(tenant.id, account, today, today + timedelta(days=args.days - 1))
        print(json.dumps(result.as_dict(), ensure_ascii=False))
        failed += result.status == "failed"
    return 1 if failed else 0
