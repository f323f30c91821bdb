"""``FunctionApp``: routes, validation, tenancy, errors, metrics and tracing for one function.

A function's ``handler.py`` declares routes on a ``FunctionApp`` and exports
``handle = app.openfaas_handler`` (OpenFaaS ``python3-http``: ``handle(event, context)``)
and ``main = app.functions_framework_target`` (``functions-framework --target main``).
Both build the same runtime-neutral ``Request`` and go through ``dispatch``, so one body
runs unchanged under either runtime.

Every route resolves the tenant before anything else unless it says ``tenant=False``.
Built in: ``GET /openapi.json``, ``GET /metrics`` (internal), ``GET /healthz``. What is refused
at the door (internal routes without the credential, bodies too large, non-JSON bodies) and
which proxy headers are believed is decided by the ``EdgePolicy`` (``edge.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from pydantic import BaseModel, ValidationError

from prichal.domain.errors import DomainError
from prichal.domain.tenants import Tenant
from prichal.observability import metrics
from prichal.observability.logging import current_function
from prichal.observability.tracing import extract_context, tracer

from . import edge as door
from . import problems
from .client_address import client_address, via_trusted_proxy
from .edge import EdgePolicy
from .fields import nul_location

log = logging.getLogger("prichal.entrypoints")
JSON = "application/json"


def _json_value(value: Any) -> Any:
    """What ``json`` cannot write itself: times in ISO 8601 (``T``, as the OpenAPI
    ``date-time`` format says, not ``str()``'s space), money and ids as strings."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


class CaseInsensitiveDict(dict):
    """Header mapping with case-insensitive ``get`` (keys stored lower-case)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__((k.lower(), v) for k, v in (items or {}).items())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass
class Request:
    method: str
    path: str
    headers: CaseInsensitiveDict
    query: Mapping[str, str]
    body: bytes
    peer: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    tenant: Tenant | None = None
    client_ip: str | None = None
    # Whether X-Forwarded-Host and the tenant header came from our own proxies (see client_address).
    forwarded_trusted: bool = False

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes | bytearray):
            payload = bytes(self.body)
            headers.setdefault("Content-Type", self.content_type or JSON)
        elif isinstance(self.body, str):
            payload = self.body.encode()
            headers.setdefault("Content-Type", self.content_type or "text/plain; charset=utf-8")
        else:
            payload = json.dumps(self.body, separators=(",", ":"), ensure_ascii=False, default=_json_value).encode()
            headers.setdefault("Content-Type", self.content_type or JSON)
        return payload, headers


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=body, headers=headers or {}, content_type=problems.PROBLEM_CONTENT_TYPE)


@dataclass
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Callable[..., Any]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    tenant: bool
    summary: str
    errors: tuple[int, ...]
    internal: bool = False


_PARAM = re.compile(r"\{(\w+)\}")


def _compile(template: str) -> re.Pattern[str]:
    """``\\Z``, not ``$`` (which also matches before a final newline); a parameter never holds a
    control character."""
    pattern = _PARAM.sub(lambda m: rf"(?P<{m[1]}>[^/\x00-\x1f\x7f]+)", template.rstrip("/") or "/")
    return re.compile(r"\A" + pattern + r"/?\Z")


class FunctionApp:
    def __init__(self, name: str, title: str, description: str = "", version: str = "1.0.0",
                 tenant_resolver: Callable[[Request], Tenant] | None = None,
                 edge: Callable[[], EdgePolicy] | None = None, internal: bool = False) -> None:
        """``internal``: every route of this function is for the platform's own callers (cron,
        connectors), except ``/healthz`` and ``/openapi.json``."""
        self.name = name
        self.title = title
        self.description = description
        self.version = version
        self.internal = internal
        self.routes: list[Route] = []
        self._tenant_resolver = tenant_resolver
        self._edge = edge or EdgePolicy
        self.route("GET", "/openapi.json", tenant=False, internal=False,
                   summary="This function's OpenAPI description")(lambda request: self.openapi())
        self.route("GET", "/metrics", tenant=False, internal=True, summary="Prometheus metrics")(self._metrics)
        self.route("GET", "/healthz", tenant=False, internal=False, summary="Liveness")(
            lambda request: {"status": "ok"})

    # --- declaring routes ----------------------------------------------------------------
    def route(self, method: str, template: str, *, body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
              status: int = 200, tenant: bool = True, summary: str = "",
              errors: tuple[int, ...] = (), internal: bool | None = None,
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """``internal`` (default: the function's): only callers with the internal credential."""
        closed = self.internal if internal is None else internal
        # What the door may answer before the handler runs, so the OpenAPI description says it too.
        door_errors = ((401, 403) if closed else ()) + ((413,) if method.upper() != "GET" else ()) + (
            (415,) if body is not None else ())
        every_error = tuple(sorted(set(errors) | set(door_errors)))

        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.routes.append(Route(method.upper(), template, _compile(template), handler, body, query, response,
                                     status, tenant, summary or (handler.__doc__ or "").strip().split("\n")[0],
                                     every_error, closed))
            return handler
        return register

    # --- serving -------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        started = time.perf_counter()
        route, params, allowed = self._match(request.method, request.path)
        label = route.template if route else "unmatched"
        token = otel_context.attach(extract_context(request.headers))
        serving = current_function.set(self.name)
        try:
            with tracer().start_as_current_span(f"{self.name} {request.method} {label}",
                                                kind=trace.SpanKind.SERVER) as span:
                response = self._run(route, params, allowed, request)
                span.set_attribute("http.response.status_code", response.status)
        finally:
            current_function.reset(serving)
            otel_context.detach(token)
        metrics.REQUESTS.labels(self.name, label, request.method, str(response.status)).inc()
        metrics.REQUEST_LATENCY.labels(self.name, label, request.method).observe(time.perf_counter() - started)
        return response

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        allowed = []
        for route in self.routes:
            found = route.regex.match(path)
            if found:
                if route.method == method.upper():
                    return route, found.groupdict(), []
                allowed.append(route.method)
        return None, {}, allowed

    def _run(self, route: Route | None, params: dict[str, str], allowed: list[str], request: Request) -> Response:
        if route is None:
            if allowed:
                return problem_response(405, problems.problem(
                    405, "method-not-allowed", "Method not allowed",
                    f"{request.method} is not allowed here; use {', '.join(sorted(set(allowed)))}"),
                    {"Allow": ", ".join(sorted(set(allowed)))})
            return problem_response(404, problems.problem(404, "no-route", "Not found",
                                                          f"no route for {request.method} {request.path}"))
        request.path_params = params
        policy = self._edge()
        if route.internal:
            refused = door.internal_refusal(request.header("Authorization"), policy)
            if refused is not None:
                headers = {"WWW-Authenticate": 'Bearer realm="internal"'} if refused[0] == 401 else {}
                return problem_response(*refused, headers)
        if len(request.body) > policy.max_body_bytes:
            return problem_response(413, door.too_large(policy.max_body_bytes, len(request.body)))
        if route.body is not None and request.body.strip() and not door.is_json(request.header("Content-Type")):
            return problem_response(415, door.not_json(request.header("Content-Type")))
        nul = _nul_in_request(request.query, request.body if route.body is None else b"")
        if nul is not None:
            return nul
        try:
            trusted = policy.trusted_networks
            request.client_ip = client_address(request.peer, request.header("X-Forwarded-For"),
                                               policy.proxy_hops, trusted)
            request.forwarded_trusted = via_trusted_proxy(request.peer, policy.proxy_hops, trusted)
            if route.tenant:
                if self._tenant_resolver is None:
                    raise RuntimeError(f"route {route.template} needs a tenant but {self.name} has no resolver")
                request.tenant = self._tenant_resolver(request)
            kwargs: dict[str, Any] = dict(params)
            if route.query is not None:
                kwargs["query"] = route.query.model_validate(dict(request.query))
            if route.body is not None:
                parsed = _parse_json(request.body)
                if isinstance(parsed, Response):
                    return parsed
                if (where := nul_location(parsed)) is not None:
                    return _nul_problem(where)
                kwargs["body"] = route.body.model_validate(parsed)
            result = route.handler(request, **kwargs)
        except ValidationError as exc:
            return problem_response(422, problems.from_validation(exc.errors(include_url=False, include_input=False)))
        except DomainError as exc:
            status, body, headers = problems.from_domain(exc)
            return problem_response(status, body, headers)
        except Exception:
            log.exception("unhandled error in %s %s %s", self.name, request.method, request.path)
            return problem_response(500, problems.problem(500, "internal", "Internal error",
                                                          "the request failed; it has been logged"))
        if isinstance(result, Response):
            return result
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        return Response(status=route.status, body=result)

    def _metrics(self, request: Request) -> Response:
        payload, content_type = metrics.render()
        return Response(body=payload, content_type=content_type)

    # --- runtimes ------------------------------------------------------------------------
    def openfaas_handler(self, event: Any, context: Any = None) -> dict[str, Any]:
        """OpenFaaS ``python3-http``: ``event`` has body, headers, method, query, path."""
        body = event.body if isinstance(event.body, bytes) else (event.body or "").encode()
        request = Request(method=event.method.upper(), path=event.path or "/",
                          headers=CaseInsensitiveDict(dict(event.headers)),
                          query=_flat(event.query), body=body)
        response = self.dispatch(request)
        payload, headers = response.encoded()
        return {"statusCode": response.status, "body": payload, "headers": headers}

    @property
    def functions_framework_target(self) -> Callable[[Any], Any]:
        """A plain function for functions-framework, which refuses bound methods as targets."""

        def main(request: Any) -> Any:
            return self.serve_flask(request)

        return main

    def serve_flask(self, request: Any) -> Any:
        """functions-framework (Knative, Cloud Run, a plain container): a ``flask.Request``."""
        import flask

        limit = self._edge().max_body_bytes
        declared = request.content_length
        body = b"" if declared is not None and declared > limit else request.stream.read(limit + 1)
        if len(body) > limit or (declared is not None and declared > limit):
            response = problem_response(413, door.too_large(limit, declared))  # the rest is never read
        else:
            ours = Request(method=request.method.upper(), path=request.path or "/",
                           headers=CaseInsensitiveDict(dict(request.headers)), query=_flat(request.args),
                           body=body, peer=request.remote_addr)
            response = self.dispatch(ours)
        payload, headers = response.encoded()
        return flask.Response(payload, status=response.status, headers=headers)

    # --- OpenAPI ---------------------------------------------------------------------------
    def openapi(self) -> dict[str, Any]:
        from .openapi import build_openapi

        return build_openapi(self)


def _flat(query: Any) -> dict[str, str]:
    if query is None:
        return {}
    if hasattr(query, "to_dict"):
        return query.to_dict(flat=True)
    return {k: (v[0] if isinstance(v, list) and v else v) for k, v in dict(query).items()}


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        return problem_response(400, problems.problem(400, "body-required", "Request body required",
                                                      "send a JSON object"))
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return problem_response(400, problems.problem(400, "malformed-json", "Malformed JSON",
                                                      f"the body is not valid JSON: {exc}"))
    if not isinstance(parsed, dict):
        return problem_response(400, problems.problem(400, "malformed-json", "Malformed JSON",
                                                      "the body must be a JSON object"))
    return parsed


# --- NUL: PostgreSQL cannot store it, and no input of ours means anything with it ----------
def _nul_problem(loc: list[str | int]) -> Response:
    return problem_response(422, problems.from_validation(
        [{"loc": loc, "type": "string_nul", "msg": "NUL characters are not allowed"}]))


def _nul_in_request(query: Mapping[str, str], own_body: bytes) -> Response | None:
    """A NUL in the query, or in a JSON body that the handler parses itself (webhooks, events:
    only looked into when it holds the escape ``\\u0000``, as raw NULs are not JSON). A path
    parameter never holds one: the router matches no control character (``_compile``)."""
    for name, value in query.items():
        if "\x00" in str(name) or "\x00" in str(value):
            return _nul_problem([name])
    if _NUL_ESCAPE.search(own_body):
        try:
            parsed = json.loads(own_body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None  # not JSON: the handler answers for it
        if (where := nul_location(parsed)) is not None:
            return _nul_problem(where)
    return None


_NUL_ESCAPE = re.compile(rb"\\u0000", re.IGNORECASE)
