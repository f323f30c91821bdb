"""Benchmark: the whole purchase, and a storm of payment notifications with duplicates.

    python bench/checkout.py [--url http://127.0.0.1:8080] [--duration 10] [--buyers 16] [--storm 600]

Through the local gateway, on 127.0.0.1 only, with the sandbox payment provider:

1. checkout  ``--buyers`` concurrent buyers, each in a loop: hold a seat -> create the
             order -> pay on the sandbox's confirmation page (which notifies the webhook,
             which re-reads the payment) -> the order reads back ``paid``. Figures: paid
             orders per second, create-order latency, hold-to-paid latency.
2. storm     ``--storm`` unpaid orders whose payments succeed at the sandbox without a
             notification; then their notifications are posted straight to the webhook,
             20% of them twice, shuffled, by ``--buyers`` concurrent senders.
3. checks    every order paid exactly once (one ``order.paid`` in the outbox, one in the
             order log) -> ``double_processed``; no seat with two live tickets and no
             sailing over capacity -> ``oversold``.

Without ``--url`` it starts its own runtime against the database ``prichal_bench`` and
removes it afterwards. Progress goes to stderr; the last stdout line is one JSON object.
Goals are printed beside the figures, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import threading
import time
import uuid
from base64 import b64encode
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from runtime import DEFAULT_DB_URL, create_tenant, gateway_under_test, say, storefront_key

from prichal.domain.client_ids import sign_client_id

SANDBOX_SECRET = os.environ.get("MOCK_PAYMENTS_SECRET", "sandbox-secret")
DUPLICATE_SHARE = 0.2
GOALS = {"double_processed": "== 0", "oversold": "== 0"}
SEATS = [f"{deck}-{row}-{n}" for deck, rows, per in (("main", "BCDEFGHIJ", 12), ("upper", "ABC", 10))
         for row in rows for n in range(1, per + 1)] + [f"main-A-{n}" for n in range(2, 12)]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 2)


class Shop:
    """A storefront's HTTP calls: one session; every purchase is a new buyer (own client id,
    signed with the tenant's storefront key, and own address), so the per-buyer limits apply
    as in production."""

    def __init__(self, base: str, slug: str, key: str) -> None:
        self.base, self.slug, self.key = base, slug, key
        self.session = requests.Session()
        self.rng = random.Random()

    def order(self, sailing: str, seat: str) -> tuple[dict, float]:
        buyer = sign_client_id(self.key, self.slug, f"bench-{uuid.uuid4().hex[:12]}")
        self.headers = {"X-Tenant": self.slug, "X-Client-Id": buyer,
                        "X-Forwarded-For": f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}."
                                           f"{self.rng.randrange(1, 255)}"}
        hold = self.session.post(f"{self.base}/function/lock-seat/holds", headers=self.headers, timeout=30,
                                 json={"sailing_id": sailing, "seat_ids": [seat]})
        hold.raise_for_status()
        started = time.perf_counter()
        created = self.session.post(
            f"{self.base}/function/create-order/orders", timeout=60,
            headers={**self.headers, "Idempotency-Key": str(uuid.uuid4())},
            json={"hold_token": hold.json()["token"], "customer": {"name": "Бенч", "email": "bench@example.test"},
                  "items": [{"seat_id": seat, "ticket_type": "adult"}]})
        created.raise_for_status()
        return created.json(), (time.perf_counter() - started) * 1000

    def status(self, order: dict) -> str:
        answer = self.session.get(f"{self.base}/function/create-order/orders/{order['id']}", timeout=30,
                                  headers={"X-Tenant": self.slug, "Authorization": f"Bearer {order['access_token']}"})
        return answer.json()["status"]


def seat_pool(sailings: list[str]) -> list[tuple[str, str]]:
    return [(sailing, seat) for sailing in sailings for seat in SEATS]


def checkout_phase(base: str, slug: str, key: str, pool: list[tuple[str, str]], buyers: int, duration: int) -> dict:
    lock = threading.Lock()
    order_ms: list[float] = []
    paid_ms: list[float] = []
    failures: Counter[str] = Counter()
    deadline = time.monotonic() + duration

    def buyer(_: int) -> None:
        shop = Shop(base, slug, key)
        while time.monotonic() < deadline:
            with lock:
                if not pool:
                    return
                sailing, seat = pool.pop()
            started = time.perf_counter()
            try:
                order, took = shop.order(sailing, seat)
                paid = shop.session.post(order["payment"]["confirmation_url"], data={"decision": "pay"},
                                         allow_redirects=False, timeout=60)
                if paid.status_code != 303:
                    raise RuntimeError(f"pay answered {paid.status_code}")
                for _ in range(200):  # bounded: the webhook normally ran before the page answered
                    if shop.status(order) == "paid":
                        break
                    time.sleep(0.05)
                else:
                    raise RuntimeError("order not paid in 10 s")
            except (requests.RequestException, RuntimeError, KeyError) as exc:
                with lock:
                    failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                continue
            with lock:
                order_ms.append(took)
                paid_ms.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=buyers) as pool_:
        list(pool_.map(buyer, range(buyers)))
    elapsed = time.monotonic() - started
    return {"orders_paid": len(paid_ms), "orders_per_s": round(len(paid_ms) / elapsed, 1),
            "order_p50_ms": percentile(order_ms, 50), "order_p99_ms": percentile(order_ms, 99),
            "purchase_p50_ms": percentile(paid_ms, 50), "purchase_p99_ms": percentile(paid_ms, 99),
            "checkout_failures": dict(failures)}


def storm_phase(base: str, slug: str, key: str, pool: list[tuple[str, str]], buyers: int, size: int) -> dict:
    say(f"storm: creating {size} unpaid orders")
    auth = {"Authorization": "Basic " + b64encode(f"{slug}:{SANDBOX_SECRET}".encode()).decode()}
    shops = [Shop(base, slug, key) for _ in range(buyers)]

    def prepare(index: int) -> str:
        shop = shops[index % buyers]
        sailing, seat = pool[index]
        order, _ = shop.order(sailing, seat)
        payment_id = re.search(r"/pay/([^/?]+)", order["payment"]["confirmation_url"]).group(1)
        forced = shop.session.post(f"{base}/function/mock-payments/sandbox/payments/{payment_id}/status",
                                   json={"status": "succeeded"}, headers=auth, timeout=30)
        forced.raise_for_status()
        return payment_id

    with ThreadPoolExecutor(max_workers=buyers) as pool_:
        payments = list(pool_.map(prepare, range(min(size, len(pool)))))
    deliveries = payments + random.Random(7).sample(payments, int(len(payments) * DUPLICATE_SHARE))
    random.Random(11).shuffle(deliveries)
    say(f"storm: {len(deliveries)} notifications ({len(deliveries) - len(payments)} duplicates)")
    from prichal.config import get_settings
    from prichal.domain.webhook_tokens import webhook_token

    token = webhook_token(get_settings().webhook_url_key, "mock", slug)  # the runtime's WEBHOOK_URL_KEY
    webhook = f"{base}/function/payment-webhook/mock/{slug}/{token}"
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    local = threading.local()

    def send(payment_id: str) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body = {"type": "notification", "event": "payment.succeeded", "object": {"id": payment_id}}
        started = time.perf_counter()
        answer = session.post(webhook, json=body, timeout=60)
        took = (time.perf_counter() - started) * 1000
        outcome = answer.json().get("outcome", "?") if answer.ok else str(answer.status_code)
        with lock:
            latencies.append(took)
            outcomes[outcome] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=buyers) as pool_:
        list(pool_.map(send, deliveries))
    elapsed = time.monotonic() - started
    return {"webhooks": len(deliveries), "webhooks_per_s": round(len(deliveries) / elapsed, 1),
            "webhook_p50_ms": percentile(latencies, 50), "webhook_p99_ms": percentile(latencies, 99),
            "webhook_outcomes": dict(outcomes)}


def checks(database_url: str, slug: str) -> dict:
    from sqlalchemy import text

    from prichal.adapters.db.engine import make_owner_engine

    engine = make_owner_engine(database_url)
    try:
        with engine.begin() as conn:
            tenant = str(conn.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug}).scalar_one())
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant})
            doubles = conn.execute(text(
                "SELECT count(*) FROM (SELECT data->>'order_id' FROM outbox WHERE type = 'order.paid' "
                "GROUP BY 1 HAVING count(*) > 1) x")).scalar_one()
            doubles += conn.execute(text(
                "SELECT count(*) FROM (SELECT order_id FROM order_log WHERE action = 'order.paid' "
                "GROUP BY 1 HAVING count(*) > 1) x")).scalar_one()
            oversold = conn.execute(text(
                "SELECT count(*) FROM (SELECT sailing_id, seat_id FROM tickets WHERE seat_id IS NOT NULL "
                "AND status IN ('reserved', 'sold') GROUP BY 1, 2 HAVING count(*) > 1) x")).scalar_one()
            oversold += conn.execute(text(
                "SELECT count(*) FROM sailings WHERE places_sold + places_held > capacity")).scalar_one()
            paid = conn.execute(text("SELECT count(*) FROM orders WHERE status = 'paid'")).scalar_one()
    finally:
        engine.dispose()
    return {"double_processed": doubles, "oversold": oversold, "orders_paid_total": paid}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running gateway (default: start one against the database prichal_bench)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DB_URL),
                        help="with --url: the gateway's database, where the bench tenant is created")
    parser.add_argument("--duration", type=int, default=10, help="seconds of the checkout phase (default 10)")
    parser.add_argument("--buyers", type=int, default=16, help="concurrent buyers and senders (default 16)")
    parser.add_argument("--storm", type=int, default=600, help="orders whose notifications form the storm")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GATEWAY_WORKERS", "4")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GATEWAY_THREADS", "8")))
    args = parser.parse_args(argv)
    if not (1 <= args.duration <= 600 and 1 <= args.buyers <= 256 and 1 <= args.storm <= 20_000):
        parser.error("--duration 1..600, --buyers 1..256, --storm 1..20000")

    with gateway_under_test(args.url, args.database_url, args.workers, args.threads) as (base, database_url):
        slug, sailings = create_tenant(database_url, days=30)
        pool = seat_pool(sailings)
        random.Random(3).shuffle(pool)
        storm_seats, checkout_seats = pool[:args.storm], pool[args.storm:]
        say(f"tenant {slug}: {len(pool)} seats; checkout for {args.duration} s with {args.buyers} buyers")
        key = storefront_key(database_url, slug)
        result = checkout_phase(base, slug, key, checkout_seats, args.buyers, args.duration)
        say(f"checkout: {result['orders_per_s']} paid orders/s, create-order p99 {result['order_p99_ms']} ms, "
            f"failures {result['checkout_failures']}")
        result.update(storm_phase(base, slug, key, storm_seats, args.buyers, args.storm))
        say(f"storm: {result['webhooks_per_s']} notifications/s, p99 {result['webhook_p99_ms']} ms")
        result.update(checks(database_url, slug))
    result.update({"cores": os.cpu_count(), "buyers": args.buyers, "duration_s": args.duration,
                   "gateway_workers": None if args.url else args.workers,
                   "gateway_threads": None if args.url else args.threads, "goals": GOALS})
    say(f"double processed {result['double_processed']} (goal 0), oversold {result['oversold']} (goal 0)")
    print(json.dumps(result, ensure_ascii=False, separators=(", ", ": ")), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
