"""Finance reports against real PostgreSQL and a moto S3 server: rows and totals of each
report against sales built here, the files (XLSX opened with openpyxl, CSV parsed back),
the report-export function's jobs, permissions and bad input, and the schedule."""

from __future__ import annotations

import csv
import hashlib
import io
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import requests
from sqlalchemy import select, text

from prichal.adapters.db import tables as t
from prichal.adapters.db.report_snapshot import report_snapshot
from prichal.domain.pricing import receipt, totals
from prichal.domain.reports import ReportFormat, ReportParameters
from prichal.domain.vat import VatRate
from prichal.reports.base import exporter
from prichal.reports.writers import copy_csv, copy_xlsx, write_csv, write_xlsx
from prichal.services.outbox import message
from tests.reports_support import sell
from tests.staff_support import staff_token
from tests.support import call, internal

MSK = ZoneInfo("Europe/Moscow")
DAY = date(2026, 12, 1)


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def rows_of(container, tenant_id: str, report: str, first: date = DAY, last: date = DAY, **filters):
    params = ReportParameters(first, last, "Europe/Moscow", **filters)
    with report_snapshot(container.engine, tenant_id) as db:
        return list(exporter(report).rows(db, params))


@pytest.fixture
def sales(container, owner_engine, demo):
    """Four orders around midnight of 1 December in St. Petersburg (UTC+3)."""
    return {
        # 30 Nov 23:59 MSK = 30 Nov 20:59 UTC: the day before
        "before": sell(owner_engine, demo, msk(2026, 11, 30, 23, 59), [("700.00", VatRate.VAT22)]),
        # 1 Dec 00:30 MSK = 30 Nov 21:30 UTC: on the 1st, though UTC says the 30th
        "after_midnight": sell(owner_engine, demo, msk(2026, 12, 1, 0, 30),
                               [("1500.00", VatRate.VAT22), ("1000.00", VatRate.VAT22)]),
        # a 10 % line and a 22 % line; the second partly refunded (a fee of 100.00 kept)
        "refunded": sell(owner_engine, demo, msk(2026, 12, 1, 14, 0),
                         [("999.99", VatRate.VAT10), ("1000.00", VatRate.VAT22)], refunds={2: "900.00"}),
        # 2 Dec 00:00 MSK exactly: the next day
        "next_day": sell(owner_engine, demo, msk(2026, 12, 2, 0, 0), [("500.00", VatRate.VAT22)]),
    }


def test_sales_register_rows_are_the_tickets_paid_in_the_tenants_day(container, demo, sales):
    rows = rows_of(container, demo.tenant_id, "sales_register")
    keys = [c.key for c in exporter("sales_register").columns]
    as_dicts = [dict(zip(keys, row, strict=True)) for row in rows]
    numbers = [r["order_number"] for r in as_dicts]
    assert numbers == [sales["after_midnight"].number] * 2 + [sales["refunded"].number] * 2
    first = as_dicts[0]
    assert first["sold_at"] == datetime(2026, 12, 1, 0, 30)  # the tenant's wall clock
    assert first["price"] == Decimal("1500.00") and first["vat_rate"] == Decimal("22")
    assert first["vat_amount"] == Decimal("270.49") and first["net_amount"] == Decimal("1229.51")
    assert first["payment_id"] == sales["after_midnight"].provider_payment_id and first["payment_method"] == "yookassa"
    assert first["refund_amount"] is None and first["ticket_status"] == "sold"
    ten, partial = as_dicts[2], as_dicts[3]
    assert ten["vat_rate"] == Decimal("10") and ten["vat_amount"] == Decimal("90.91")
    assert partial["refund_amount"] == Decimal("900.00") and partial["ticket_status"] == "refunded"
    assert partial["refund_vat"] == Decimal("162.30")  # 900 * 22 / 122 = 162.295 -> half up
    assert partial["refunded_at"] == datetime(2026, 12, 1, 15, 0)
    expected = totals(sales["after_midnight"].lines + sales["refunded"].lines)
    assert sum(r["price"] for r in as_dicts) == expected.total == Decimal("4499.99")
    assert sum(r["vat_amount"] for r in as_dicts) == expected.vat_total


