"""The sandbox's buyer-facing pages: self-contained HTML (no scripts, no external assets),
in Russian like the storefronts. Every value from a merchant is escaped."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

STATUS_TEXT = {
    "pending": "ожидает оплаты",
    "waiting_for_capture": "оплачен, ожидает подтверждения магазином",
    "succeeded": "оплачен",
    "canceled": "отменён",
}

NBSP = "\u00a0"
_STYLE = """body{font-family:system-ui,sans-serif;background:#eef3f7;margin:0;padding:2rem}
main{max-width:28rem;margin:auto;background:#fff;border-radius:12px;padding:1.5rem 2rem;box-shadow:0 2px 8px #0002}
.amount{font-size:2rem;font-weight:600;margin:.5rem 0}.muted{color:#667}.test{color:#a60}
form{display:inline}button{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:8px;margin:1rem .5rem 0 0}
.pay{background:#1a7f37;color:#fff}.decline{background:#ddd}"""


def format_rub(value: str) -> str:
    """``"1500.00"`` -> ``"1 500,00 ₽"`` (Russian grouping and decimal comma)."""
    amount = Decimal(value)
    whole, _, kopecks = f"{amount:,.2f}".partition(".")
    return f"{whole.replace(',', NBSP)},{kopecks}{NBSP}₽"


def _page(title: str, content: str) -> str:
    return (f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><main>{content}</main></body></html>")


def checkout_page(payment: dict[str, Any]) -> str:
    """The confirmation page: shop, amount, description; buttons only while it is pending."""
    shop = (payment.get("recipient") or {}).get("account_id", "")
    rows = [
        '<p class="test">Тестовая оплата: деньги не списываются.</p>',
        f'<p class="muted">Магазин: {escape(shop)}</p>',
        f'<p class="amount">{escape(format_rub(payment["amount"]["value"]))}</p>',
    ]
    if payment.get("description"):
        rows.append(f"<p>{escape(payment['description'])}</p>")
    if payment["status"] == "pending":
        rows.append('<form method="post"><input type="hidden" name="decision" value="pay">'
                    '<button class="pay" type="submit">Оплатить</button></form>'
                    '<form method="post"><input type="hidden" name="decision" value="decline">'
                    '<button class="decline" type="submit">Отказаться</button></form>')
    else:
        rows.append(f"<p>Платёж {escape(STATUS_TEXT.get(payment['status'], payment['status']))}.</p>")
    return _page("Оплата заказа", "<h1>Оплата заказа</h1>" + "".join(rows))


def message_page(title: str, text: str) -> str:
    """A result or an error for the buyer (the payment's state, a refusal, a missing payment)."""
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")
