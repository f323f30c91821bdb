"""Prometheus metrics shared by every function.

Under a multi-process server (the local gateway's gunicorn) set
``PROMETHEUS_MULTIPROC_DIR``; ``render`` then aggregates every worker's samples.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

REQUEST_LATENCY = Histogram(
    "prichal_request_seconds", "Time to answer a function request",
    ["function", "route", "method"],
    # 0.8 and 1.5 s are the CRM SLO's p95 and p99 bounds: quantiles near them stay exact.
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1, 1.5, 2.5, 5),
)
REQUESTS = Counter("prichal_requests_total", "Function requests by outcome",
                   ["function", "route", "method", "status"])
HOLDS = Counter("prichal_holds_total", "Hold operations by outcome", ["operation", "outcome"])
EXPIRED_HOLDS = Counter("prichal_holds_expired_total", "Holds marked expired by the reconciler")
DOCUMENT_RENDER = Histogram(
    "prichal_document_render_seconds", "Time to draw one document's PDF", ["kind", "renderer"],
    buckets=(0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
)
# Set by each expire-holds run: money owed to buyers that the provider has not accepted to
# give back. Alert on > 0 (see README, "Orders, payments and events").
REFUNDS_STUCK = Gauge("prichal_refunds_stuck", "Refunds still unsent to the provider longer than "
                      "REFUND_STUCK_AFTER_SECONDS", multiprocess_mode="mostrecent")
REFUNDS = Counter("prichal_refunds_total", "Refunds of tickets made, by kind (buyer, agent, sailing_canceled)",
                  ["kind"])
REFUND_AMOUNT = Counter("prichal_refunded_rubles_total", "Rubles refunded (tickets), by kind", ["kind"])
BOARDING_SCANS = Counter("prichal_boarding_scans_total", "Tickets scanned at the gangway, by outcome "
                         "(boarded, ticket-already-boarded, ticket-not-valid, ticket-wrong-sailing, "
                         "invalid-ticket-code, not-found)", ["outcome"])
DOCUMENT_EMAILS = Counter("prichal_document_emails_total", "Buyer emails with documents by outcome", ["outcome"])


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(DEFAULT_REGISTRY), CONTENT_TYPE_LATEST

# Boat operators (supplier-sync, supplier-orders).
SUPPLIER_CALLS = Counter("prichal_supplier_calls_total", "Calls to boat operators by outcome",
                         ["supplier", "method", "outcome"])
SUPPLIER_CIRCUIT = Gauge("prichal_supplier_circuit_open", "1 while the circuit to an operator is open",
                         ["supplier"], multiprocess_mode="mostrecent")
SUPPLIER_SYNC_RUNS = Counter("prichal_supplier_sync_runs_total", "Catalog sync runs by outcome",
                             ["supplier", "horizon", "outcome"])
SUPPLIER_SYNC_CHANGES = Counter("prichal_supplier_sync_changes_total", "Sailings created, updated, closed by sync",
                                ["supplier", "change"])
SUPPLIER_SYNC_LAST = Gauge("prichal_supplier_sync_last_success_timestamp", "When a sync last finished well",
                           ["supplier", "horizon"], multiprocess_mode="mostrecent")
SUPPLIER_ORDERS = Counter("prichal_supplier_orders_total", "Sales pushed to operators by outcome",
                          ["supplier", "outcome"])
SUPPLIER_MISMATCHES = Gauge("prichal_supplier_reconciliation_mismatches", "Mismatches found by the last "
                            "reconciliation", ["supplier"], multiprocess_mode="mostrecent")
