"""Finance reports end to end: a million ticket lines to XLSX and CSV through the functions.

    .venv/bin/python bench/reports.py                 # 1,000,000 lines
    .venv/bin/python bench/reports.py --lines 100000  # a quicker look

Makes its own database (``prichal_bench_reports_<hex>``, dropped at the end unless
``--keep-db``), a demo tenant and ``--lines`` ticket lines (4 per order, one order in 50
with a refunded ticket) seeded in SQL, and a moto S3 server on loopback. Then, per format,
a fresh Python process does what finance and the platform do: ``POST /reports`` to
report-export (the seller's staff token), the ``report.requested`` event from the outbox
to report-worker (the OpenFaaS contract, as the connector delivers it), until the job is
done: PostgreSQL -> file -> multipart upload to S3. Each child prints its wall time and
peak RSS (``ru_maxrss``: that process only; PostgreSQL and the S3 server run apart).

Prints figures, never passes or fails on them; the last line is one JSON object:
``rows``, ``xlsx_seconds``, ``csv_seconds``, ``xlsx_peak_rss_mb``, ``csv_peak_rss_mb``
(``csv`` is the RFC 4180 dialect; ``csv-excel`` costs the same).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared"), str(ROOT / "localrun")]

PG = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
PERIOD = ("2026-11-01", "2026-11-30")

SEED = """
-- no FK triggers while seeding (the rows reference each other by construction)
SET LOCAL session_replication_role = replica;
INSERT INTO seat_holds (token, tenant_id, sailing_id, client_id, quantity, status, expires_at)
SELECT 'bench-' || o, %(t)s, (%(s)s::uuid[])[1 + o %% %(n)s], 'bench', 4, 'ordered', now()
FROM generate_series(1, %(orders)s) o;
INSERT INTO orders (id, tenant_id, number, status, sailing_id, hold_token, client_id, customer_name, customer_email,
                    total, vat_total, access_token_hash, created_at, expires_at, paid_at)
SELECT md5('o' || o)::uuid, %(t)s, o, 'paid', (%(s)s::uuid[])[1 + o %% %(n)s], 'bench-' || o, 'bench', 'Покупатель',
       'buyer@example.test', 4700.00, 847.54, md5('h' || o), at - interval '3 minutes', at + interval '12 minutes', at
FROM (SELECT o, timestamptz '2026-11-01 00:00:00+03' + (o::float8 / %(orders)s) * interval '29 days 23 hours' AS at
      FROM generate_series(1, %(orders)s) o) g;
INSERT INTO tickets (id, tenant_id, sailing_id, order_id, tariff_id, hold_token, status)
SELECT md5('t' || o || '-' || p)::uuid, %(t)s, (%(s)s::uuid[])[1 + o %% %(n)s], md5('o' || o)::uuid, %(tariff)s,
       'bench-' || o, CASE WHEN o %% 50 = 0 AND p = 1 THEN 'refunded' ELSE 'sold' END
FROM generate_series(1, %(orders)s) o, generate_series(1, 4) p;
INSERT INTO order_items (tenant_id, order_id, ticket_id, position, tariff_id, ticket_type, description, price,
                         vat_rate, vat_amount)
SELECT %(t)s, md5('o' || o)::uuid, md5('t' || o || '-' || p)::uuid, p, %(tariff)s,
       (ARRAY['adult', 'child', 'adult', 'concession'])[p], 'Реки и каналы, билет',
       (ARRAY[1500.00, 1000.00, 1500.00, 700.00])[p], '22', (ARRAY[270.49, 180.33, 270.49, 126.23])[p]
FROM generate_series(1, %(orders)s) o, generate_series(1, 4) p;
INSERT INTO payments (id, tenant_id, order_id, provider, provider_payment_id, status, amount, idempotence_key,
                      created_at, updated_at)
SELECT md5('p' || o)::uuid, %(t)s, md5('o' || o)::uuid, 'yookassa', '2f' || substr(md5('y' || o), 1, 30),
       'succeeded', 4700.00, md5('k' || o), now(), now()
FROM generate_series(1, %(orders)s) o;
INSERT INTO refunds (id, tenant_id, order_id, payment_id, provider_refund_id, status, amount, reason,
                     idempotence_key)
SELECT md5('r' || o)::uuid, %(t)s, md5('o' || o)::uuid, md5('p' || o)::uuid, 'r-' || o, 'succeeded', 1350.00, 'buyer',
       md5('r' || o)
