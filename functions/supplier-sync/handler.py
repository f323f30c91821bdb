"""supplier-sync (cron): the boat operators' catalogs into ours, and the daily reconciliation.

Every run syncs the next days of every tenant's Astra Marine / Neva Travel accounts; the
season horizon hourly; the reconciliation of our sales with the operators' order statuses
once a day (each recorded in ``supplier_sync_runs``; counts on /metrics). The rules live in
``prichal.services.supplier_sync`` and ``supplier_reconciliation``; the sales themselves
are pushed by ``supplier-orders``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request

app = function_app("supplier-sync", "Supplier sync",
                   "Catalog sync from Astra Marine and Neva Travel; daily reconciliation of sales.", internal=True)


class Run(BaseModel):
    tenant: str
    supplier: str
    horizon: str
    run_id: str
    status: str = Field(description="succeeded | partial | failed")
    created: int
    updated: int
    closed: int
    errors: list[str]


class Reconciled(BaseModel):
    tenant: str
    supplier: str
    run_id: str
    checked: int
    mismatches: int
    errors: list[str]
    sailings: list[dict[str, Any]]


class Synced(BaseModel):
    runs: list[Run]
    reconciliations: list[Reconciled]


@app.route("POST", "/", tenant=False, response=Synced, errors=(503,))
def run(request: Request) -> dict:
    """What is due: the near days always, the season hourly, the reconciliation daily (cron, empty body)."""
    c = container()
    tenants = list(c.tenants.active_ids())
    runs = c.supplier_sync.run_due(tenants)
    reconciled = c.supplier_reconciliation.run_due(
        tenants, timedelta(seconds=c.settings.supplier_reconcile_interval_seconds))
    return {"runs": [r.as_dict() for r in runs], "reconciliations": reconciled}


@app.route("POST", "/reconcile", tenant=False, response=Synced, errors=(503,))
def reconcile(request: Request) -> dict:
    """Reconcile every account now, whatever ran before (operations, tests)."""
    c = container()
    return {"runs": [], "reconciliations": c.supplier_reconciliation.run(list(c.tenants.active_ids()))}


handle = app.openfaas_handler
main = app.functions_framework_target
