"""OpenAPI 3.1 description of a ``FunctionApp``, built from its routes and pydantic models.

The description must be true: schemathesis checks every function against it
(tests/e2e/test_schemathesis.py). A route's ``body=``, ``query=``, ``response=`` and
``errors=`` say most of it; what they cannot say is declared with ``@describe(...)``
placed *under* the route decorator: an answer that is not JSON or not a model (HTML, a
redirect, no content), errors that are not problem+json (the sandbox answers YooKassa's
JSON errors and HTML pages), a body the handler parses itself, request headers and the
credentials a route takes. What the app layer answers by itself for every route (a tenant
that cannot be resolved, a path that matches no route, a body that is no JSON object, a
model that refuses the input) is added here, once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from .app import FunctionApp, Route

_REF = "#/components/schemas/{model}"
JSON = "application/json"
PROBLEM = "application/problem+json"
HTML = "text/html; charset=utf-8"
FORM = "application/x-www-form-urlencoded"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "machine-readable reason"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
            "type": {"type": "string"}, "msg": {"type": "string"}}}},
        "seat_ids": {"type": "array", "items": {"type": "string"}},
        "available": {"type": "integer"},
        "retry_after": {"type": "integer"},
    },
}
_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 303: "See other",
                400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                405: "Method not allowed", 409: "Conflict", 410: "Gone", 413: "Content too large",
                415: "Unsupported media type", 422: "Unprocessable", 429: "Too many requests",
                503: "Service unavailable"}
# A path parameter is one segment without control characters (what the router matches).
_SEGMENT = {"type": "string", "minLength": 1, "pattern": r"^[^/\x00-\x1f\x7f]+$"}


@dataclass(frozen=True)
class Media:
    """One documented content: a media type and its schema (a model, a JSON schema, or none)."""

    content_type: str
    schema: type[BaseModel] | Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Header:
    """A request header the route reads."""

    name: str
    description: str = ""
    required: bool = False
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Doc:
    """What ``@describe`` adds to a route's description (see the module docstring)."""

    responses: Mapping[int, Media | None] | None = None
    errors: tuple[Media, ...] = ()
    body: Media | None = None
    headers: tuple[Header, ...] = ()
    security: tuple[str, ...] = ()
    body_required: bool = True


F = TypeVar("F", bound=Callable[..., Any])

# Credentials a route may name in ``@describe(security=...)``.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "orderToken": {"type": "http", "scheme": "bearer",
                   "description": "the order's access_token returned by POST /orders"},
    "staffToken": {"type": "http", "scheme": "bearer",
                   "description": "a staff token: the session token of POST /function/crm/login, or an API "
                                  "token (prefix prs./pra. for a tenant's staff, pps./ppa. for platform admins)"},
    "sandboxShop": {"type": "http", "scheme": "basic",
                    "description": "any shop id as the user, the sandbox secret as the password"},
    "internalToken": {"type": "http", "scheme": "bearer",
                      "description": "the platform's internal credential (secret internal-token): "
                                     "cron, connectors and metrics scrapers only"},
}


def describe(*, responses: Mapping[int, Media | None] | None = None, errors: Media | tuple[Media, ...] = (),
             body: Media | None = None, body_required: bool = True, headers: tuple[Header, ...] = (),
             security: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Declare what the route's own arguments cannot (use under ``@app.route``).

    ``responses``: the successes by status (``None``: no content), replacing the one from
    ``status=``/``response=``; ``errors``: the content of the route's ``errors=`` statuses
    (default problem+json); ``body``: a request body the handler reads itself.
    """
    doc = Doc(responses, errors if isinstance(errors, tuple) else (errors,), body, headers, security, body_required)

    def mark(handler: F) -> F:
        handler.__openapi__ = doc  # type: ignore[attr-defined]
        return handler

    return mark


def _schema(source: type[BaseModel] | Mapping[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(source, type):
        return copy.deepcopy(dict(source))
    schema = source.model_json_schema(ref_template=_REF)
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[source.__name__] = schema
    return {"$ref": _REF.format(model=source.__name__)}


def _content(media: tuple[Media, ...], components: dict[str, Any]) -> dict[str, Any]:
    return {m.content_type: ({"schema": _schema(m.schema, components)} if m.schema is not None else {})
            for m in media}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is absent, never ``null``: drop pydantic's null branch."""
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1 and len(schema.get("anyOf", [])) == 2:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**branches[0], **rest}
    return schema


