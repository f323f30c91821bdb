"""Flag an order for an agent ("needs attention") from the supplier services.

The crm-orders branch owns the attention queue: ``uow.attention.flag(order_id, reason,
detail)`` raises the flag, sets the order's ``needs_attention`` and logs
``attention.<reason>`` itself. Until it is on the branch, the order's ``needs_attention``
column and an ``attention.<reason>`` order-log entry (which that queue also reads) carry
the flag. Reason codes: lower-case letters, digits and underscores.
"""

from __future__ import annotations

from typing import Any


def flag(uow: Any, order_id: str, reason: str, detail: str, **data: Any) -> None:
    attention = getattr(uow, "attention", None)
    if attention is not None:
        attention.flag(order_id, reason, detail, raised_by="system")
        return
    uow.orders.flag(order_id, reason)
    uow.log.record(f"attention.{reason}", "order", order_id, "system", order_id, detail=detail, **data)
