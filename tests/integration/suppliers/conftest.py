"""Fixtures of the supplier tests: both operators' stub servers over HTTP on loopback (one
pair per module, reset for every test) and a demo tenant with accounts at both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from prichal.adapters.suppliers.http import reset_breakers
from prichal.domain.suppliers import Supplier, SupplierAccount, SupplierMode
from prichal_sandbox.suppliers import StubServer
from tests.supplier_support import RecordingReversal


@pytest.fixture(scope="module")
def stubs() -> Iterator[dict[str, StubServer]]:
    with StubServer("astra") as astra, StubServer("neva") as neva:
        yield {"astra": astra, "neva": neva}


@pytest.fixture
def suppliers(container, stubs, demo) -> Iterator[Any]:
    """The container talking to this module's stubs (reset), a tenant with both accounts."""
    for stub in stubs.values():
        stub.control(reset=True)
    reset_breakers()
    s = container.settings
    s.astra_stub_url, s.neva_stub_url = stubs["astra"].url, stubs["neva"].url
    s.supplier_timeout_seconds, s.supplier_backoff_seconds, s.supplier_attempts = 0.5, 0.01, 3
    s.supplier_circuit_failures, s.supplier_circuit_open_seconds = 3, 30.0
    reversal = RecordingReversal()
    container.__dict__["supplier_reversal"] = reversal
    tenant = container.tenants.by_slug(demo.slug)
    with container.uow(tenant.id) as uow:
        uow.suppliers.set_account(SupplierAccount(Supplier.ASTRA_MARINE, SupplierMode.STUB))
        uow.suppliers.set_account(SupplierAccount(Supplier.NEVA_TRAVEL, SupplierMode.STUB))
        uow.commit()
    yield type("Suppliers", (), {"tenant": tenant, "stubs": stubs, "reversal": reversal, "container": container,
                                 "astra": stubs["astra"], "neva": stubs["neva"]})
    reset_breakers()


