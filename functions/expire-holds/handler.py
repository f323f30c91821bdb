"""expire-holds (cron): settle holds and unpaid orders whose time ran out, in every tenant.

Redis forgets expired holds by itself; the database keeps them ``active`` (and, on free
seating, counted against capacity) until this runs. Unpaid orders expire with their hold:
seats back on sale, ``order.expired`` announced, the payment canceled at the provider.
"""

from __future__ import annotations

from pydantic import BaseModel

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request
from prichal.services.holds import expire_due_holds
from prichal.services.order_expiry import expire_unpaid_orders

app = function_app("expire-holds", "Hold expiry", "Marks expired holds and gives their places back.")


class Expired(BaseModel):
    expired_orders: int
    expired_holds: int


@app.route("POST", "/", tenant=False, response=Expired, errors=(503,))
def run(request: Request) -> dict:
    """Expire what is due (called by the cron connector with an empty body)."""
    c = container()
    orders = expire_unpaid_orders(c.tenants.active(), c.uow, c.hold_store, c.payment_provider, c.relay, c.now())
    holds = expire_due_holds(c.tenants.active_ids(), c.uow, c.hold_store, c.now())
    return {"expired_orders": orders, "expired_holds": holds}


handle = app.openfaas_handler
main = app.functions_framework_target
