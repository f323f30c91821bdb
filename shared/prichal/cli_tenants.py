"""Tenant onboarding from the command line: the same service as the admin API's /tenants.

    python -m prichal.admin tenant-onboard <slug> --name "Северный ветер" [--host tickets.veter.ru] \\
        [--file tenant.json]                 # a new tenant, sales closed; prints it and what is missing
    python -m prichal.admin tenant-update <slug> --file change.json   # brand/legal merge, hosts/VAT replace
    python -m prichal.admin tenant-show <slug>
    python -m prichal.admin tenant-readiness <slug>   # exit 0 when complete, 1 with the list otherwise
    python -m prichal.admin tenant-open-sales <slug>  # refused (exit 1) until nothing is missing
    python -m prichal.admin tenant-close-sales <slug>

The file is a JSON object as ``POST /tenants`` takes it: ``brand``, ``legal``, ``hosts``,
``vat`` (``included``, ``tax_system_code``, ``rates``: ``[{"valid_from", "rate"}]``),
``payment`` (``provider``, ``shop_id``, ``secret_name``: the NAME of the secret that holds
the key; a key itself is refused), ``refund_policy``, ``timezone``, ``email_sender``. A file
that breaks a rule saves nothing and names every field. Every command writes the tenant's
audit log as ``cli:<login>``. The first staff admin of the tenant: ``staff-user``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from prichal.domain.errors import DomainError, InvalidInput

COMMANDS = frozenset({"tenant-onboard", "tenant-update", "tenant-show", "tenant-readiness", "tenant-open-sales",
                      "tenant-close-sales"})


def add_commands(subparsers: Any) -> None:
    onboard = subparsers.add_parser("tenant-onboard", help="create a tenant (sales closed until it is complete)")
    onboard.add_argument("slug")
    onboard.add_argument("--name", required=True, help="the seller's name")
    onboard.add_argument("--host", action="append", default=[], help="a storefront host name (repeat)")
    onboard.add_argument("--file", help="a JSON object of settings ('-' reads standard input)")
    change = subparsers.add_parser("tenant-update", help="change a tenant's settings from a JSON file")
    change.add_argument("slug")
    change.add_argument("--file", required=True, help="a JSON object of settings ('-' reads standard input)")
    for name, about in (("tenant-show", "show a tenant (never a secret)"),
                        ("tenant-readiness", "what keeps a tenant from selling"),
                        ("tenant-open-sales", "open a complete tenant's sales"),
                        ("tenant-close-sales", "stop a tenant's sales")):
        subparsers.add_parser(name, help=about).add_argument("slug")


def run(args: argparse.Namespace, container: Any) -> int:
    """Run one of ``COMMANDS`` with the process container's onboarding service."""
    from pydantic import ValidationError

    from prichal.entrypoints.admin_tenants import TenantChange, settings_of

    service = container.tenant_onboarding
    actor = f"cli:{_login()}"
    try:
        raw = _file(args.file) if getattr(args, "file", None) else {}
        try:  # the API's own model: one shape for both
            values = settings_of(TenantChange.model_validate(raw))
        except ValidationError as exc:
            raise InvalidInput("the file breaks the tenant's schema", errors=[
                {"loc": list(e["loc"]), "type": e["type"], "msg": e["msg"]} for e in exc.errors()]) from exc
        if args.command == "tenant-onboard":
            if args.host:
                values["hosts"] = [*values.get("hosts", []), *args.host]
            return _show(service.create(actor, args.slug, args.name, values))
        if args.command == "tenant-update":
            return _show(service.update(actor, args.slug, values))
        if args.command == "tenant-show":
            return _show(service.get(args.slug))
        if args.command == "tenant-readiness":
            missing = service.readiness(args.slug)
            for item in missing:
                print(f"  {'.'.join(item.loc)}: {item.msg}", file=sys.stderr)
            print(f"{args.slug}: " + ("complete, sales can open" if not missing else f"{len(missing)} missing"),
                  file=sys.stderr)
            return 1 if missing else 0
        if args.command == "tenant-open-sales":
            return _show(service.open_sales(actor, args.slug))
        return _show(service.close_sales(actor, args.slug))
    except DomainError as exc:
        print(f"{args.slug}: {exc.detail}", file=sys.stderr)
        for problem in getattr(exc, "errors", None) or exc.extra.get("errors") or []:
            print(f"  {'.'.join(map(str, problem['loc']))}: {problem['msg']}", file=sys.stderr)
        return 2 if isinstance(exc, InvalidInput) else 1


def _show(view: dict[str, Any]) -> int:
    print(json.dumps({k: v for k, v in view.items() if k != "missing"}, ensure_ascii=False, indent=2))
    for problem in view["missing"]:
        print(f"  missing {'.'.join(map(str, problem['loc']))}: {problem['msg']}", file=sys.stderr)
    print(f"{view['slug']}: sales {'open' if view['sales_open'] else 'closed'}"
          + (f", {len(view['missing'])} thing(s) missing" if view["missing"] else ", complete"), file=sys.stderr)
    return 0


def _file(path: str) -> dict[str, Any]:
    try:
        given = json.loads(sys.stdin.read() if path == "-" else Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from exc
    if not isinstance(given, dict):
        raise InvalidInput(f"{path} must hold a JSON object")
    return given


def _login() -> str:
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER") or "unknown"
