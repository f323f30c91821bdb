"""The built-in designs of the e-ticket, the invoice and the act, drawn with ReportLab.

Why a second way to draw a document: WeasyPrint lays out every text box in Python, so
a small invoice costs ~55 ms and a ticket ~25 ms however much is cached (measured in
bench/documents.py; an empty page alone is ~4 ms). ReportLab draws the same page in
~5-8 ms. So the designs we ship are drawn here, and a tenant that brings its own
templates (see ``prichal.adapters.pdf_renderer``) gets exactly those, through WeasyPrint.

These layouts mirror ``templates/documents/*.html`` (the starting point for a tenant's
own templates) and read the same context the service builds for them, so the content of
a document — every number, requisite, amount and word — is decided once, in the service
and the domain; only the drawing is here. ``tests/integration/test_documents.py`` renders
each kind both ways and compares the text.

Everything a buyer or a seller typed is escaped before it reaches ReportLab's paragraph
markup. The fonts are the same Latin+Cyrillic DejaVu subset the stylesheet embeds; the
QR code is drawn as vector squares, sharp at any zoom and on paper.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, HRFlowable, Paragraph, SimpleDocTemplate, Spacer, Table
from reportlab.platypus.doctemplate import LayoutError

from prichal.domain.documents import DocumentDoesNotFit, DocumentKind
from prichal.domain.vat import VatRate

from .templates import PACKAGE_TEMPLATES, QR_MASK, rub, vat_rate

FONT, BOLD = "PrichalDoc", "PrichalDoc-Bold"
INK = colors.HexColor("#111111")
MUTED_HEX = "#555555"
MUTED = colors.HexColor(MUTED_HEX)
RULE = colors.HexColor("#333333")
HEADER_FILL = colors.HexColor("#eeeeee")
BASE_SIZE = 9.5
FRAME_PADDING = 6  # points: SimpleDocTemplate's frame keeps this inside the page margins


@cache
def _register_fonts() -> None:
    """Once per process; ReportLab embeds the glyphs each document uses (a subset)."""
    folder = PACKAGE_TEMPLATES / "documents" / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def _style(name: str, parent: ParagraphStyle | None = None, **overrides: Any) -> ParagraphStyle:
    """A paragraph style: our defaults (or ``parent``'s values) with ``overrides``."""
    values: dict[str, Any] = {} if parent else {
        "fontName": FONT, "fontSize": BASE_SIZE, "leading": BASE_SIZE * 1.25, "textColor": INK,
        "spaceBefore": 0, "spaceAfter": 1 * mm}
    values.update(overrides)
    if "fontSize" in overrides and "leading" not in overrides:
        values["leading"] = values["fontSize"] * 1.25
    return ParagraphStyle(name, parent=parent, **values)


TEXT = _style("text")
CELL = _style("cell", spaceAfter=0)
CELL_RIGHT = _style("cell-right", spaceAfter=0, alignment=TA_RIGHT)
CELL_HEAD = _style("cell-head", spaceAfter=0, fontName=BOLD, fontSize=8.5)
CELL_BIG = _style("cell-big", spaceAfter=0, fontName=BOLD, fontSize=13)
CELL_LABEL = _style("cell-label", spaceAfter=0, textColor=MUTED)
STRONG = _style("strong", fontName=BOLD, spaceBefore=2 * mm)
TITLE = _style("title", fontName=BOLD, fontSize=14, spaceBefore=4 * mm, spaceAfter=3 * mm)
BRAND = _style("brand", fontName=BOLD, fontSize=12, spaceAfter=2 * mm)
BIG = _style("big", fontName=BOLD, fontSize=13, spaceAfter=2 * mm)
SMALL = _style("small", fontSize=8, textColor=MUTED, spaceBefore=2 * mm)


def _e(value: Any) -> str:
    """Text for ReportLab's paragraph markup: escaped, ``None`` as nothing."""
    return "" if value is None else escape(str(value))


def _color(value: Any, default: colors.Color = INK) -> colors.Color:
    try:
        return colors.toColor(value) if value else default
    except ValueError:  # a brand colour we cannot read draws in black, it does not fail the document
        return default


def _muted(text: str) -> str:
    return f'<font size="8" color="{MUTED_HEX}">{text}</font>'


GRID = [("FONT", (0, 0), (-1, -1), FONT, BASE_SIZE), ("GRID", (0, 0), (-1, -1), 0.6, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 1.6 * mm), ("RIGHTPADDING", (0, 0), (-1, -1), 1.6 * mm),
        ("TOPPADDING", (0, 0), (-1, -1), 1.2 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2 * mm)]
PLAIN = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
         ("RIGHTPADDING", (0, 0), (-1, -1), 1 * mm), ("TOPPADDING", (0, 0), (-1, -1), 0.5 * mm),
         ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5 * mm)]