def test_midnight_in_st_petersburg_not_utc(container, demo, sales):
    numbers = {row[0] for row in rows_of(container, demo.tenant_id, "sales_register", date(2026, 11, 30),
                                         date(2026, 11, 30))}
    assert numbers == {sales["before"].number}
    numbers = {row[0] for row in rows_of(container, demo.tenant_id, "sales_register", date(2026, 12, 2),
                                         date(2026, 12, 2))}
    assert numbers == {sales["next_day"].number}


def test_daily_summary_adds_up_to_the_register(container, demo, sales):
    register = exporter("sales_register").columns
    reg = rows_of(container, demo.tenant_id, "sales_register", date(2026, 11, 30), date(2026, 12, 2))
    col = {c.key: i for i, c in enumerate(register)}
    summary = rows_of(container, demo.tenant_id, "daily_summary", date(2026, 11, 30), date(2026, 12, 2))
    keys = [c.key for c in exporter("daily_summary").columns]
    days = [dict(zip(keys, row, strict=True)) for row in summary]
    assert [d["day"] for d in days] == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
    first = days[1]
    assert first["tickets"] == 4 and first["gross"] == Decimal("4499.99")
    assert first["vat_10"] == Decimal("90.91") and first["vat_22"] == Decimal("270.49") + Decimal("180.33") + \
        Decimal("180.33")
    assert first["refunds"] == Decimal("900.00") and first["net"] == Decimal("3599.99")
    assert sum(d["gross"] for d in days) == sum(r[col["price"]] for r in reg)
    assert sum(d["vat_total"] for d in days) == sum(r[col["vat_amount"]] for r in reg)
    assert sum(d["refunds"] for d in days) == sum(r[col["refund_amount"]] or 0 for r in reg)


def test_vat_summary_agrees_with_receipts_and_invoices_to_the_kopeck(container, demo, sales):
    summary = rows_of(container, demo.tenant_id, "vat_summary", date(2026, 11, 30), date(2026, 12, 2))
    keys = [c.key for c in exporter("vat_summary").columns]
    by_rate = {row[0]: dict(zip(keys, row, strict=True)) for row in summary}
    assert set(by_rate) == {"НДС 10%", "НДС 22%"}
    every = [line for sale in sales.values() for line in sale.lines]
    invoice_vat = {}  # what invoices print: the sum of each order's VAT by rate
    for sale in sales.values():
        for rate, vat in totals(sale.lines).vat_by_rate.items():
            invoice_vat[rate] = invoice_vat.get(rate, Decimal("0.00")) + vat
    assert by_rate["НДС 22%"]["vat"] == invoice_vat[VatRate.VAT22]
    assert by_rate["НДС 10%"]["vat"] == invoice_vat[VatRate.VAT10]
    receipts: dict[int, Decimal] = {}
    for sale in sales.values():
        for item in receipt(sale.lines, email="a@example.test", phone=None, full_name=None,
                            tax_system_code=1)["items"]:
            amount = Decimal(item["amount"]["value"]) * Decimal(item["quantity"])
            receipts[item["vat_code"]] = receipts.get(item["vat_code"], Decimal("0.00")) + amount
    assert {row["vat_code"]: row["gross"] for row in by_rate.values()} == receipts  # 12: 22/122, 5: 10/110
    assert sum(row["gross"] for row in by_rate.values()) == sum(line.price for line in every)
    assert by_rate["НДС 22%"]["refunded"] == Decimal("900.00")
    assert by_rate["НДС 22%"]["refunded_vat"] == Decimal("162.30")
    assert by_rate["НДС 22%"]["base"] == by_rate["НДС 22%"]["gross"] - by_rate["НДС 22%"]["vat"]


