"""outbox-relay (cron): publish events that were committed but not yet sent to RabbitMQ.

Most events are published right after their transaction; this catches up with whatever
that missed (a broker outage, a crash between commit and publish).
"""

from __future__ import annotations

from pydantic import BaseModel

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request

app = function_app("outbox-relay", "Outbox relay", "Publishes pending outbox events with publisher confirms.",
                   internal=True)


class Relayed(BaseModel):
    published: int


@app.route("POST", "/", tenant=False, response=Relayed, errors=(503,))
def run(request: Request) -> dict:
    """Publish everything pending (called by the cron connector)."""
    c = container()
    return {"published": c.relay.relay(c.tenants.active_ids())}


handle = app.openfaas_handler
main = app.functions_framework_target
