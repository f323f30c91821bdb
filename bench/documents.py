"""Benchmark: issue the documents of a batch of paid orders end to end.

    python bench/documents.py [--orders 120] [--seats 2] [--processes <2 x cores>] [--renderer auto|html]

For every order: record the rows and numbers in PostgreSQL, render the e-tickets (with
signed QR codes), the invoice and the act, store them in S3 (a moto server over HTTP on
loopback) with their sha256, and email the buyer (an aiosmtpd sink on loopback) —
``DocumentService.issue`` exactly as ``issue-documents`` runs it. ``--renderer auto`` (the
default, as in production) draws our designs with ReportLab; ``html`` renders the HTML
templates with WeasyPrint, as for a tenant with templates of its own.

Orders are spread over a process pool: two per core by default, because a worker spends
part of each order waiting for S3, SMTP and PostgreSQL (as a function replica serves a few
requests at once); each process warms up first (fonts, stylesheet, one throw-away render),
as a long-lived function would be. The S3 server, the SMTP sink and PostgreSQL run on the
same cores and their CPU counts against the figure.

It uses a database of its own (``prichal_bench_documents``, dropped at the end) and a demo
tenant from ``build_demo``; paid orders are written with ``tests/documents_support.py``.
Progress goes to stderr; the last line of stdout is one JSON object. Goal: >= 30 documents
per second per core (printed, never asserted).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402

from prichal.adapters.db import migrate  # noqa: E402
from prichal.bootstrap import Container  # noqa: E402
from prichal.config import Settings  # noqa: E402
from prichal_localrun.seed import ZONE, build_demo  # noqa: E402
from tests.documents_support import SmtpSink, moto_s3, order_paid_event, paid_order  # noqa: E402

PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
GOAL_PER_CORE = 30

_container: Container | None = None
_render_seconds = [0.0]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _settings(database_url: str, s3_url: str, smtp_port: int, renderer: str = "auto") -> Settings:
    return Settings(database_url=database_url, s3_endpoint_url=s3_url, smtp_host="127.0.0.1", smtp_port=smtp_port,
                    redis_prefix=f"bench-docs:{uuid.uuid4().hex[:8]}:", log_level="WARNING",
                    document_renderer=renderer)


def _warm(database_url: str, s3_url: str, smtp_port: int, renderer: str) -> None:
    """Pool initializer: one container per process, its fonts (and stylesheet) loaded."""
    global _container
    _container = Container(_settings(database_url, s3_url, smtp_port, renderer))
    pdf = _container.pdf_renderer  # fonts parsed outside the measured part
    if renderer == "html":
        pdf.html  # noqa: B018 - WeasyPrint imported, stylesheet parsed
    _container.ticket_signer  # noqa: B018
    plain = pdf.render

    def timed(*args, **kwargs):  # how much of the time is drawing the PDFs
        started = time.perf_counter()
        try:
            return plain(*args, **kwargs)
        finally:
            _render_seconds[0] += time.perf_counter() - started

    pdf.render = timed  # type: ignore[method-assign]


def _issue(events: list[dict]) -> tuple[int, int, float]:
    assert _container is not None
    documents = 0
    for event in events:
        documents += _container.documents.issue_for_event(event)["rendered"]
    return documents, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, _render_seconds[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cores = os.cpu_count() or 1
    parser.add_argument("--orders", type=int, default=120)
    parser.add_argument("--seats", type=int, default=2, help="tickets per order (plus an invoice and an act)")
    parser.add_argument("--processes", type=int, default=2 * cores)
    parser.add_argument("--renderer", choices=["auto", "html"], default="auto",
                        help="auto: our designs with ReportLab; html: the HTML templates with WeasyPrint")
    args = parser.parse_args()
    name = f"prichal_bench_documents_{uuid.uuid4().hex[:6]}"
    database_url = f"{PG}/{name}"
    say(f"migrating {name}")
    migrate.upgrade(database_url)
    owner = create_engine(database_url)
    sink = SmtpSink().start()
    try:
        with moto_s3() as s3:
            setup = Container(_settings(database_url, s3.endpoint_url, sink.port))
            with owner.begin() as conn:
                demo = build_demo(conn, slug="bench", hosts=("bench.example.test",), days=max(1, args.orders // 30 + 1),
                                  start=setup.now().astimezone(ZONE).date() + timedelta(days=1))
            seats = [f"main-{row}-{n}" for row in "BCDEFGHIJ" for n in range(1, 13)]
            sailings = [s for s in demo.sailings if s["seating"] == "assigned"]
            say(f"writing {args.orders} paid orders of {args.seats} tickets")
            events = []
            for index in range(args.orders):
                chunk = seats[(index * args.seats) % len(seats):][:args.seats]
                demo.sailings = [sailings[(index * args.seats) // len(seats) % len(sailings)]]
                order = paid_order(setup, demo, seats=tuple(chunk), types=tuple("adult" for _ in chunk))
                events.append(order_paid_event(order))
            setup.close()
            slices = [events[i::args.processes] for i in range(args.processes)]
            with ProcessPoolExecutor(args.processes, initializer=_warm,
                                     initargs=(database_url, s3.endpoint_url, sink.port, args.renderer)) as pool:
                list(pool.map(time.sleep, [0.2] * args.processes))  # every worker initialised
                say(f"issuing with {args.processes} processes")
                started = time.perf_counter()
                results = list(pool.map(_issue, slices))
                elapsed = time.perf_counter() - started
            documents = sum(r[0] for r in results)
            peak_rss_kb = max([r[1] for r in results] + [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss])
            mails = len(sink.messages)
            render_seconds = sum(r[2] for r in results)
    finally:
        sink.stop()
        owner.dispose()
        admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    rate = documents / elapsed
    per_core = rate / min(cores, args.processes)
    say(f"{documents} documents ({args.orders} orders: {args.seats} e-tickets + invoice + act each) "
        f"in {elapsed:.2f} s: {rate:.1f}/s, {per_core:.1f}/s per core (goal >= {GOAL_PER_CORE}), {mails} emails")
    print(json.dumps({"documents_per_s": round(rate, 1), "per_core": round(per_core, 1), "cores": cores,
                      "processes": args.processes, "renderer": args.renderer,
                      "peak_rss_mb": round(peak_rss_kb / 1024, 1),
                      "documents": documents, "orders": args.orders, "emails": mails,
                      "rendered": {"ticket": args.orders * args.seats, "invoice": args.orders, "act": args.orders},
                      "seconds": round(elapsed, 2), "render_seconds": round(render_seconds, 2),
                      "render_share": round(render_seconds / (elapsed * args.processes), 2),
                      "goal_per_core": GOAL_PER_CORE}))


if __name__ == "__main__":
    main()
