"""``python -m prichal.admin supplier-*``: accounts, a sync now, runs and mismatches."""

from __future__ import annotations

import json

from prichal.admin import main as admin
from prichal.domain.suppliers import Supplier, SupplierMode


def test_accounts_sync_and_runs_from_the_command_line(suppliers, capsys):
    slug = suppliers.tenant.slug
    assert admin(["supplier-account", slug, "neva_travel", "--mode", "real", "--secret-name", "neva-demo"]) == 0
    assert admin(["supplier-accounts", slug]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {(a["supplier"], a["mode"], a["secret_name"]) for a in listed} == {
        ("astra_marine", "stub", None), ("neva_travel", "real", "neva-demo")}

    assert admin(["supplier-sync", slug, "--days", "1"]) == 1  # Neva's real key is not there: that run fails
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {(r["supplier"], r["status"]) for r in out} == {("astra_marine", "succeeded"), ("neva_travel", "failed")}
    assert "neva-demo is missing" in next(r for r in out if r["supplier"] == "neva_travel")["errors"][0]

    assert admin(["supplier-account", slug, "neva_travel", "--mode", "stub"]) == 0
    assert admin(["supplier-sync", slug]) == 0
    assert admin(["supplier-runs", slug, "--limit", "2"]) == 0
    runs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")][-2:]
    assert all(r["status"] == "succeeded" for r in runs)
    with suppliers.container.uow(suppliers.tenant.id) as uow:
        assert uow.suppliers.account(Supplier.NEVA_TRAVEL).mode is SupplierMode.STUB
    assert admin(["supplier-mismatches", slug]) == 0