class QrCode(Flowable):
    """A QR code as filled squares (one rectangle per run of dark modules in a row)."""

    def __init__(self, payload: str, size: float, border: int = 2) -> None:
        super().__init__()
        self.matrix = segno.make(payload, error="m", micro=False, mask=QR_MASK).matrix
        self.size, self.border = size, border
        self.width = self.height = size

    def draw(self) -> None:
        modules = len(self.matrix) + 2 * self.border
        step = self.size / modules
        path = self.canv.beginPath()
        for row_index, row in enumerate(self.matrix):
            y = self.size - (row_index + self.border + 1) * step
            start = None
            for column, dark in enumerate((*row, 0)):
                if dark and start is None:
                    start = column
                elif not dark and start is not None:
                    path.rect((start + self.border) * step, y, (column - start) * step, step)
                    start = None
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)


class BuiltinLayouts:
    """Renders our own design of each kind to PDF bytes. Thread-safe: a document per call."""

    def __init__(self) -> None:
        _register_fonts()
        self._draw: dict[DocumentKind, Callable[[dict[str, Any]], list[Flowable]]] = {
            DocumentKind.TICKET: self._ticket, DocumentKind.INVOICE: self._invoice, DocumentKind.ACT: self._act}
        self._lock = threading.Lock()  # ReportLab keeps some state in module globals

    def render(self, kind: DocumentKind, context: dict[str, Any]) -> bytes:
        document = context["document"]
        ticket = kind is DocumentKind.TICKET
        buffer = io.BytesIO()
        template = SimpleDocTemplate(
            buffer, pagesize=landscape(A5) if ticket else A4,
            leftMargin=10 * mm if ticket else 16 * mm, rightMargin=10 * mm if ticket else 14 * mm,
            topMargin=10 * mm if ticket else 14 * mm, bottomMargin=10 * mm if ticket else 16 * mm,
            title=f"{document['title']} № {document['number']}", author=context["seller"].name,
            creator="Prichal", subject=f"Заказ № {context['order']['number']}", lang="ru", pageCompression=1,
            invariant=1)  # the same document gives the same bytes (and sha256) when drawn again
        day, month, year = document["date"].split(".")

        def dated(canvas: Any, _: Any) -> None:  # the document's own date, not the clock's
            canvas.setDateFormatter(lambda *_: f"D:{year}{month}{day}")

        try:
            with self._lock:
                template.build(self._draw[kind](context), onFirstPage=dated)
        except LayoutError as exc:
            raise DocumentDoesNotFit(f"the {kind.value} № {document['number']} does not fit its page: a text in it "
                                     f"is too long ({str(exc)[:200]})", kind=kind.value,
                                     number=document["number"]) from exc
        return buffer.getvalue()

    # --- e-ticket --------------------------------------------------------------------------
    def _ticket(self, c: dict[str, Any]) -> list[Flowable]:
        ticket, brand, seller, order = c["ticket"], c["brand"], c["seller"], c["order"]
        accent = _color(brand.get("primary_color"))
        width = landscape(A5)[0] - 20 * mm - 2 * FRAME_PADDING
        head = Table([[Paragraph(_e(brand.get("display_name") or seller.name), _style("t-brand", parent=BRAND,
                                                                                        textColor=accent)),
                       Paragraph(f"Электронный билет № {_e(c['document']['number'])}",
                                 _style("t-number", parent=CELL_RIGHT, textColor=accent))]],
                     colWidths=[width * 0.55, width * 0.45], style=[*PLAIN, ("VALIGN", (0, 0), (-1, -1), "BOTTOM")])
        price = f"{rub(ticket['price'])} руб., {_e(ticket['vat_label'])}"
        if ticket.get("vat_amount"):
            price += f": {rub(ticket['vat_amount'])} руб."
        pier = _e(ticket["pier"]) + (f", {_e(ticket['pier_address'])}" if ticket.get("pier_address") else "")
        facts = [("Отправление", _e(ticket["departs"]), CELL_BIG), ("Причал", pier, CELL),
                 ("Теплоход", _e(ticket["vessel"]), CELL),
                 ("Место", _e(ticket["seat"] or "свободная рассадка"), CELL_BIG),
                 ("Тариф", _e(ticket["tariff"]), CELL), ("Цена", price, CELL),
                 ("Заказ", f"№ {_e(order['number'])} от {_e(order['date'])}, {_e(c['buyer'].name)}", CELL)]
        if ticket.get("supplier_code"):  # the boat operator checks its own code at boarding
            number = f" (билет {_e(ticket['supplier_ticket_number'])})" if ticket.get("supplier_ticket_number") else ""
            facts.append(("Код оператора", _e(ticket["supplier_code"]) + number, CELL_BIG))
        qr_size = 48 * mm
        text_width = width - qr_size - 5 * mm
        details = [Paragraph(_e(ticket["program"]), BIG),
                   Table([[Paragraph(label, CELL_LABEL), Paragraph(value, style)] for label, value, style in facts],
                         colWidths=[28 * mm, text_width - 28 * mm],
                         style=[*PLAIN, ("TOPPADDING", (0, 0), (-1, -1), 0.8 * mm),
                                ("BOTTOMPADDING", (0, 0), (-1, -1), 0.8 * mm)])]
        body = Table([[details, QrCode(ticket["code"], qr_size)]], colWidths=[text_width + 5 * mm, qr_size],
                     style=[*PLAIN, ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
        notice = Paragraph("Покажите QR-код при посадке. Посадка заканчивается за 10 минут до отправления. "
                           f"Продавец: {_e(seller.name)}, ИНН {_e(seller.inn)}.", SMALL)
        return [head, HRFlowable(width="100%", thickness=2, color=accent, spaceBefore=1 * mm, spaceAfter=3 * mm),
                body, notice]

    # --- invoice and act ---------------------------------------------------------------------
    def _invoice(self, c: dict[str, Any]) -> list[Flowable]:
        seller, order, document = c["seller"], c["order"], c["document"]
        bank = Table([
            [Paragraph(f"{_e(seller.bank)}<br/>{_muted('Банк получателя')}", CELL), "", "БИК", seller.bic],
            ["", "", "Сч. №", seller.correspondent_account],
            [f"ИНН {seller.inn}", f"КПП {seller.kpp or '—'}", "Сч. №", seller.account],
            [Paragraph(f"{_e(seller.name)}<br/>{_muted('Получатель')}", CELL), "", "", ""],
        ], colWidths=[55 * mm, 55 * mm, 14 * mm, 52 * mm], style=[
            *GRID, ("SPAN", (0, 0), (1, 1)), ("SPAN", (2, 2), (2, 3)), ("SPAN", (3, 2), (3, 3)),
            ("SPAN", (0, 3), (1, 3))])
        basis = f"Основание: заказ № {_e(order['number'])} от {_e(order['date'])}"
        if order.get("paid"):
            basis += f", оплачен {_e(order['paid'])}"
        signatures = Table([[Paragraph(f"Руководитель ____________ {_e(seller.director)}", CELL),
                             Paragraph(f"Бухгалтер ____________ {_e(seller.accountant)}", CELL)]],
                           colWidths=[88 * mm, 88 * mm], hAlign="LEFT",
                           style=[*PLAIN, ("TOPPADDING", (0, 0), (-1, -1), 6 * mm)])
        return [self._brand(c), bank,
                Paragraph(f"Счёт на оплату № {_e(document['number'])} от {_e(document['date'])}", TITLE),
                self._parties(c, "Поставщик", "Покупатель"), Paragraph(basis, TEXT),
                *self._lines(c), Spacer(1, 4 * mm), signatures]

    def _act(self, c: dict[str, Any]) -> list[Flowable]:
        seller, order, document, buyer = c["seller"], c["order"], c["document"], c["buyer"]
        signatures = Table([[
            Paragraph(f"<b>Исполнитель</b><br/>{_e(seller.name)}<br/><br/>____________ {_e(seller.director)}", TEXT),
            Paragraph(f"<b>Заказчик</b><br/>{_e(buyer.name)}<br/><br/>____________", TEXT)]],
            colWidths=[88 * mm, 88 * mm], hAlign="LEFT", style=[*PLAIN, ("TOPPADDING", (0, 0), (-1, -1), 6 * mm)])
        return [self._brand(c), Paragraph(f"Акт № {_e(document['number'])} от {_e(document['date'])}", TITLE),
                Paragraph(f"об оказании услуг по заказу № {_e(order['number'])} от {_e(order['date'])}", TEXT),
                self._parties(c, "Исполнитель", "Заказчик"), *self._lines(c),
                Paragraph("Вышеперечисленные услуги оказаны полностью и в срок. Заказчик претензий по объёму, "
                          "качеству и срокам оказания услуг не имеет.", TEXT),
                signatures]

    def _brand(self, c: dict[str, Any]) -> Paragraph:
        brand = c["brand"]
        return Paragraph(_e(brand.get("display_name") or c["seller"].name),
                         _style("brand-colour", parent=BRAND, textColor=_color(brand.get("primary_color"))))

    def _parties(self, c: dict[str, Any], label: str, buyer_label: str) -> Table:
        seller, buyer = c["seller"], c["buyer"]
        who = f"{_e(seller.name)}, ИНН {_e(seller.inn)}"
        if seller.kpp:
            who += f", КПП {_e(seller.kpp)}"
        who += f", {_e(seller.ogrn_label)} {_e(seller.ogrn)}, {_e(seller.address)}"
        whom = ", ".join(_e(part) for part in (buyer.name, buyer.email, buyer.phone) if part)
        return Table([[Paragraph(f"<b>{label}:</b>", CELL), Paragraph(who, CELL)],
                      [Paragraph(f"<b>{buyer_label}:</b>", CELL), Paragraph(whom, CELL)]],
                     colWidths=[30 * mm, 146 * mm], style=[*PLAIN, ("BOTTOMPADDING", (0, -1), (-1, -1), 2 * mm)])

    def _lines(self, c: dict[str, Any]) -> list[Flowable]:
        """The lines table, the totals with VAT, the count and the amount in words."""
        head = ["№", "Наименование", "Кол-во", "Ед.", "Цена, руб.", "Ставка НДС", "Сумма НДС, руб.", "Сумма, руб."]
        rows: list[list[Any]] = [[Paragraph(title, CELL_HEAD) for title in head]]
        for number, line in enumerate(c["lines"], start=1):
            rows.append([str(number), Paragraph(_e(line.description), CELL), str(line.quantity), line.unit,
                         rub(line.price), vat_rate(line.vat_rate), rub(line.vat_amount), rub(line.amount)])
        lines = Table(rows, colWidths=[7 * mm, None, 13 * mm, 10 * mm, 22 * mm, 17 * mm, 22 * mm, 22 * mm],
                      repeatRows=1, style=[*GRID, ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                                           ("ALIGN", (0, 1), (0, -1), "RIGHT"), ("ALIGN", (2, 1), (2, -1), "RIGHT"),
                                           ("ALIGN", (4, 1), (4, -1), "RIGHT"), ("ALIGN", (6, 1), (7, -1), "RIGHT")])
        total = rub(c["total"])
        sums = [["Итого:", total]]
        sums += [[f"{vat.label}:", "—" if vat.rate is VatRate.NONE else rub(vat.amount)] for vat in c["vat_lines"]]
        sums.append(["Всего к оплате:", total])
        totals = Table(sums, colWidths=[50 * mm, 25 * mm], hAlign="RIGHT",
                       style=[*PLAIN, ("FONT", (0, 0), (-1, -1), BOLD, BASE_SIZE), ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
                              ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("LEFTPADDING", (0, 0), (-1, -1), 4 * mm)])
        return [lines, Spacer(1, 2 * mm), totals,
                Paragraph(f"Всего наименований {len(c['lines'])}, на сумму {total} руб.", TEXT),
                Paragraph(_e(c["total_words"]), STRONG)]
