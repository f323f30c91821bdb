"""FunctionApp with a tiny in-test app: routing, body parsing, validation, errors, OpenAPI.

Everything goes through the OpenFaaS ``handle(event, context)`` contract and the
functions-framework target, with no database or Redis (a stub tenant resolver)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from prichal.domain.errors import NotFound, RateLimited, TenantMissing
from prichal.domain.tenants import Tenant
from prichal.entrypoints.app import FunctionApp, Request, Response
from prichal.entrypoints.edge import EdgePolicy
from tests.support import Answer, Event

TENANT = Tenant(id="00000000-0000-0000-0000-000000000001", slug="acme", name="Acme")
SECRET = "password=hunter2 at db-7.internal"
INTERNAL = "internal-test-token"
LIMIT = 250_000  # above the deeply nested JSON below
# As behind the OpenFaaS gateway (one hop, no peer); small bodies so limits are cheap to test.
POLICY = EdgePolicy(proxy_hops=1, trusted_proxies="127.0.0.1/32", internal_token=INTERNAL, max_body_bytes=LIMIT)


def _resolve(request: Request) -> Tenant:
    if request.header("X-Tenant") == "acme":
        return TENANT
    raise TenantMissing("say which tenant")


class ThingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    count: int = Field(ge=1, le=5)


class ThingOut(BaseModel):
    id: str
    name: str
    count: int


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=10, ge=1)


def make_app() -> FunctionApp:
    app = FunctionApp("tiny", "Tiny", "a test app", tenant_resolver=_resolve, edge=lambda: POLICY)

    @app.route("POST", "/things", body=ThingIn, response=ThingOut, status=201)
    def create_thing(request: Request, body: ThingIn) -> dict:
        """Create a thing."""
        return {"id": "t1", "name": body.name, "count": body.count, "tenant": request.tenant.slug}

    @app.route("GET", "/things", query=ListQuery)
    def list_things(request: Request, query: ListQuery) -> dict:
        return {"limit": query.limit, "client_ip": request.client_ip}

    @app.route("GET", "/things/{thing_id}", response=ThingOut, errors=(404,))
    def read_thing(request: Request, thing_id: str) -> Any:
        if thing_id == "missing":
            raise NotFound("thing not found", thing_id=thing_id)
        if thing_id == "boom":
            raise RuntimeError(SECRET)
        if thing_id == "busy":
            raise RateLimited("slow down", retry_after=9)
        return ThingOut(id=thing_id, name="n", count=1)

    @app.route("DELETE", "/things/{thing_id}", status=204)
    def delete_thing(request: Request, thing_id: str) -> Response:
        return Response(status=204)

    @app.route("GET", "/public", tenant=False)
    def public(request: Request) -> dict:
        return {"tenant": request.tenant}

    @app.route("POST", "/jobs", tenant=False, internal=True)
    def job(request: Request) -> dict:
        return {"ran": True}

    return app


@pytest.fixture
def app() -> FunctionApp:
    return make_app()


def send(app: FunctionApp, method: str, path: str, *, body: Any = None, raw: bytes | None = None,
         headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
         tenant: str | None = "acme") -> Answer:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if tenant:
        all_headers["X-Tenant"] = tenant
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    result = app.openfaas_handler(Event(body=payload, headers=all_headers, method=method, query=query or {},
                                        path=path))
    return Answer(result["statusCode"], result["headers"], result["body"])


def assert_problem(answer: Answer, status: int, code: str) -> dict:
    assert answer.status == status, answer.raw
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = answer.json
    assert body["status"] == status and body["code"] == code and body["type"] == f"/problems/{code}"
    assert body["title"] and body["detail"]
    return body


# --- routing -------------------------------------------------------------------------------
def test_happy_path(app):
    answer = send(app, "POST", "/things", body={"name": "boat", "count": 2})
    assert answer.status == 201
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json == {"id": "t1", "name": "boat", "count": 2, "tenant": "acme"}


def test_path_params_and_pydantic_result(app):
    answer = send(app, "GET", "/things/abc")
    assert answer.status == 200 and answer.json == {"id": "abc", "name": "n", "count": 1}


def test_trailing_slash_matches(app):
    assert send(app, "GET", "/things/abc/").status == 200


def test_method_is_case_insensitive(app):
    assert send(app, "get", "/things/abc").status == 200


def test_no_route_is_404(app):
    body = assert_problem(send(app, "GET", "/nowhere"), 404, "no-route")
    assert "/nowhere" in body["detail"]


def test_path_param_does_not_span_slashes(app):
    assert_problem(send(app, "GET", "/things/a/b"), 404, "no-route")


def test_wrong_method_is_405_with_allow(app):
    answer = send(app, "PUT", "/things/abc")
    assert_problem(answer, 405, "method-not-allowed")
    assert answer.headers["Allow"] == "DELETE, GET"
    answer = send(app, "PATCH", "/things")
    assert answer.headers["Allow"] == "GET, POST"


def test_delete_204_has_no_body(app):
    answer = send(app, "DELETE", "/things/abc")
    assert answer.status == 204 and answer.raw == b""


# --- body parsing --------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [b"{", b"{'name': 'x'}", b"name=x&count=1", b"\xff\xfe\x00", b'{"name": "x",}'])
def test_malformed_json_is_400(app, raw):
    assert_problem(send(app, "POST", "/things", raw=raw), 400, "malformed-json")


@pytest.mark.parametrize("raw", [b"[]", b'[{"name": "x", "count": 1}]', b'"x"', b"42", b"null", b"true"])
def test_non_object_body_is_400(app, raw):
    body = assert_problem(send(app, "POST", "/things", raw=raw), 400, "malformed-json")
    assert "object" in body["detail"]


def test_deeply_nested_json_is_400(app):
    assert_problem(send(app, "POST", "/things", raw=b"[" * 100_000 + b"]" * 100_000), 400, "malformed-json")


@pytest.mark.parametrize("raw", [b"", b"   \n"])
def test_empty_body_is_400(app, raw):
    assert_problem(send(app, "POST", "/things", raw=raw), 400, "body-required")


# --- validation ----------------------------------------------------------------------------
def test_pydantic_errors_are_422_with_field_locs(app):
    body = assert_problem(send(app, "POST", "/things", body={"name": "", "count": 9, "colour": "red"}),
                          422, "validation-failed")
    locs = {tuple(e["loc"]): e["type"] for e in body["errors"]}
    assert locs == {("name",): "string_too_short", ("count",): "less_than_equal", ("colour",): "extra_forbidden"}
    assert all(e["msg"] for e in body["errors"])


def test_missing_fields_are_422(app):
    body = assert_problem(send(app, "POST", "/things", body={}), 422, "validation-failed")
    assert sorted(tuple(e["loc"]) for e in body["errors"]) == [("count",), ("name",)]
    assert {e["type"] for e in body["errors"]} == {"missing"}


def test_validation_errors_do_not_echo_input(app):
    answer = send(app, "POST", "/things", body={"name": "x", "count": "not-a-number-SECRETVALUE"})
    assert_problem(answer, 422, "validation-failed")
    assert b"SECRETVALUE" not in answer.raw


def test_query_is_validated(app):
    assert send(app, "GET", "/things", query={"limit": "3"}).json["limit"] == 3
    body = assert_problem(send(app, "GET", "/things", query={"limit": "0"}), 422, "validation-failed")
    assert body["errors"][0]["loc"] == ["limit"]
    body = assert_problem(send(app, "GET", "/things", query={"lmit": "3"}), 422, "validation-failed")
    assert body["errors"][0]["loc"] == ["lmit"]


def test_query_lists_take_the_first_value(app):
    assert send(app, "GET", "/things", query={"limit": ["4", "5"]}).json["limit"] == 4


# --- errors --------------------------------------------------------------------------------
def test_domain_error_becomes_problem(app):
    body = assert_problem(send(app, "GET", "/things/missing"), 404, "not-found")
    assert body["thing_id"] == "missing"


def test_rate_limited_sets_retry_after(app):
    answer = send(app, "GET", "/things/busy")
    assert_problem(answer, 429, "rate-limited")
    assert answer.headers["Retry-After"] == "9"


def test_unexpected_exception_is_500_without_leaking(app, caplog):
    with caplog.at_level(logging.ERROR, logger="prichal.entrypoints"):
        answer = send(app, "GET", "/things/boom")
    body = assert_problem(answer, 500, "internal")
    assert SECRET.encode() not in answer.raw
    assert "hunter2" not in json.dumps(body)
    assert any("boom" in r.getMessage() or r.exc_info for r in caplog.records)  # logged for operators


def test_tenant_is_resolved_before_the_body(app):
    # no tenant and a malformed body: the tenant problem wins
    assert_problem(send(app, "POST", "/things", raw=b"{", tenant=None), 400, "tenant-missing")


def test_routes_without_tenant_skip_the_resolver(app):
    answer = send(app, "GET", "/public", tenant=None)
    assert answer.status == 200 and answer.json == {"tenant": None}


def test_route_needing_tenant_without_resolver_is_500():
    bare = FunctionApp("bare", "Bare")

    @bare.route("GET", "/x")
    def x(request: Request) -> dict:
        return {}

    assert_problem(send(bare, "GET", "/x"), 500, "internal")


def test_client_ip_from_forwarded_for_without_peer(app):
    # one hop (the edge): its entry, the rightmost, is the client; the rest is the client's own word
    answer = send(app, "GET", "/things", headers={"X-Forwarded-For": "185.71.76.1, 198.51.100.1"})
    assert answer.json["client_ip"] == "198.51.100.1"
    assert send(app, "GET", "/things", headers={"X-Forwarded-For": "garbage"}).json["client_ip"] is None


# --- routing is exact ------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/things\n", "/things/\n", "/things/abc\n", "/healthz\n"])
def test_a_trailing_newline_matches_no_route(app, path):
    assert_problem(send(app, "GET", path), 404, "no-route")


@pytest.mark.parametrize("param", ["a\x00b", "a\tb", "a\x7f", "\r"])
def test_path_parameters_refuse_control_characters(app, param):
    assert_problem(send(app, "GET", f"/things/{param}"), 404, "no-route")


# --- internal routes -------------------------------------------------------------------------
def test_internal_route_without_the_credential_is_401(app):
    answer = send(app, "POST", "/jobs", tenant=None)
    assert_problem(answer, 401, "internal-credential-required")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(send(app, "POST", "/jobs", tenant=None, headers={"Authorization": "Basic eDp5"}),
                   401, "internal-credential-required")


def test_internal_route_with_a_wrong_credential_is_403(app):
    answer = send(app, "POST", "/jobs", tenant=None, headers={"Authorization": f"Bearer {INTERNAL}x"})
    assert_problem(answer, 403, "internal-credential-invalid")


def test_internal_route_with_the_credential_runs(app):
    answer = send(app, "POST", "/jobs", tenant=None, headers={"Authorization": f"Bearer {INTERNAL}"})
    assert answer.status == 200 and answer.json == {"ran": True}


def test_metrics_are_internal(app):
    assert_problem(send(app, "GET", "/metrics", tenant=None), 401, "internal-credential-required")


def test_an_internal_function_keeps_health_and_openapi_public():
    internal = FunctionApp("cron-like", "Cron", edge=lambda: POLICY, internal=True)

    @internal.route("POST", "/", tenant=False)
    def run(request: Request) -> dict:
        return {"ran": True}

    assert_problem(send(internal, "POST", "/", tenant=None), 401, "internal-credential-required")
    assert send(internal, "GET", "/healthz", tenant=None).status == 200
    assert send(internal, "GET", "/openapi.json", tenant=None).status == 200


def test_a_network_guarded_deployment_needs_no_credential():
    guarded = EdgePolicy(internal_network_guarded=True)
    app = FunctionApp("guarded", "Guarded", edge=lambda: guarded, internal=True)

    @app.route("POST", "/", tenant=False)
    def run(request: Request) -> dict:
        return {"ran": True}

    assert send(app, "POST", "/", tenant=None).json == {"ran": True}


def test_without_a_configured_token_nothing_gets_in():
    app = FunctionApp("no-token", "No token", edge=lambda: EdgePolicy(internal_token=""), internal=True)

    @app.route("POST", "/", tenant=False)
    def run(request: Request) -> dict:
        return {"ran": True}

    assert_problem(send(app, "POST", "/", tenant=None, headers={"Authorization": "Bearer "}), 401,
                   "internal-credential-required")
    assert_problem(send(app, "POST", "/", tenant=None, headers={"Authorization": "Bearer x"}), 403,
                   "internal-credential-invalid")


# --- bodies ----------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_413(app):
    body = assert_problem(send(app, "POST", "/things", raw=b'{"name": "' + b"x" * LIMIT + b'"}'),
                          413, "body-too-large")
    assert body["max_bytes"] == LIMIT


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml",
                                          "multipart/form-data; boundary=x", "", "application/jsonp"])
def test_a_json_route_refuses_other_content_types(app, content_type):
    body = assert_problem(send(app, "POST", "/things", body={"name": "b", "count": 1},
                               headers={"Content-Type": content_type}), 415, "unsupported-media-type")
    assert body["accepted"] == ["application/json"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON", "application/merge-patch+json"])
def test_json_content_types_are_accepted(app, content_type):
    answer = send(app, "POST", "/things", body={"name": "b", "count": 1}, headers={"Content-Type": content_type})
    assert answer.status == 201, answer.raw


# --- built-ins -----------------------------------------------------------------------------
def test_builtins_need_no_tenant(app):
    assert send(app, "GET", "/healthz", tenant=None).json == {"status": "ok"}
    metrics = send(app, "GET", "/metrics", tenant=None, headers={"Authorization": f"Bearer {INTERNAL}"})
    assert metrics.status == 200 and metrics.raw


def test_openapi_has_every_route(app):
    answer = send(app, "GET", "/openapi.json", tenant=None)
    assert answer.status == 200
    spec = answer.json
    assert spec["openapi"].startswith("3.")
    declared = {(r.template, r.method.lower()) for r in app.routes}
    published = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert published == declared
    assert {"/things", "/things/{thing_id}", "/public", "/openapi.json", "/metrics", "/healthz"} <= set(spec["paths"])
    create = spec["paths"]["/things"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ThingIn"}
    assert {"201", "400", "404", "422"} <= set(create["responses"])
    assert "ThingIn" in spec["components"]["schemas"] and "Problem" in spec["components"]["schemas"]
    read = spec["paths"]["/things/{thing_id}"]["get"]
    assert {"name": "thing_id", "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1, "pattern": r"^[^/\x00-\x1f\x7f]+$"}} in read["parameters"]
    listing = spec["paths"]["/things"]["get"]
    assert any(p["name"] == "limit" and p["in"] == "query" for p in listing["parameters"])


# --- the other runtime ---------------------------------------------------------------------
def test_functions_framework_target_gives_the_same_answers(app):
    flask = pytest.importorskip("flask")
    web = flask.Flask("tiny")

    def view(path: str = "") -> Any:
        return app.functions_framework_target(flask.request)

    web.add_url_rule("/", view_func=view, methods=["GET", "POST", "PUT", "DELETE"])
    web.add_url_rule("/<path:path>", view_func=view, methods=["GET", "POST", "PUT", "DELETE"])
    client = web.test_client()
    tenant = {"X-Tenant": "acme", "Content-Type": "application/json"}
    ok = client.post("/things", data=b'{"name": "b", "count": 1}', headers=tenant)
    assert ok.status_code == 201 and ok.get_json()["name"] == "b"
    bad = client.post("/things", data=b"[]", headers=tenant)
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"
    assert bad.get_json()["code"] == "malformed-json"
    wrong = client.put("/things", headers={"X-Tenant": "acme"})
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET, POST"


def _flask_client(app: FunctionApp) -> Any:
    flask = pytest.importorskip("flask")
    web = flask.Flask("tiny")
    web.add_url_rule("/<path:path>", view_func=lambda path: app.functions_framework_target(flask.request),
                     methods=["GET", "POST"])
    return web.test_client()


def test_functions_framework_refuses_a_large_body_before_reading_it(app):
    client = _flask_client(app)
    tenant = {"X-Tenant": "acme", "Content-Type": "application/json"}
    declared = client.post("/things", data=b"{" + b" " * LIMIT + b"}", headers=tenant)
    assert declared.status_code == 413 and declared.get_json()["code"] == "body-too-large"
    assert declared.headers["Content-Type"] == "application/problem+json"

    def chunks():  # no Content-Length: the reader must stop at the limit
        yield b'{"name": "'
        for _ in range(1_000):
            yield b"x" * 1000
        yield b'"}'

    import flask
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/things", method="POST", headers=tenant).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    stream = _Chunks(chunks())
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    chunked = app.serve_flask(flask.Request(environ))
    assert chunked.status_code == 413 and chunked.get_json()["code"] == "body-too-large"
    assert stream.read_at_most <= LIMIT + 1


def test_functions_framework_has_the_peer_for_direct_serving():
    direct = FunctionApp("direct", "Direct", edge=lambda: EdgePolicy(proxy_hops=0, trusted_proxies="127.0.0.1/32"))

    @direct.route("GET", "/who", tenant=False)
    def who(request: Request) -> dict:
        return {"client_ip": request.client_ip, "forwarded_trusted": request.forwarded_trusted}

    answer = _flask_client(direct).get("/who", headers={"X-Forwarded-For": "185.71.76.1"},
                                       environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert answer.get_json() == {"client_ip": "203.0.113.9", "forwarded_trusted": False}


class _Chunks:
    """A wsgi.input that counts what was read from it."""

    def __init__(self, parts: Any) -> None:
        self._parts = parts
        self._buffer = b""
        self.read_at_most = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._parts)
            except StopIteration:
                break
        out, self._buffer = (self._buffer, b"") if size < 0 else (self._buffer[:size], self._buffer[size:])
        self.read_at_most += len(out)
        return out

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def test_openapi_lists_what_the_door_answers(app):
    paths = send(app, "GET", "/openapi.json", tenant=None).json["paths"]
    assert {"401", "403", "413"} <= set(paths["/jobs"]["post"]["responses"])
    assert {"413", "415"} <= set(paths["/things"]["post"]["responses"])
    assert {"401", "403"} <= set(paths["/metrics"]["get"]["responses"])
    assert not {"401", "403", "413", "415"} & set(paths["/things/{thing_id}"]["get"]["responses"])


def test_a_dict_answer_writes_times_as_iso_8601_and_money_as_strings():
    import datetime as dt
    from decimal import Decimal

    moment = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    payload, _ = Response(status=200, body={"at": moment, "on": moment.date(), "total": Decimal("10.50")}).encoded()
    assert json.loads(payload) == {"at": "2026-12-03T09:00:00+00:00", "on": "2026-12-03", "total": "10.50"}
