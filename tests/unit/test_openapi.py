"""The functions' OpenAPI descriptions say what they answer: a schema for every success,
cross-field rules as anyOf, the sandbox's errors in their real content types.
(tests/e2e/test_schemathesis.py checks them against the running functions.)"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from tests.support import load_function

FUNCTIONS = ("catalog", "lock-seat", "create-order", "payment-webhook", "mock-payments", "documents", "crm", "hello",
             "expire-holds", "outbox-relay", "issue-documents", "admin", "supplier-sync", "supplier-orders",
             "boarding")
NO_CONTENT = {"204", "303"}


def spec(name: str) -> dict[str, Any]:
    return load_function(name).app.openapi()


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A component schema with its references resolvable by jsonschema."""
    return {**document["components"]["schemas"][name], "components": document["components"]}


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_success_has_a_schema_or_says_it_has_no_body(name: str) -> None:
    for label, operation in operations(spec(name)):
        for status, answer in operation["responses"].items():
            if not status.startswith("2") or status in NO_CONTENT:
                continue
            content = answer.get("content")
            assert content, f"{label} {status} documents no content"
            for media_type, media in content.items():
                if media_type.startswith("application/json"):
                    assert media.get("schema"), f"{label} {status} {media_type} has no schema"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_builtin_routes_are_described(name: str) -> None:
    paths = spec(name)["paths"]
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain; version=0.0.4; charset=utf-8"}
    assert paths["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["required"] == [
        "status"]
    assert "application/json" in paths["/openapi.json"]["get"]["responses"]["200"]["content"]


def test_path_parameters_are_one_non_empty_segment() -> None:
    parameters = spec("catalog")["paths"]["/sailings/{sailing_id}"]["get"]["parameters"]
    assert {"name": "sailing_id", "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1, "pattern": r"^[^/\x00-\x1f\x7f]+$"}} in parameters


def test_optional_query_parameters_are_never_null() -> None:
    parameters = {p["name"]: p for p in spec("catalog")["paths"]["/sailings"]["get"]["parameters"]}
    assert parameters["pier"]["required"] is False
    assert parameters["pier"]["schema"] == {"type": "string", "format": "uuid", "default": None,
                                            "description": "pier id", "title": "Pier"}
    assert parameters["date"]["schema"]["format"] == "date"


@pytest.mark.parametrize(("customer", "valid"), [
    ({"name": "Анна", "email": "anna@example.test"}, True),
    ({"name": "Анна", "phone": "+79991234567"}, True),
    ({"name": "Анна", "email": "anna@example.test", "phone": "+79991234567"}, True),
    ({"name": "Анна"}, False),
    ({"name": "Анна", "email": None, "phone": None}, False),
])
def test_email_or_phone_is_in_the_schema_as_in_the_model(customer: dict, valid: bool) -> None:
    create_order = load_function("create-order")
    schema = component(spec("create-order"), "CustomerIn")
    assert {"required": ["email"], "properties": {"email": {"type": "string", "minLength": 1}}} in schema["anyOf"]
    assert _schema_accepts(schema, customer) is valid
    assert _model_accepts(create_order.CustomerIn, customer) is valid


@pytest.mark.parametrize(("item", "valid"), [
    ({"seat_id": "main-A-1", "ticket_type": "adult"}, True),
    ({"tariff_id": "7d1f3c4e-0000-4000-8000-000000000001"}, True),
    ({"seat_id": "main-A-1"}, False),
    ({"quantity": 2, "ticket_type": None}, False),
])
def test_ticket_type_or_tariff_id_is_in_the_schema_as_in_the_model(item: dict, valid: bool) -> None:
    create_order = load_function("create-order")
    schema = component(spec("create-order"), "ItemIn")
    assert _schema_accepts(schema, item) is valid
    assert _model_accepts(create_order.ItemIn, item) is valid


def test_a_hold_names_seats_or_a_quantity() -> None:
    schema = component(spec("lock-seat"), "HoldCreate")
    assert _schema_accepts(schema, {"sailing_id": "s", "seat_ids": ["main-A-1"]})
    assert _schema_accepts(schema, {"sailing_id": "s", "quantity": 2})
    assert not _schema_accepts(schema, {"sailing_id": "s"})
    assert not _schema_accepts(schema, {"sailing_id": "s", "seat_ids": []})


def test_sandbox_errors_are_yookassa_json_and_its_pages_html() -> None:
    document = spec("mock-payments")
    api = document["paths"]["/v3/payments"]["post"]
    assert set(api["responses"]) >= {"200", "202", "400", "401"}
    assert api["responses"]["401"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/YooKassaError"}}}
    assert api["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaymentCreate"}
    assert {"name": "Idempotence-Key", "in": "header", "required": True} .items() <= next(
        p for p in api["parameters"] if p["name"] == "Idempotence-Key").items()
    assert api["security"] == [{"sandboxShop": []}]
    assert document["components"]["securitySchemes"]["sandboxShop"]["scheme"] == "basic"
    read = document["paths"]["/v3/payments/{payment_id}"]["get"]
    # the sandbox's own 404 is YooKassa's; a path the router cannot match answers problem+json
    assert set(read["responses"]["404"]["content"]) == {"application/json", "application/problem+json"}
    page = document["paths"]["/pay/{payment_id}"]
    assert set(page["get"]["responses"]["200"]["content"]) == {"text/html; charset=utf-8"}
    assert "text/html; charset=utf-8" in page["get"]["responses"]["404"]["content"]
    decide = page["post"]
    assert set(decide["responses"]) >= {"200", "303", "400", "404", "409"}
    assert "content" not in decide["responses"]["303"]
    assert set(decide["responses"]["409"]["content"]) == {"text/html; charset=utf-8"}
    assert "application/x-www-form-urlencoded" in decide["requestBody"]["content"]


def test_bodies_a_handler_parses_itself_are_described() -> None:
    webhook = next(item["post"] for path, item in spec("payment-webhook")["paths"].items()
                   if path.startswith("/{provider}/{tenant_slug}"))  # (/{token} with the edge's URL secret)
    assert webhook["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Notification"}
    issue = spec("issue-documents")["paths"]["/"]["post"]
    assert issue["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderPaidEvent"}


def _schema_accepts(schema: dict[str, Any], value: Any) -> bool:
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError:
        return False
    return True


def _model_accepts(model: Any, value: Any) -> bool:
    try:
        model.model_validate(value)
    except ValidationError:
        return False
    return True


def test_internal_routes_name_their_credential_and_refusals() -> None:
    from prichal.entrypoints.app import FunctionApp

    app = FunctionApp("tiny", "Tiny")
    app.route("POST", "/", tenant=False)(lambda request: {})
    for route in app.routes:  # as the app layer marks a cron or event function's routes
        route.internal = route.template in ("/", "/metrics")
    document = app.openapi()
    run = document["paths"]["/"]["post"]
    assert run["security"] == [{"internalToken": []}] and {"401", "403"} <= set(run["responses"])
    assert document["components"]["securitySchemes"]["internalToken"]["scheme"] == "bearer"
    assert "security" not in document["paths"]["/healthz"]["get"]