def test_a_tenant_without_vat(container, owner_engine, other_demo):
    sale = sell(owner_engine, other_demo, msk(2026, 12, 1, 12, 0), [("1200.00", VatRate.NONE)])
    register = rows_of(container, other_demo.tenant_id, "sales_register")
    col = {c.key: i for i, c in enumerate(exporter("sales_register").columns)}
    assert [r[col["order_number"]] for r in register] == [sale.number]
    assert register[0][col["vat_rate"]] is None and register[0][col["vat_amount"]] == Decimal("0.00")
    assert register[0][col["net_amount"]] == Decimal("1200.00")
    (vat,) = rows_of(container, other_demo.tenant_id, "vat_summary")
    assert vat[:3] == ("Без НДС", None, 1) and vat[5] == Decimal("0.00")


def test_payments_and_refunds_and_supplier_settlement(container, owner_engine, demo, sales):
    moves = rows_of(container, demo.tenant_id, "payments_refunds")
    keys = [c.key for c in exporter("payments_refunds").columns]
    moves = [dict(zip(keys, row, strict=True)) for row in moves]
    assert [(m["kind"], m["order_number"]) for m in moves] == [
        ("payment", sales["after_midnight"].number), ("payment", sales["refunded"].number),
        ("refund", sales["refunded"].number),
        ("payment", sales["next_day"].number)]  # created at 23:59, paid at midnight: created in the day
    assert sum(m["net"] for m in moves) == Decimal("4499.99") - Decimal("900.00") + Decimal("500.00")
    assert moves[2]["payment_provider_id"] == sales["refunded"].provider_payment_id
    sailing = next(s["id"] for s in demo.sailings if s["seating"] == "free")
    with owner_engine.begin() as conn:
        conn.execute(t.sailings.update().where(t.sailings.c.id == sailing).values(supplier=None))
    assert rows_of(container, demo.tenant_id, "supplier_settlement") == []  # our own sailings: nothing owed
    with owner_engine.begin() as conn:
        conn.execute(t.sailings.update().where(t.sailings.c.id == sailing).values(supplier="astra"))
    (settled,) = rows_of(container, demo.tenant_id, "supplier_settlement")
    assert settled[0] == "astra" and settled[4] == 4 and settled[7] == Decimal("3599.99")


def test_filters_by_program_and_sailing(container, demo, sales):
    assert rows_of(container, demo.tenant_id, "sales_register", program_id=demo.assigned_program_id) == []
    sailing = next(s["id"] for s in demo.sailings if s["seating"] == "free")
    assert len(rows_of(container, demo.tenant_id, "sales_register", sailing_id=sailing)) == 4


@pytest.mark.parametrize("fmt", [ReportFormat.CSV, ReportFormat.CSV_EXCEL])
@pytest.mark.parametrize("name", ["sales_register", "daily_summary", "payments_refunds"])
def test_csv_written_by_postgresql_is_what_python_writes(container, demo, sales, fmt, name):
    report = exporter(name)
    params = ReportParameters(DAY, DAY, "Europe/Moscow")
    with report_snapshot(container.engine, demo.tenant_id) as db:
        fast, slow = io.BytesIO(), io.BytesIO()
        written = copy_csv(report, db, params, fmt, fast, totals=True)
        write_csv(report.columns, report.rows(db, params), fmt, slow)
    assert fast.getvalue() == slow.getvalue()
    if name == "sales_register":
        assert written.rows == 4 and written.totals["price"] == Decimal("4499.99")


@pytest.mark.parametrize("report", ["sales_register", "daily_summary", "payments_refunds"])
def test_xlsx_written_by_postgresql_reads_as_what_python_writes(container, owner_engine, demo, sales, report):
    with owner_engine.begin() as conn:  # text that XML and COPY must both survive
        conn.execute(t.programs.update().where(t.programs.c.id == demo.free_program_id)
                     .values(name="Реки & <каналы>\\ «Нева»\tночь\nдва\x01"))
    chosen = exporter(report)
    params = ReportParameters(date(2026, 11, 30), date(2026, 12, 2), "Europe/Moscow")
    with report_snapshot(container.engine, demo.tenant_id) as db:
        fast, slow = io.BytesIO(), io.BytesIO()
        written = copy_xlsx(chosen, db, params, fast)
        write_xlsx(chosen.columns, chosen.rows(db, params), slow)
    assert written.rows == len(list(rows_of(container, demo.tenant_id, report, date(2026, 11, 30), date(2026, 12, 2))))

    def cells(data: bytes) -> list[list[tuple]]:
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        return [[(c.value, c.number_format, c.data_type) for c in row] for row in sheet.iter_rows()]

    assert cells(fast.getvalue()) == cells(slow.getvalue())
    if report == "sales_register":
        program = cells(fast.getvalue())[1][4][0]
        assert program == "Реки & <каналы>\\ «Нева»\tночь два"


