"""Refunds from the command line: cancel a sailing (and refund its buyers), its progress,
the tenant's refund policy.

    python -m prichal.admin cancel-sailing <slug> <sailing id> --reason "шторм" [--max-batches N]
    python -m prichal.admin cancellation <slug> <sailing id>
    python -m prichal.admin refund-policy <slug> [--file policy.json | -]

``cancel-sailing`` cancels the sailing once (``sailing.canceled``), stops its sales and
refunds every paid order in full, in batches of REFUND_BATCH_SIZE orders; run it again (or
let the refund-reconcile cron do it) to resume after a crash or a ``--max-batches`` stop:
no order is refunded twice. It prints the progress (refunded / total) as JSON lines.
``refund-policy`` shows the policy, or replaces it with a checked JSON document (shape in
``prichal.domain.refund_policy``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from sqlalchemy import select, update

from prichal.domain.errors import DomainError
from prichal.domain.refund_policy import check_policy

COMMANDS = frozenset({"cancel-sailing", "cancellation", "refund-policy"})


def add_commands(subparsers: Any) -> None:
    cancel = subparsers.add_parser("cancel-sailing", help="cancel a sailing and refund every paid order in full")
    cancel.add_argument("slug")
    cancel.add_argument("sailing_id")
    cancel.add_argument("--reason", required=True, help="why (buyers read it in their refund email)")
    cancel.add_argument("--max-batches", type=int, default=None, help="stop after this many batches")
    progress = subparsers.add_parser("cancellation", help="the progress of a sailing's cancellation")
    progress.add_argument("slug")
    progress.add_argument("sailing_id")
    policy = subparsers.add_parser("refund-policy", help="show or set a tenant's refund policy (JSON)")
    policy.add_argument("slug")
    policy.add_argument("--file", help="a JSON policy to set ('-' reads standard input)")


def run(args: argparse.Namespace, container: Any) -> int:
    """Run one of ``COMMANDS`` with the process container."""
    from prichal.services.refunds import SystemActor

    tenant = container.tenants.by_slug(args.slug)
    if tenant is None:
        print(f"no tenant {args.slug}", file=sys.stderr)
        return 2
    try:
        if args.command == "cancel-sailing":
            result = container.refunds.cancel_sailing(tenant, args.sailing_id, SystemActor(f"cli:{_login()}"),
                                                      args.reason, max_batches=args.max_batches)
            _print(result)
            return 0 if result.status == "done" else 3
        if args.command == "cancellation":
            _print(container.refunds.progress(tenant, args.sailing_id))
            return 0
        return _policy(args, tenant.id)
    except DomainError as exc:
        print(f"{exc.code}: {exc.detail}", file=sys.stderr)
        for error in getattr(exc, "errors", []):
            print(f"  {'.'.join(str(p) for p in error['loc'])}: {error['msg']}", file=sys.stderr)
        return 2


def _policy(args: argparse.Namespace, tenant_id: str) -> int:
    from prichal.adapters.db import tables as t
    from prichal.adapters.db.engine import make_owner_engine
    from prichal.config import get_settings

    engine = make_owner_engine(get_settings().database_url)
    try:
        with engine.begin() as conn:
            if args.file is None:
                current = conn.execute(select(t.tenants.c.refund_policy).where(t.tenants.c.id == tenant_id))
                print(json.dumps(current.scalar_one(), ensure_ascii=False, indent=2))
                return 0
            raw = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
            try:
                policy = json.loads(raw)
            except ValueError as exc:
                print(f"not JSON: {exc}", file=sys.stderr)
                return 2
            check_policy(policy)
            conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id).values(refund_policy=policy))
    finally:
        engine.dispose()
    print(f"{args.slug}: refund policy set", file=sys.stderr)
    return 0


def _print(progress: Any) -> None:
    print(json.dumps({"sailing_id": progress.sailing_id, "status": progress.status, "refunded": progress.refunded,
                      "total": progress.total, "left": progress.left, "unpaid": progress.unpaid,
                      "reason": progress.reason, "canceled_by": progress.canceled_by}, ensure_ascii=False))


def _login() -> str:
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