FROM generate_series(50, %(orders)s, 50) o;
INSERT INTO refund_items (tenant_id, refund_id, order_id, ticket_id, price, fee, amount)
SELECT %(t)s, md5('r' || o)::uuid, md5('o' || o)::uuid, md5('t' || o || '-1')::uuid, 1500.00, 150.00, 1350.00
FROM generate_series(50, %(orders)s, 50) o;
"""


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(fmt: str) -> None:
    """One export in this (fresh) process: POST to report-export, the event to report-worker."""
    from sqlalchemy import create_engine, select

    from prichal.adapters.db import tables as t
    from prichal.services.outbox import message
    from tests.support import call, internal

    slug = os.environ["BENCH_SLUG"]
    owner = create_engine(os.environ["DATABASE_URL"])
    started = time.perf_counter()
    asked = call("report-export", "POST", "/reports",
                 body={"report": "sales_register", "format": fmt, "from": PERIOD[0], "to": PERIOD[1]},
                 headers={"Host": f"{slug}.bench.test", "Authorization": f"Bearer {os.environ['BENCH_TOKEN']}"})
    assert asked.status == 202, asked.json
    job_id = asked.json["job_id"]
    before = _rss_mb()  # the function loaded and serving: what the export adds comes on top
    with owner.connect() as conn:
        row = next(r for r in conn.execute(select(t.outbox).where(t.outbox.c.type == "report.requested"))
                   if r.data["job_id"] == job_id)
    done = call("report-worker", "POST", "/", body=message(row), headers=internal())
    seconds = time.perf_counter() - started
    assert done.status == 200 and done.json["status"] == "done", done.json
    print(json.dumps({"format": fmt, "rows": done.json["rows"], "seconds": round(seconds, 2),
                      "size_mb": round(done.json["size"] / 2**20, 1), "peak_rss_mb": round(_rss_mb(), 1),
                      "rss_before_export_mb": round(before, 1)}))


def finance_token(url: str, tenant_id: str) -> str:
    """An API token of a finance user (no password: API tokens only), made as the CLI makes it."""
    from prichal.bootstrap import Container
    from prichal.config import Settings

    container = Container(Settings(database_url=url))
    try:
        auth = container.staff_auth
        user = auth.create_user(tenant_id, "bench", email="finance@bench.test", name="Bench finance",
                                role="finance", password=None)
        return auth.issue_api_token(tenant_id, "bench", user_id=str(user["id"]), name="bench",
                                    scopes=["reports.export"]).token
    finally:
        container.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0

    from sqlalchemy import create_engine, text

    from prichal.adapters.db import migrate
    from prichal_localrun.s3server import spawn_s3_server
    from prichal_localrun.seed import build_demo

    name = f"prichal_bench_reports_{uuid.uuid4().hex[:8]}"
    url = f"{PG}/{name}"
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    s3 = None
    try:
        migrate.upgrade(url)
        owner = create_engine(url)
        slug = f"bench-{uuid.uuid4().hex[:6]}"
        orders = args.lines // 4
        started = time.perf_counter()
        with owner.begin() as conn:
            ids = build_demo(conn, slug=slug, hosts=(f"{slug}.bench.test",), days=7)
            sailings = [s["id"] for s in ids.sailings if s["seating"] == "free"]
            tariff = conn.execute(text("SELECT id FROM tariffs WHERE program_id = :p LIMIT 1"),
                                  {"p": ids.free_program_id}).scalar_one()
            raw = conn.connection.driver_connection
            values = {"t": ids.tenant_id, "s": sailings, "n": len(sailings), "orders": orders, "tariff": tariff}
            with raw.cursor() as cursor:
                for statement in filter(str.strip, SEED.split(";\n")):
                    cursor.execute(statement, values if "%(" in statement else None)
        with owner.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("VACUUM ANALYZE"))
        print(f"seeded {orders * 4:,} ticket lines in {time.perf_counter() - started:.1f} s", flush=True)
        token = finance_token(url, ids.tenant_id)
        s3 = spawn_s3_server("prichal")
        env = {**os.environ, "DATABASE_URL": url, "S3_ENDPOINT_URL": s3.endpoint_url, "PUBLISH_INLINE": "false",
               "REPORT_MAX_CONCURRENT_JOBS": "10", "BENCH_SLUG": slug, "TRUSTED_PROXY_HOPS": "0",
               "BENCH_TOKEN": token, "LOG_LEVEL": "WARNING",
               "EVENTS_EXCHANGE": f"prichal.bench.{uuid.uuid4().hex[:6]}"}
        results = {}
        for fmt in ("xlsx", "csv"):
            out = subprocess.run([sys.executable, __file__, "--child", fmt], env=env, capture_output=True, text=True,
                                 check=False, cwd=ROOT)
            if out.returncode != 0:
                print(out.stdout, out.stderr[-3000:], file=sys.stderr)
                return 1
            results[fmt] = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(results[fmt]), flush=True)
        print(json.dumps({"rows": results["xlsx"]["rows"], "xlsx_seconds": results["xlsx"]["seconds"],
                          "csv_seconds": results["csv"]["seconds"],
                          "xlsx_peak_rss_mb": results["xlsx"]["peak_rss_mb"],
                          "csv_peak_rss_mb": results["csv"]["peak_rss_mb"]}))
        return 0
    finally:
        if s3 is not None:
            s3.stop()
        if not args.keep_db:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
