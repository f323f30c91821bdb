"""OpenAPI 3.1 description of a ``FunctionApp``, built from its routes and pydantic models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from .app import FunctionApp

_REF = "#/components/schemas/{model}"

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
_STATUS_TEXT = {400: "Bad request", 404: "Not found", 409: "Conflict", 410: "Gone", 422: "Unprocessable",
                429: "Too many requests"}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": _REF.format(model=model.__name__)}


def build_openapi(app: FunctionApp) -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, Any] = {}
    for route in app.routes:
        operation: dict[str, Any] = {"summary": route.summary, "operationId": route.handler.__name__,
                                     "parameters": [], "responses": {}}
        for name in route.regex.groupindex:
            operation["parameters"].append({"name": name, "in": "path", "required": True,
                                            "schema": {"type": "string"}})
        if route.tenant:
            operation["parameters"].append({
                "name": "X-Tenant", "in": "header", "required": False, "schema": {"type": "string"},
                "description": "tenant slug; without it the tenant is found from the host name"})
        if route.query is not None:
            for name, info in route.query.model_fields.items():
                operation["parameters"].append({
                    "name": info.alias or name, "in": "query", "required": info.is_required(),
                    "description": info.description or "",
                    "schema": route.query.model_json_schema()["properties"][info.alias or name]})
        if route.body is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _schema(route.body, components)}}}
        ok: dict[str, Any] = {"description": "OK"}
        if route.response is not None:
            ok["content"] = {"application/json": {"schema": _schema(route.response, components)}}
        operation["responses"][str(route.status)] = ok
        statuses = set(route.errors)
        if route.tenant:
            statuses |= {400, 404}
        if route.body is not None or route.query is not None:
            statuses |= {400, 422}
        if "{" in route.template or route.method != "GET":
            statuses.add(422)  # FunctionApp refuses a NUL in any path parameter or JSON body
        for status in sorted(statuses):
            operation["responses"][str(status)] = {
                "description": _STATUS_TEXT.get(status, "Error"),
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        paths.setdefault(route.template, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": app.title, "version": app.version, "description": app.description},
        "servers": [{"url": f"/function/{app.name}"}],
        "paths": paths,
        "components": {"schemas": components},
    }
