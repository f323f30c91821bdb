"""expire-holds (cron): settle holds and unpaid orders whose time ran out, in every tenant.

Redis forgets expired holds by itself; the database keeps them ``active`` (and, on free
seating, counted against capacity) until this runs. Unpaid orders expire with their hold:
seats back on sale, ``order.expired`` announced, after the provider was asked about the
payment (a paid one takes the payment path; no answer: the order waits for the next run).
Each run also counts refunds the provider never accepted (``prichal_refunds_stuck`` on
this function's /metrics: the buyers' money still held; alert when above 0).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request
from prichal.observability.metrics import REFUNDS_STUCK
from prichal.services.holds import expire_due_holds
from prichal.services.order_expiry import expire_unpaid_orders
from prichal.services.payments import count_stuck_refunds

app = function_app("expire-holds", "Hold expiry", "Marks expired holds and gives their places back.", internal=True)


class Expired(BaseModel):
    expired_orders: int
    settled_orders: int
    deferred_orders: int
    expired_holds: int
    refunds_stuck: int


@app.route("POST", "/", tenant=False, response=Expired, errors=(503,))
def run(request: Request) -> dict:
    """Expire what is due (called by the cron connector with an empty body)."""
    c = container()
    orders = expire_unpaid_orders(c.tenants.active(), c.uow, c.hold_store, c.payments, c.relay, c.now())
    holds = expire_due_holds(c.tenants.active_ids(), c.uow, c.hold_store, c.now())
    stuck = count_stuck_refunds(c.tenants.active_ids(), c.uow, c.now(),
                                timedelta(seconds=c.settings.refund_stuck_after_seconds))
    REFUNDS_STUCK.set(stuck)
    return {"expired_orders": orders.expired, "settled_orders": orders.settled, "deferred_orders": orders.deferred,
            "expired_holds": holds, "refunds_stuck": stuck}


handle = app.openfaas_handler
main = app.functions_framework_target
