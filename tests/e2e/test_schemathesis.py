"""Every HTTP function against its own OpenAPI description, fuzzed by schemathesis through a
local runtime started here: no answer is a 5xx, and every status, content type and body is
one the description names (checks not_a_server_error, status_code_conformance,
content_type_conformance, response_schema_conformance).

The descriptions of all functions are merged into one schema (paths under
``/function/<name>``), so one test covers them all; each operation is a subtest. The run is
bounded and deterministic (fixed seed, derandomized Hypothesis, no example database).
"""

from __future__ import annotations

import json
import os
import uuid
from base64 import b64encode
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine

from prichal.domain.webhook_tokens import webhook_token
from tests.e2e.gateway_harness import (
    INTERNAL_TOKEN,
    NO_BUYER_LIMITS,
    WEBHOOK_URL_KEY,
    free_port,
    run_gateway,
    sandbox_env,
)

FUNCTIONS = ("catalog", "lock-seat", "create-order", "payment-webhook", "mock-payments", "documents", "crm", "hello",
             "expire-holds", "outbox-relay", "issue-documents", "admin", "refund", "refund-reconcile",
             "boarding")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SANDBOX_SECRET = "sandbox-secret"  # the runtime's development default
# Fuzzing examples per operation (the coverage phase adds its own fixed cases); a deeper run
# by hand: PRICHAL_FUZZ_EXAMPLES=200 .venv/bin/pytest tests/e2e/test_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("PRICHAL_FUZZ_EXAMPLES", "15"))


@dataclass(frozen=True)
class Known:
    """A failure that belongs to another item of issue #8, with its owner: the integrator
    removes the entry once that item is merged (the test must then pass without it)."""

    owner: str
    reason: str
    operations: tuple[str, ...]  # "METHOD /function/<name>/<path template>"; () = every operation
    applies: Callable[[schemathesis.Case], bool]


# The ONE list of temporary exclusions (a case it matches is not sent); keep it short.
KNOWN_FAILURES: tuple[Known, ...] = ()


def _known(case: schemathesis.Case) -> Known | None:
    return next((k for k in KNOWN_FAILURES
                 if (not k.operations or case.operation.label in k.operations) and k.applies(case)), None)


