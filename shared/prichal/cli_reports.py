"""Finance reports from the command line: the finance address, and a report now.

    python -m prichal.admin finance-email <slug> finance@seller.ru   # where scheduled reports go ('-': none)
    python -m prichal.admin report <slug> sales_register --from 2026-12-01 --to 2026-12-31 [--format xlsx]
    python -m prichal.admin report-schedule                            # what report-schedule does, now

``report`` asks for the job as the CLI (``requested_by`` ``cli:<login>``) and prints it; the
report-worker prepares it when its event arrives (``make run`` delivers it).
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import date
from typing import Any

from sqlalchemy import update

from prichal.domain.contacts import BadAddress, normalize_email
from prichal.domain.errors import DomainError
from prichal.domain.reports import ReportFormat

COMMANDS = frozenset({"finance-email", "report", "report-schedule"})


def add_commands(subparsers: Any) -> None:
    finance = subparsers.add_parser("finance-email", help="where a tenant's scheduled reports are e-mailed")
    finance.add_argument("slug")
    finance.add_argument("address", help="an e-mail address, or '-' for none")
    report = subparsers.add_parser("report", help="ask for a finance report now")
    report.add_argument("slug")
    report.add_argument("report", help="sales_register, payments_refunds, daily_summary, vat_summary, "
                                       "supplier_settlement")
    report.add_argument("--from", dest="date_from", type=date.fromisoformat, required=True)
    report.add_argument("--to", dest="date_to", type=date.fromisoformat, required=True)
    report.add_argument("--format", choices=[f.value for f in ReportFormat], default="xlsx")
    subparsers.add_parser("report-schedule", help="request the reports due at this hour (as the cron does)")


def run(args: argparse.Namespace, container: Any) -> int:
    if args.command == "report-schedule":
        print(json.dumps({"requested": container.reports.schedule()}))
        return 0
    tenant = container.tenants.by_slug(args.slug)
    if tenant is None:
        print(f"no active tenant {args.slug!r}")
        return 1
    try:
        if args.command == "finance-email":
            address = None if args.address == "-" else normalize_email(args.address)
            from prichal.adapters.db.engine import make_owner_engine
            from prichal.adapters.db.tables import tenants

            engine = make_owner_engine(container.settings.database_url)
            with engine.begin() as conn:
                conn.execute(update(tenants).where(tenants.c.id == tenant.id).values(finance_email=address))
            engine.dispose()
            print(json.dumps({"tenant": tenant.slug, "finance_email": address}))
            return 0
        job = container.reports.request(tenant, report=args.report, fmt=ReportFormat(args.format),
                                        date_from=args.date_from, date_to=args.date_to,
                                        requested_by=f"cli:{getpass.getuser()}")
    except (DomainError, BadAddress) as exc:
        print(f"refused: {getattr(exc, 'detail', exc)}")
        return 1
    print(json.dumps({"job_id": job.id, "report": job.report, "format": job.format.value,
                      "status": job.status.value, **job.parameters.to_json()}, ensure_ascii=False))
    return 0
