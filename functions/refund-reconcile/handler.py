"""refund-reconcile (cron): bring every refund to a final state, in every tenant.

- refunds the provider never accepted (``requested``: a timeout, a 5xx, a crash right after
  the commit, and the late-payment / mismatch refunds of the payment path) are sent again
  with their stored idempotence key;
- ``pending`` refunds are re-read (YooKassa has no ``refund.canceled`` notification);
- buyers not emailed yet about their refund are emailed;
- sailing cancellations still running (interrupted, or orders paid after the cancellation)
  are resumed, a few batches per run.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request

app = function_app("refund-reconcile", "Refund reconciliation",
                   "Re-sends unsent refunds, re-reads pending ones, resumes sailing cancellations.", internal=True)


class Reconciled(BaseModel):
    sent: int
    reread: int
    emailed: int
    cancellations: int


@app.route("POST", "/", tenant=False, response=Reconciled, errors=(503,))
def run(request: Request) -> dict:
    """Reconcile what is due (called by the cron connector with an empty body)."""
    c = container()
    before = c.now() - timedelta(seconds=c.settings.refund_recheck_after_seconds)
    return c.refunds.reconcile_all(c.tenants.active(), before)


handle = app.openfaas_handler
main = app.functions_framework_target
