"""Reports without I/O: periods in the tenant's zone, Excel serials, the schedule, and the
CSV and XLSX writers on rows made here (XLSX opened with openpyxl, CSV parsed back)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest

from prichal.domain.errors import InvalidInput
from prichal.domain.reports import (
    Column,
    ColumnType,
    ReportFormat,
    ReportParameters,
    excel_serial,
    object_key,
    parameters,
    scheduled_reports,
)
from prichal.reports.base import REPORTS, exporter
from prichal.reports.writers import column_letter, csv_cell, write_csv, write_xlsx

COLUMNS = (
    Column("number", "Заказ №", ColumnType.INT, total=True),
    Column("when", "Когда", ColumnType.DATETIME),
    Column("day", "День", ColumnType.DATE),
    Column("name", "Программа", ColumnType.TEXT),
    Column("price", "Цена", ColumnType.MONEY, total=True),
    Column("rate", "НДС", ColumnType.PERCENT),
)
ROWS = [
    (1, datetime(2026, 12, 1, 0, 30), date(2026, 12, 1), "Мосты & <каналы>; \"ночь\"", Decimal("1500.00"),
     Decimal("22")),
    (2, datetime(2026, 12, 1, 23, 59, 59), date(2026, 12, 1), None, Decimal("999.99"), None),
]


def test_a_period_is_the_tenants_days():
    p = ReportParameters(date(2026, 12, 1), date(2026, 12, 1), "Europe/Moscow")
    assert p.starts_at == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert p.ends_at == datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    assert ReportParameters.from_json(p.to_json()) == p


def test_reversed_or_too_long_periods_are_refused():
    with pytest.raises(InvalidInput) as reversed_period:
        parameters(date(2026, 12, 2), date(2026, 12, 1), "Europe/Moscow", 31)
    assert reversed_period.value.errors[0]["loc"] == ["body", "to"]
    with pytest.raises(InvalidInput):
        parameters(date(2026, 1, 1), date(2026, 2, 1), "Europe/Moscow", 31)
    assert parameters(date(2026, 1, 1), date(2026, 1, 31), "Europe/Moscow", 31).days == 31


def test_unknown_report_is_invalid_input():
    with pytest.raises(InvalidInput) as unknown:
        exporter("nope")
    assert unknown.value.code == "unknown-report"
    assert {"sales_register", "payments_refunds", "daily_summary", "vat_summary", "supplier_settlement"} <= set(REPORTS)


def test_excel_serials_and_letters():
    assert excel_serial(date(1900, 3, 1)) == 61
    assert excel_serial(datetime(2026, 12, 1, 12, 0)) == excel_serial(date(2026, 12, 1)) + 0.5
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_object_keys_are_the_jobs_own():
    p = ReportParameters(date(2026, 12, 1), date(2026, 12, 31), "Europe/Moscow")
    key = object_key("demo", "0123456789abcdef", "sales_register", p, ReportFormat.XLSX, date(2027, 1, 1))
    assert key == "tenants/demo/reports/2027/01/sales_register_2026-12-01_2026-12-31_01234567.xlsx"


def test_the_schedule_at_three_in_the_morning():
    assert scheduled_reports(datetime(2026, 12, 2, 2, 59), 3) == []
    assert scheduled_reports(datetime(2026, 12, 2, 3, 0), 3) == [
        ("daily:2026-12-01", "daily_summary", date(2026, 12, 1), date(2026, 12, 1))]
    monthly = scheduled_reports(datetime(2027, 1, 1, 3, 5), 3)
    assert ("monthly:2026-12", "sales_register", date(2026, 12, 1), date(2026, 12, 31)) in monthly


def test_xlsx_cells_are_typed_and_the_totals_add_up():
    sink = io.BytesIO()
    written = write_xlsx(COLUMNS, iter(ROWS), sink, title="Реестр продаж")
    assert written.rows == 2 and written.totals == {"number": 3, "price": Decimal("2499.99")}
    book = openpyxl.load_workbook(io.BytesIO(sink.getvalue()))
    sheet = book.active
    assert sheet.title == "Реестр продаж" and sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == [c.title for c in COLUMNS]
    number, when, day, name, price, rate = sheet[2]
    assert number.value == 1 and number.data_type == "n"
    assert when.value == datetime(2026, 12, 1, 0, 30) and when.number_format == "dd.mm.yyyy hh:mm"
    assert day.value == datetime(2026, 12, 1) and day.number_format == "dd.mm.yyyy"
    assert name.value == "Мосты & <каналы>; \"ночь\""
    assert price.value == 1500 and price.number_format == '#,##0.00\\ "₽"'
    assert rate.value == pytest.approx(0.22) and rate.number_format == "0%"
    assert sheet["D3"].value is None and sheet["F3"].value is None
    assert sheet["A4"].value == "=SUM(A2:A3)" and sheet["E4"].value == "=SUM(E2:E3)"  # first column summed
    assert sheet["E4"].font.b and sheet["B4"].value is None
    cached = openpyxl.load_workbook(io.BytesIO(sink.getvalue()), data_only=True).active
    assert cached["E4"].value == pytest.approx(2499.99) and cached["A4"].value == 3


def test_an_empty_report_is_a_header_and_zero_totals():
    sink = io.BytesIO()
    assert write_xlsx(COLUMNS, iter(()), sink).rows == 0
    sheet = openpyxl.load_workbook(io.BytesIO(sink.getvalue())).active
    assert sheet.max_row == 2 and sheet["E2"].value == "=0"


@pytest.mark.parametrize(("fmt", "delimiter", "money", "when"), [
    (ReportFormat.CSV, ",", "1500.00", "2026-12-01 00:30:00"),
    (ReportFormat.CSV_EXCEL, ";", "1500,00", "01.12.2026 00:30:00"),
])
def test_csv_dialects_parse_back(fmt, delimiter, money, when):
    sink = io.BytesIO()
    write_csv(COLUMNS, iter(ROWS), fmt, sink)
    data = sink.getvalue()
    assert data.startswith(b"\xef\xbb\xbf") == (fmt is ReportFormat.CSV_EXCEL)
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))
    assert parsed[0] == [c.title for c in COLUMNS]
    assert parsed[1][1] == when and parsed[1][3] == "Мосты & <каналы>; \"ночь\"" and parsed[1][4] == money
    assert parsed[2][3] == "" and parsed[2][5] == ""


def test_line_breaks_in_text_become_spaces():
    assert csv_cell(ColumnType.TEXT, "a\r\nb", russian=False) == "a  b"