# --- the function ---------------------------------------------------------------------------

@pytest.fixture
def reports(container, s3, sink, demo, owner_engine):
    container.owner_engine = owner_engine  # reads the outbox as the relay does (no tenant scope)
    container.settings.s3_endpoint_url = s3.endpoint_url
    container.settings.smtp_host, container.settings.smtp_port = "127.0.0.1", sink.port
    container.settings.publish_inline = False
    container.finance_token = staff_token(demo.tenant_id, "finance")
    return container


def staff(demo, token: str | None = None) -> dict[str, str]:
    from prichal.bootstrap import container

    return {"Host": f"{demo.slug}.example.test", "Authorization": f"Bearer {token or container().finance_token}"}


def ask(demo, body, token: str | None = None):
    return call("report-export", "POST", "/reports", body=body, headers=staff(demo, token))


def deliver(container, demo, job_id: str):
    with container.owner_engine.connect() as conn:
        rows = [row for row in conn.execute(select(t.outbox).where(t.outbox.c.type == "report.requested"))
                if row.data["job_id"] == job_id]
    return call("report-worker", "POST", "/", body=message(rows[0]), headers=internal())


def job(demo, job_id: str):
    return call("report-export", "GET", f"/reports/{job_id}", headers=staff(demo))


def run_report(container, demo, report: str, fmt: str, first: date = DAY, last: date = DAY) -> dict:
    asked = ask(demo, {"report": report, "format": fmt, "from": first.isoformat(), "to": last.isoformat()})
    assert asked.status == 202, asked.json
    assert asked.json["status"] == "queued" and asked.json["url"] is None
    assert deliver(container, demo, asked.json["job_id"]).status == 200
    done = job(demo, asked.json["job_id"])
    assert done.status == 200 and done.json["status"] == "done", done.json
    return done.json


def test_xlsx_through_the_function_cell_by_cell(reports, demo, sales):
    done = run_report(reports, demo, "sales_register", "xlsx")
    assert done["progress"] == 100 and done["rows"] == 4 and done["total_rows"] == 4
    assert done["s3_key"].startswith(f"tenants/{demo.slug}/reports/") and done["s3_key"].endswith(".xlsx")
    data = requests.get(done["url"], timeout=10).content  # a plain HTTP client, as finance's browser
    assert len(data) == done["size"] and hashlib.sha256(data).hexdigest() == done["sha256"]
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Заказ №", "Дата и время продажи", "Дата и время рейса"]
    assert all(c.font.b for c in sheet[1])
    first = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert first["Заказ №"].value == sales["after_midnight"].number and first["Заказ №"].data_type == "n"
    assert first["Дата и время продажи"].value == datetime(2026, 12, 1, 0, 30)
    assert first["Дата и время продажи"].is_date and first["Дата и время продажи"].number_format == "dd.mm.yyyy hh:mm"
    assert first["Цена"].value == 1500 and first["Цена"].number_format == '#,##0.00\\ "₽"'
    assert first["Ставка НДС"].value == pytest.approx(0.22) and first["Ставка НДС"].number_format == "0%"
    assert first["Программа"].data_type == "s" and first["Возврат"].value is None
    assert sheet.max_row == 6  # header, 4 lines, totals
    totals_row = {h: c for h, c in zip(header, sheet[6], strict=True)}
    assert totals_row["Заказ №"].value == "Итого" and totals_row["Цена"].value == "=SUM(I2:I5)"
    assert totals_row["Цена"].font.b
    values = openpyxl.load_workbook(io.BytesIO(data), data_only=True).active
    assert values["I6"].value == pytest.approx(4499.99) and values["P6"].value == pytest.approx(900)
    assert sheet.column_dimensions["D"].width == 38