def _prefixed(document: dict[str, Any], function: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A function's paths under /function/<name> and its schemas renamed ``<name>.<schema>``."""
    prefix = function.replace("-", "_") + "."
    raw = json.dumps({"paths": document["paths"], "schemas": document["components"]["schemas"]})
    raw = raw.replace('"#/components/schemas/', f'"#/components/schemas/{prefix}')
    moved = json.loads(raw)
    paths = {f"/function/{function}{path.rstrip('/') if path != '/' else ''}": item
             for path, item in moved["paths"].items()}
    return paths, {prefix + name: schema for name, schema in moved["schemas"].items()}


def merged_openapi(base_url: str, examples: dict[str, list[str]],
                   bodies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One OpenAPI document of every function as served at ``GET /function/<name>/openapi.json``,
    with real ids as ``examples`` of the parameters named in ``examples`` (``name``, or
    ``function:name`` for one function's) and a valid body as the ``example`` of the operations
    in ``bodies`` (the examples phase sends them)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    security: dict[str, Any] = {}
    for function in FUNCTIONS:
        answer = requests.get(f"{base_url}/function/{function}/openapi.json", timeout=10)
        assert answer.status_code == 200, answer.text
        document = answer.json()
        assert document["servers"] == [{"url": f"/function/{function}"}]
        more_paths, more_schemas = _prefixed(document, function)
        paths.update(more_paths)
        schemas.update(more_schemas)
        security.update(document["components"].get("securitySchemes", {}))
    for path, item in paths.items():
        for method, operation in item.items():
            if f"{method.upper()} {path}" in bodies:
                operation["requestBody"]["content"]["application/json"]["example"] = bodies[f"{method.upper()} {path}"]
            for parameter in operation.get("parameters", []):
                values = examples.get(f"{path.split('/')[2]}:{parameter['name']}", examples.get(parameter["name"]))
                if values:
                    parameter["examples"] = {f"real-{i}": {"value": v} for i, v in enumerate(values)}
    for definition in schemas.values():
        for name, field in definition.get("properties", {}).items():
            if name in examples:
                field["examples"] = examples[name]
    return {"openapi": "3.1.0", "info": {"title": "Prichal", "version": "1"}, "servers": [{"url": base_url}],
            "paths": paths, "components": {"schemas": schemas, "securitySchemes": security}}


@pytest.fixture(scope="module")
def runtime(test_env) -> Iterator[Runtime]:
    """The local runtime on the repository's stack.yml with a fresh demo tenant of its own."""
    from prichal_localrun.seed import ZONE, build_demo
    from tests.conftest import FakeClock

    slug = f"fuzz-{uuid.uuid4().hex[:8]}"
    engine = create_engine(test_env.database_url)
    day = FakeClock().now.astimezone(ZONE).date() + timedelta(days=1)
    with engine.begin() as conn:
        demo = build_demo(conn, slug=slug, hosts=(_host(slug),), days=2, start=day)
    engine.dispose()
    port = free_port()
    env = {**test_env.as_environ(), **sandbox_env(port), **NO_BUYER_LIMITS,
           "HOLD_RATE_LIMIT_PER_MINUTE": "100000", "HOLD_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "100000"}
    staff = _staff_tokens(demo.tenant_id)
    with run_gateway(env=env, port=port, workers=2, threads=8) as url:
        yield Runtime(url, demo.slug, _real_data(url, demo, day.isoformat()), *staff)


def _staff_tokens(tenant_id: str) -> tuple[str, str]:
    """A tenant admin's token and a platform admin's, as the CLI makes them."""
    from tests.staff_support import staff_token

    return staff_token(tenant_id, "admin"), staff_token(None, "platform_admin")


@dataclass(frozen=True)
class Real:
    """Things that exist in the runtime, so that some cases reach past "not found"."""

    tenant_id: str
    day: str  # a day with sailings, for the catalog
    sailing_id: str
    hold_token: str  # a live hold on HOLD_SEAT, for the example body of POST /orders
    other_hold: str  # a live hold to read, extend and release
    order_id: str
    access_token: str
    payment_id: str


@dataclass(frozen=True)
class Runtime:
    url: str
    tenant: str
    real: Real
    admin_token: str = ""  # the fuzz tenant's admin (admin's catalog routes)
    platform_token: str = ""  # a platform admin (admin's /tenants routes)


HOLD_SEAT = "main-C-3"


def _host(slug: str) -> str:
    """The tenant's own host name: a buyer's browser names the tenant by it (``X-Tenant``
    counts only from trusted proxies)."""
    return f"{slug}.example.test"


def _real_data(url: str, demo: Any, day: str) -> Real:
    """A hold and an order (with its sandbox payment) made through the functions themselves."""
    headers = {"Host": _host(demo.slug)}
    sailing = next(s["id"] for s in demo.sailings if s["seating"] == "assigned")

    def hold(seats: list[str]) -> str:
        answer = requests.post(f"{url}/function/lock-seat/holds", json={"sailing_id": sailing, "seat_ids": seats},
                               headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]

    ordered = hold(["main-C-1"])
    order = requests.post(f"{url}/function/create-order/orders", headers=headers, timeout=30, json={
        "hold_token": ordered, "customer": {"name": "Анна Петрова", "email": "anna@example.test"},
        "items": [{"seat_id": "main-C-1", "ticket_type": "adult"}]})
    assert order.status_code == 201, order.text
    created = order.json()
    return Real(tenant_id=demo.tenant_id, day=day, sailing_id=sailing, hold_token=hold([HOLD_SEAT]),
                other_hold=hold(["main-E-1", "main-E-2"]), order_id=created["id"],
                access_token=created["access_token"],
                payment_id=created["payment"]["confirmation_url"].rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def api_schema(runtime):
    real = runtime.real
    examples = {"catalog:date": [real.day], "sailing_id": [real.sailing_id], "tenant_slug": [runtime.tenant],
                "provider": ["mock"], "order_id": [real.order_id], "payment_id": [real.payment_id],
                "lock-seat:token": [real.other_hold],
                "payment-webhook:token": [webhook_token(WEBHOOK_URL_KEY, "mock", runtime.tenant)]}
    bodies = {
        "POST /function/lock-seat/holds": {"sailing_id": real.sailing_id, "seat_ids": ["main-D-1", "main-D-2"]},
        "POST /function/create-order/orders": {
            "hold_token": real.hold_token, "customer": {"name": "Иван", "phone": "+79991234567"},
            "items": [{"seat_id": HOLD_SEAT, "ticket_type": "child"}]},
        "POST /function/payment-webhook/{provider}/{tenant_slug}/{token}": {
            "type": "notification", "event": "payment.succeeded", "object": {"id": real.payment_id}},
        "POST /function/issue-documents": {
            "type": "order.paid", "tenant": real.tenant_id, "data": {
                "order_id": real.order_id, "number": 1, "total": "1000.00", "currency": "RUB",
                "sailing_id": real.sailing_id}},
    }
    url = runtime.url
    config = schemathesis.Config.from_dict({
        "seed": 8, "base-url": url,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    })
    return schemathesis.openapi.from_dict(merged_openapi(url, examples, bodies), config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 names each operation's subtest by rewriting ``node._nodeid``, which
    pytest 9.2 no longer has (it keeps ``_id``): give it the attribute to read and write."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def _credentials(case: schemathesis.Case, runtime: Runtime) -> dict[str, str]:
    """What a real caller sends: the tenant's host, and the credential the operation's ``security``
    names (the sandbox's Basic auth as the tenant's shop, the internal token). Test controls
    that queue faults use a shop of their own, so that the faults they queue (5xx answers on
    purpose) never reach the API calls fuzzed here."""
    headers = {"Host": _host(runtime.tenant)}
    schemes = {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}
    if "internalToken" in schemes:
        headers["Authorization"] = f"Bearer {INTERNAL_TOKEN}"
    elif "sandboxShop" in schemes:
        shop = "fuzz-faults" if case.operation.label.endswith("/sandbox/faults") else runtime.tenant
        headers["Authorization"] = "Basic " + b64encode(f"{shop}:{SANDBOX_SECRET}".encode()).decode()
    elif "staffToken" in schemes and case.operation.label.startswith(("GET /function/admin", "POST /function/admin",
                                                                         "PATCH /function/admin",
                                                                         "DELETE /function/admin")):
        platform = "/function/admin/tenants" in case.operation.label
        headers["Authorization"] = f"Bearer {runtime.platform_token if platform else runtime.admin_token}"
    elif "orderToken" in schemes and (case.path_parameters or {}).get("order_id") == runtime.real.order_id:
        headers["Authorization"] = f"Bearer {runtime.real.access_token}"
    elif "staffToken" in schemes and not case.operation.label.endswith("/logout"):  # logout would end it
        headers["Authorization"] = f"Bearer {runtime.admin_token}"
    return headers


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_function_keeps_to_its_openapi(case: schemathesis.Case, runtime: Runtime) -> None:
    if _known(case) is not None:
        return
    case.headers = {**(case.headers or {}), **_credentials(case, runtime)}
    case.call_and_validate(checks=CHECKS, timeout=30)
