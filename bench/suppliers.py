"""Benchmark: catalog sync from the operators' stub servers and sales pushed to them.

    python bench/suppliers.py [--season-days 120] [--orders 30]

In process, against its own database ``prichal_bench_suppliers`` (created, migrated and
dropped) and both stub servers on free loopback ports: the first season sync of each
operator (everything created), the same again (nothing changes), a near sync, and
``--orders`` paid orders pushed (register + confirm). The last line of stdout is one JSON
object with the figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--season-days", type=int, default=120)
    parser.add_argument("--orders", type=int, default=15)  # a "many" bucket sells 20
    args = parser.parse_args()

    from prichal.adapters.db import migrate
    from prichal.adapters.suppliers.mapping import OPERATOR_ZONE
    from prichal.bootstrap import Container
    from prichal.config import Settings
    from prichal.domain.suppliers import Supplier, SupplierAccount, SupplierMode
    from prichal_localrun.seed import build_demo
    from prichal_sandbox.suppliers import StubServer
    from tests.supplier_support import RecordingReversal, paid_event, paid_order, supplier_sailings

    name = f"prichal_bench_suppliers_{uuid.uuid4().hex[:6]}"
    url = f"{PG}/{name}"
    migrate.upgrade(url)
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    figures: dict[str, float] = {}
    try:
        with StubServer("astra") as astra, StubServer("neva") as neva:
            owner = create_engine(url)
            with owner.begin() as conn:
                demo = build_demo(conn, slug="bench", hosts=("bench.example.test",), days=1)
            owner.dispose()
            c = Container(Settings(database_url=url, astra_stub_url=astra.url, neva_stub_url=neva.url,
                                   redis_prefix=f"bench-sup:{uuid.uuid4().hex[:6]}:", publish_inline=False))
            c.__dict__["supplier_reversal"] = RecordingReversal()
            tenant = c.tenants.by_slug("bench")
            with c.uow(tenant.id) as uow:
                for supplier in Supplier:
                    uow.suppliers.set_account(SupplierAccount(supplier, SupplierMode.STUB))
                accounts = uow.suppliers.accounts()
                uow.commit()
            today = c.now().astimezone(OPERATOR_ZONE).date()
            for label, days in (("season_first", args.season_days), ("season_again", args.season_days),
                                ("near", 3)):
                for account in accounts:
                    started = time.perf_counter()
                    result = c.supplier_sync.sync(tenant.id, account, today, today + timedelta(days=days - 1))
                    elapsed = time.perf_counter() - started
                    key = f"{label}_{account.supplier.value}"
                    figures[f"{key}_seconds"] = round(elapsed, 3)
                    figures[f"{key}_created"] = result.created
                    print(f"{key}: {elapsed:.2f} s, created {result.created}, updated {result.updated}",
                          file=sys.stderr)
            sailing = supplier_sailings(c, tenant, Supplier.NEVA_TRAVEL)[0]
            orders = [paid_order(c, tenant, sailing.id, types=("adult",)) for _ in range(args.orders)]
            started = time.perf_counter()
            for order in orders:
                c.supplier_orders.on_event(paid_event(order))
            elapsed = time.perf_counter() - started
            figures["push_orders"] = args.orders
            figures["push_ms_per_order"] = round(elapsed * 1000 / max(args.orders, 1), 1)
            c.close()
            del demo
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