@pytest.mark.parametrize(("fmt", "delimiter", "bom", "price"), [("csv", ",", False, "1500.00"),
                                                                  ("csv-excel", ";", True, "1500,00")])
def test_csv_through_the_function_parses_back(reports, demo, sales, fmt, delimiter, bom, price):
    done = run_report(reports, demo, "sales_register", fmt)
    data = requests.get(done["url"], timeout=10).content
    assert data.startswith(b"\xef\xbb\xbf") == bom and b"\r\n" in data
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))
    assert parsed[0][0] == "Заказ №" and len(parsed) == 5
    assert parsed[1][8] == price and parsed[1][0] == str(sales["after_midnight"].number)
    assert parsed[1][1] == ("01.12.2026 00:30:00" if bom else "2026-12-01 00:30:00")
    prices = sum(Decimal(row[8].replace(",", ".")) for row in parsed[1:])
    summary = run_report(reports, demo, "daily_summary", fmt)
    daily = list(csv.reader(io.StringIO(requests.get(summary["url"], timeout=10).content.decode("utf-8-sig"),
                                        newline=""), delimiter=delimiter))
    assert prices == sum(Decimal(row[5].replace(",", ".")) for row in daily[1:]) == Decimal("4499.99")


def test_every_report_in_both_formats(reports, demo, sales):
    for report in ("sales_register", "payments_refunds", "daily_summary", "vat_summary", "supplier_settlement"):
        for fmt in ("xlsx", "csv-excel"):
            done = run_report(reports, demo, report, fmt)
            data = requests.get(done["url"], timeout=10).content
            if fmt == "xlsx":
                assert openpyxl.load_workbook(io.BytesIO(data)).active.max_row >= 1


def test_a_redelivered_event_makes_no_second_file(reports, demo, sales, s3):
    done = run_report(reports, demo, "sales_register", "xlsx")
    again = deliver(reports, demo, done["job_id"])
    assert again.status == 200 and again.json == {"job_id": done["job_id"], "status": "done", "ran": False}
    listed = reports.storage._client.list_objects_v2(Bucket=reports.settings.s3_bucket,
                                                     Prefix=f"tenants/{demo.slug}/reports/")
    assert [o["Key"] for o in listed["Contents"]] == [done["s3_key"]]
    assert job(demo, done["job_id"]).json["finished_at"] == done["finished_at"]


def test_storage_down_retries_then_the_job_says_why(reports, demo, sales):
    asked = ask(demo, {"report": "sales_register", "format": "xlsx", "from": "2026-12-01", "to": "2026-12-01"})
    job_id = asked.json["job_id"]
    reports.settings.report_max_attempts = 2
    good = reports.settings.s3_endpoint_url
    reports.settings.s3_endpoint_url = "http://127.0.0.1:9"  # nothing listens
    for name in ("storage", "reports"):
        reports.__dict__.pop(name, None)
    first = deliver(reports, demo, job_id)
    assert first.status == 503  # the connector retries
    assert job(demo, job_id).json["status"] == "queued"
    second = deliver(reports, demo, job_id)
    assert second.status == 200 and second.json["status"] == "failed"
    failed = job(demo, job_id).json
    assert failed["status"] == "failed" and "could not" in failed["error"] and failed["url"] is None
    reports.settings.s3_endpoint_url = good


def test_a_failing_report_fails_its_job_with_the_reason(reports, demo, sales, monkeypatch):
    from prichal.reports.sales_register import SalesRegister

    def broken(self, db, params):
        raise RuntimeError("boom")

    monkeypatch.setattr(SalesRegister, "query", broken)
    asked = ask(demo, {"report": "sales_register", "format": "xlsx", "from": "2026-12-01", "to": "2026-12-01"})
    assert deliver(reports, demo, asked.json["job_id"]).json["status"] == "failed"
    assert "RuntimeError" in job(demo, asked.json["job_id"]).json["error"]