def _parameters(route: Route, doc: Doc, components: dict[str, Any]) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [{"name": name, "in": "path", "required": True, "schema": dict(_SEGMENT)}
                                        for name in route.regex.groupindex]
    if route.tenant:
        parameters.append({
            "name": "X-Tenant", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "tenant slug; without it the tenant is found from the host name"})
    if route.query is not None:
        query = route.query.model_json_schema(ref_template=_REF)
        for name, definition in query.pop("$defs", {}).items():
            components[name] = definition
        for name, info in route.query.model_fields.items():
            key = info.alias or name
            parameters.append({"name": key, "in": "query", "required": info.is_required(),
                               "description": info.description or "",
                               "schema": _not_null(query["properties"][key])})
    for header in doc.headers:
        parameters.append({"name": header.name, "in": "header", "required": header.required,
                           "description": header.description,
                           "schema": dict(header.schema or {"type": "string"})})
    return parameters


def _error_statuses(route: Route, doc: Doc) -> dict[int, tuple[Media, ...]]:
    """Each error status with its contents: the route's own (``errors=``) and the app layer's."""
    own = doc.errors or (Media(PROBLEM, {"$ref": "#/components/schemas/Problem"}),)
    problem = Media(PROBLEM, {"$ref": "#/components/schemas/Problem"})
    statuses: dict[int, list[Media]] = {status: list(own) for status in route.errors}

    def add(status: int) -> None:
        found = statuses.setdefault(status, [])
        if problem not in found:
            found.append(problem)

    if route.tenant:
        add(400)  # no tenant named and none for the host
        add(404)  # an unknown tenant
    if route.body is not None:
        add(400)  # no body, or not a JSON object
        add(422)
    if route.query is not None:
        add(422)
    if route.regex.groupindex:
        add(404)  # a parameter the router cannot take as one segment matches no route
    if route.method != "GET":
        add(422)  # FunctionApp refuses a NUL anywhere in a body (also one the handler parses itself)
    if route.body is not None or doc.body is not None:
        add(413)  # larger than the edge's body limit
    if route.body is not None:
        add(415)  # a body that is not JSON
    if _internal(route):
        add(401)  # no internal credential
        add(403)  # a wrong one
    return {status: tuple(media) for status, media in statuses.items()}


def _internal(route: Route) -> bool:
    """Whether only the platform's own callers may use the route (``Route.internal``, where the
    app layer has it)."""
    return bool(getattr(route, "internal", False))


def _operation(route: Route, components: dict[str, Any]) -> dict[str, Any]:
    doc: Doc = getattr(route.handler, "__openapi__", None) or _BUILTIN.get(route.template) or Doc()
    operation: dict[str, Any] = {"summary": route.summary, "operationId": route.handler.__name__,
                                 "parameters": _parameters(route, doc, components), "responses": {}}
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": _schema(route.body, components)}}}
    elif doc.body is not None:
        operation["requestBody"] = {"required": doc.body_required, "content": _content((doc.body,), components)}
    security = doc.security + (("internalToken",) if _internal(route) else ())
    if security:
        operation["security"] = [{name: []} for name in security]
    successes = doc.responses if doc.responses is not None else {
        route.status: None if route.response is None else Media(JSON, route.response)}
    for status, media in sorted(successes.items()):
        answer: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "OK")}
        if media is not None:
            answer["content"] = _content((media,), components)
        operation["responses"][str(status)] = answer
    for status, media in sorted(_error_statuses(route, doc).items()):
        operation["responses"][str(status)] = {"description": _STATUS_TEXT.get(status, "Error"),
                                               "content": _content(media, components)}
    return operation


_OPENAPI_DOCUMENT = {"type": "object", "required": ["openapi", "info", "paths"],
                     "properties": {"openapi": {"type": "string"}, "info": {"type": "object"},
                                    "paths": {"type": "object"}}}
_BUILTIN: dict[str, Doc] = {
    "/openapi.json": Doc(responses={200: Media(JSON, _OPENAPI_DOCUMENT)}),
    "/metrics": Doc(responses={200: Media(PROMETHEUS, {"type": "string"})}),
    "/healthz": Doc(responses={200: Media(JSON, {"type": "object", "required": ["status"],
                                                 "properties": {"status": {"const": "ok"}}})}),
}


def build_openapi(app: FunctionApp) -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, Any] = {}
    used: set[str] = set()
    for route in app.routes:
        operation = _operation(route, components)
        for requirement in operation.get("security", []):
            used.update(requirement)
        paths.setdefault(route.template, {})[route.method.lower()] = operation
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": app.title, "version": app.version, "description": app.description},
        "servers": [{"url": f"/function/{app.name}"}],
        "paths": paths,
        "components": {"schemas": components},
    }
    if used:
        document["components"]["securitySchemes"] = {name: SECURITY_SCHEMES[name] for name in sorted(used)}
    return document
