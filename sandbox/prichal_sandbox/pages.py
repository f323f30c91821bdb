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


def outcome(payment: dict[str, Any], declined: bool = False) -> tuple[str, str]:
    """What became of a decided payment, as the buyer should read it: paid, declined, canceled."""
    status = payment["status"]
    if status == "succeeded":
        refunded = (payment.get("refunded_amount") or {}).get("value")
        return "Оплачено", "Платёж оплачен." + (f" Возвращено {format_rub(refunded)}." if refunded else "")
    if status == "waiting_for_capture":
        return "Оплачено", "Платёж оплачен и ожидает подтверждения магазином."
    if status == "canceled":
        if declined:
            return "Оплата отменена", "Вы отказались от оплаты. Деньги не списаны."
        if (payment.get("cancellation_details") or {}).get("party") == "merchant":
            return "Платёж отменён", "Магазин отменил платёж. Деньги не списаны."
        return "Оплата отменена", ("Платёж не оплачен: от него отказались или время на оплату истекло. "
                                   "Деньги не списаны.")
    return "Оплата заказа", f"Платёж {STATUS_TEXT.get(status, status)}."


def _back(return_uri: str | None) -> str:
    return f'<p><a href="{escape(return_uri, quote=True)}">Вернуться в магазин</a></p>' if return_uri else ""


def checkout_page(payment: dict[str, Any], return_uri: str | None = None) -> str:
    """The confirmation page: shop, amount, description; buttons while it is pending, else the
    outcome (with a link back to the shop when it gave a return URL)."""
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
        return _page("Оплата заказа", "<h1>Оплата заказа</h1>" + "".join(rows))
    title, text = outcome(payment)
    rows += [f"<p>{escape(text)}</p>", _back(return_uri)]
    return _page(title, f"<h1>{escape(title)}</h1>" + "".join(rows))


def outcome_page(payment: dict[str, Any], declined: bool, return_uri: str | None) -> str:
    """The answer to the buyer's decision when it does not go back to the shop at once."""
    title, text = outcome(payment, declined)
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{_back(return_uri)}")


def message_page(title: str, text: str) -> str:
    """A result or an error for the buyer (the payment's state, a refusal, a missing payment)."""
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")