def test_links_expire(reports, demo, sales):
    reports.settings.report_url_expiry_seconds = 1
    reports.__dict__.pop("reports", None)
    done = run_report(reports, demo, "vat_summary", "csv")
    assert done["expires_in"] == 1
    time.sleep(2.1)
    assert requests.get(done["url"], timeout=10).status_code == 403


def test_only_the_sellers_finance_staff(reports, demo, other_demo, sales):
    body = {"report": "sales_register", "format": "xlsx", "from": "2026-12-01", "to": "2026-12-01"}
    anonymous = call("report-export", "POST", "/reports", body=body, headers={"Host": f"{demo.slug}.example.test"})
    assert anonymous.status == 401 and anonymous.headers["Content-Type"] == "application/problem+json"
    assert ask(demo, body, token="not-a-token").status == 401
    agent = ask(demo, body, token=staff_token(demo.tenant_id, "agent"))  # agents have no reports.export
    assert agent.status == 403 and agent.json["permission"] == "reports.export"
    assert ask(demo, body, token=staff_token(demo.tenant_id, "admin")).status == 202
    scoped = staff_token(demo.tenant_id, "finance", scopes=["orders.read"])
    assert ask(demo, body, token=scoped).status == 403
    # this seller's finance token on another seller's host: never the other's data
    foreign = call("report-export", "POST", "/reports", body=body,
                   headers={**staff(demo), "Host": f"{other_demo.slug}.example.test"})
    assert foreign.status in (401, 404) and foreign.headers["Content-Type"] == "application/problem+json"
    asked = ask(demo, body)
    assert call("report-export", "GET", f"/reports/{asked.json['job_id']}",
                headers={"Host": f"{demo.slug}.example.test"}).status == 401
    theirs = call("report-export", "GET", f"/reports/{asked.json['job_id']}",
                  headers={"Host": f"{other_demo.slug}.example.test",
                           "Authorization": f"Bearer {staff_token(other_demo.tenant_id, 'finance')}"})
    assert theirs.status == 404  # another seller's job does not exist for them
    assert call("report-worker", "POST", "/", body={}, headers={}).status in (401, 403)  # the worker is internal


def test_the_request_is_audited(reports, owner_engine, demo):
    asked = ask(demo, {"report": "vat_summary", "format": "csv", "from": "2026-12-01", "to": "2026-12-01"})
    with owner_engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, false)"), {"t": demo.tenant_id})
        rows = conn.execute(text("SELECT action, target_id FROM staff_audit WHERE target_type = 'report_job'")).all()
    assert ("report.requested", asked.json["job_id"]) in [(r.action, str(r.target_id)) for r in rows]
    assert asked.json["requested_by"].startswith("staff:")


@pytest.mark.parametrize(("change", "field"), [
    ({"report": "no_such_report"}, "report"),
    ({"format": "pdf"}, "format"),
    ({"from": "2026-12-02", "to": "2026-12-01"}, "to"),
    ({"from": "2025-01-01", "to": "2026-12-01"}, "to"),
    ({"from": "yesterday"}, "from"),
    ({"program_id": "not-a-uuid"}, "program_id"),
])
def test_bad_parameters_are_problems(reports, demo, change, field):
    body = {"report": "sales_register", "format": "xlsx", "from": "2026-12-01", "to": "2026-12-01", **change}
    answer = ask(demo, body)
    assert answer.status == 422 and answer.headers["Content-Type"] == "application/problem+json"
    assert any(field in error["loc"] for error in answer.json["errors"]), answer.json
    with reports.owner_engine.connect() as conn:  # nothing written
        assert conn.execute(select(t.report_jobs.c.id).where(t.report_jobs.c.tenant_id == demo.tenant_id)).first() \
            is None


def test_a_foreign_program_and_an_unknown_job(reports, demo, other_demo):
    body = {"report": "sales_register", "format": "xlsx", "from": "2026-12-01", "to": "2026-12-01",
            "program_id": other_demo.free_program_id}
    answer = ask(demo, body)
    assert answer.status == 422 and answer.json["errors"][0]["loc"] == ["body", "program_id"]
    assert job(demo, "00000000-0000-4000-8000-000000000000").status == 404


