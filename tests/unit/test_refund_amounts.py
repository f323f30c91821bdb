"""How a refund's amount is made up (no I/O): the policy's per ticket, or an agent's
override spread over the tickets (each at most its price, never past what is left)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from prichal.domain.errors import Forbidden, InvalidInput
from prichal.domain.orders import Customer, Order, OrderStatus
from prichal.domain.refund_policy import Basis, TicketDecision
from prichal.services.refunds import (
    Buyer,
    QuoteLine,
    RefundExceedsPaid,
    RefundNotAllowed,
    RefundService,
    SystemActor,
    _checked_key,
    _checked_override,
)

NOW = datetime(2027, 6, 1, tzinfo=UTC)


def _order(total="3000.00", refunded="0.00") -> Order:
    return Order(id="o", tenant_id="t", number=1, status=OrderStatus.PAID, sailing_id="s", hold_token="h",
                 client_id="c", customer=Customer("A", "a@example.test", None), total=Decimal(total),
                 vat_total=Decimal("0"), currency="RUB", created_at=NOW, expires_at=NOW,
                 refunded_total=Decimal(refunded))


def _line(ticket, price="1500.00", fee="0.00", refundable=True) -> QuoteLine:
    price_d, fee_d = Decimal(price), Decimal(fee)
    return QuoteLine(ticket, 1, None, "Билет", TicketDecision(refundable, price_d, fee_d, price_d - fee_d,
                                                             Basis.TIER if refundable else Basis.TOO_LATE, "x"))


def test_the_policy_amounts_are_taken_as_they_are():
    lines = RefundService._amounts([_line("a", fee="850.00"), _line("b")], _order(), Buyer("t"), None)
    assert [(x.amount, x.fee) for x in lines] == [(Decimal("650.00"), Decimal("850.00")),
                                                   (Decimal("1500.00"), Decimal("0.00"))]


def test_a_ticket_the_policy_refuses_refuses_the_whole_request():
    with pytest.raises(RefundNotAllowed):
        RefundService._amounts([_line("a"), _line("b", refundable=False)], _order(), Buyer("t"), None)


def test_an_override_fills_tickets_in_order_and_never_passes_what_is_left():
    lines = RefundService._amounts([_line("a"), _line("b")], _order(), SystemActor(), Decimal("2000.00"))
    assert [(x.amount, x.fee) for x in lines] == [(Decimal("1500.00"), Decimal("0.00")),
                                                   (Decimal("500.00"), Decimal("1000.00"))]
    assert lines[1].basis["basis"] == "override"
    with pytest.raises(RefundExceedsPaid):
        RefundService._amounts([_line("a"), _line("b")], _order(), SystemActor(), Decimal("3000.01"))
    with pytest.raises(RefundExceedsPaid):  # 1000 already went back
        RefundService._amounts([_line("a"), _line("b")], _order(refunded="1000.00"), SystemActor(),
                               Decimal("2000.01"))


@pytest.mark.parametrize("amount", ["-1", "0", "abc", "1.001", "NaN", "Infinity", 1.5, True, [1]])
def test_an_override_must_be_a_positive_decimal_with_kopecks(amount):
    with pytest.raises(InvalidInput):
        _checked_override(amount, SystemActor())


def test_only_agents_override():
    with pytest.raises(Forbidden):
        _checked_override("10.00", Buyer("token"))
    assert _checked_override("10.5", SystemActor()) == Decimal("10.50")
    assert _checked_override(None, Buyer("token")) is None


@pytest.mark.parametrize("key", ["", "   ", "x" * 65, "a\nb"])
def test_a_refund_needs_a_usable_idempotency_key(key):
    with pytest.raises(InvalidInput):
        _checked_key(key)
