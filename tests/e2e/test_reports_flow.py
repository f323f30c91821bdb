"""As finance would, through the local gateway: after a purchase, ask for today's reports in
both formats, watch the job, download the file through its link and open it."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import requests

from tests.e2e.gateway_harness import NO_BUYER_LIMITS, free_port, run_gateway, sandbox_env, tenant_host, wait_for
from tests.e2e.test_documents_flow import _buy
from tests.staff_support import bearer, staff_token


@pytest.fixture(scope="module")
def gateway(test_env, tmp_path_factory):
    port = free_port()
    env = {**test_env.as_environ(), **sandbox_env(port), **NO_BUYER_LIMITS, "SMTP_HOST": "",
           "MAIL_SINK_DIR": str(tmp_path_factory.mktemp("mail")), "MAIL_SINK_PORT": str(free_port()),
           "CONNECTOR_RETRY_BASE_MS": "200"}
    with run_gateway(env=env, port=port, workers=2, threads=8) as url:
        yield url


def test_finance_gets_todays_register_and_summary(gateway, container, demo):
    created = _buy(gateway, demo, ("main-G-5", "main-G-6"))
    headers = {**tenant_host(demo.slug), **bearer(staff_token(demo.tenant_id, "finance"))}
    today = datetime.now(ZoneInfo("Europe/Moscow")).date().isoformat()

    def done(job_id: str):
        answer = requests.get(f"{gateway}/function/report-export/reports/{job_id}", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["status"] in ("done", "failed") else None

    def ask(report: str, fmt: str) -> dict:
        asked = requests.post(f"{gateway}/function/report-export/reports", headers=headers, timeout=10,
                              json={"report": report, "format": fmt, "from": today, "to": today})
        assert asked.status_code == 202, asked.text
        job = wait_for(lambda: done(asked.json()["job_id"]), timeout=120, message=f"{report} {fmt}")
        assert job["status"] == "done", job
        return job

    # the paid order may still be settling: wait until the register shows its two tickets
    register = wait_for(lambda: (job := ask("sales_register", "xlsx")) and job["rows"] >= 2 and job,
                        timeout=120, message="the paid order in the register")
    sheet = openpyxl.load_workbook(io.BytesIO(requests.get(register["url"], timeout=10).content)).active
    numbers = [row[0].value for row in sheet.iter_rows(min_row=2) if row[0].value != "Итого"]
    assert numbers.count(created["number"]) == 2
    summary = ask("daily_summary", "csv-excel")
    rows = list(csv.reader(io.StringIO(requests.get(summary["url"], timeout=10).content.decode("utf-8-sig"),
                                       newline=""), delimiter=";"))
    assert sum(Decimal(r[5].replace(",", ".")) for r in rows[1:]) >= Decimal(created["total"])