def test_at_most_n_jobs_per_tenant(reports, demo):
    reports.settings.report_max_concurrent_jobs = 2
    reports.__dict__.pop("reports", None)
    body = {"report": "vat_summary", "format": "csv", "from": "2026-12-01", "to": "2026-12-01"}
    assert ask(demo, body).status == 202 and ask(demo, body).status == 202
    third = ask(demo, body)
    assert third.status == 429 and third.headers["Retry-After"] == "30"


def test_nightly_and_monthly_reports_are_requested_once_and_mailed(reports, owner_engine, demo, sales, sink):
    with owner_engine.begin() as conn:
        conn.execute(t.tenants.update().where(t.tenants.c.id == demo.tenant_id)
                     .values(finance_email="finance@example.test"))
    at_three = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 03:00 in St. Petersburg on 2 December
    assert reports.reports.schedule(datetime(2026, 12, 2, 1, 0, tzinfo=UTC)) == 0
    made = reports.reports.schedule(at_three)
    assert made >= 1 and reports.reports.schedule(at_three) == 0  # fired twice: asked once
    with owner_engine.connect() as conn:
        jobs = conn.execute(select(t.report_jobs).where(t.report_jobs.c.tenant_id == demo.tenant_id)).all()
    (daily,) = [j for j in jobs if j.schedule_key == "daily:2026-12-01"]
    assert daily.report == "daily_summary" and daily.email_to == "finance@example.test"
    assert deliver(reports, demo, daily.id).json["status"] == "done"
    mails = [m for m in sink.messages if m["To"] == "finance@example.test"]
    assert len(mails) == 1 and "Сводка по дням" in mails[0]["Subject"]
    assert f"tenants/{demo.slug}/reports/" in mails[0].get_content()
    first_of_month = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    reports.reports.schedule(first_of_month)
    with owner_engine.connect() as conn:
        keys = set(conn.execute(select(t.report_jobs.c.schedule_key)
                                .where(t.report_jobs.c.tenant_id == demo.tenant_id)).scalars())
    assert {"daily:2026-12-31", "monthly:2026-12"} <= keys


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_the_worker_takes_cloudevents(reports, demo, sales, mode):
    import json

    asked = ask(demo, {"report": "vat_summary", "format": "xlsx", "from": "2026-12-01", "to": "2026-12-01"})
    with reports.owner_engine.connect() as conn:
        row = next(r for r in conn.execute(select(t.outbox).where(t.outbox.c.type == "report.requested"))
                   if r.data["job_id"] == asked.json["job_id"])
    envelope = message(row)
    if mode == "binary":
        headers = {**internal(), "ce-id": envelope["id"], "ce-type": "report.requested", "ce-source": "/outbox",
                   "ce-specversion": "1.0"}
        answer = call("report-worker", "POST", "/", raw=json.dumps(envelope).encode(), headers=headers)
    else:
        cloudevent = {"id": envelope["id"], "type": "report.requested", "source": "/outbox", "specversion": "1.0",
                      "data": envelope}
        answer = call("report-worker", "POST", "/", raw=json.dumps(cloudevent).encode(),
                      headers={**internal(), "Content-Type": "application/cloudevents+json"})
    assert answer.status == 200 and answer.json["status"] == "done"


def test_the_cli_sets_the_finance_address_and_asks_for_a_report(reports, demo, owner_engine, capsys):
    from prichal import admin

    assert admin.main(["finance-email", demo.slug, "Finance@Example.test"]) == 0
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.tenants.c.finance_email).where(t.tenants.c.id == demo.tenant_id)).scalar() \
            == "Finance@example.test"
    assert admin.main(["finance-email", demo.slug, "not an address"]) == 1
    capsys.readouterr()
    assert admin.main(["report", demo.slug, "daily_summary", "--from", "2026-12-01", "--to", "2026-12-01"]) == 0
    printed = capsys.readouterr().out
    assert '"status": "queued"' in printed and '"report": "daily_summary"' in printed
    assert admin.main(["report", demo.slug, "nope", "--from", "2026-12-01", "--to", "2026-12-01"]) == 1
