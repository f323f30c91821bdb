"""Helpers for calling functions in-process through the OpenFaaS contract."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_loaded: dict[str, ModuleType] = {}


def load_function(name: str) -> ModuleType:
    """Import ``functions/<name>/handler.py`` as the OpenFaaS template would."""
    if name not in _loaded:
        path = ROOT / "functions" / name / "handler.py"
        module_name = f"prichal_fn_{name.replace('-', '_')}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        _loaded[name] = module
    return _loaded[name]


@dataclass
class Event:
    """What the OpenFaaS python3-http template hands to ``handle``."""

    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    query: dict[str, str] = field(default_factory=dict)
    path: str = "/"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


def internal() -> dict[str, str]:
    """The internal credential of the current container, as the cron and event connectors send it."""
    from prichal.bootstrap import container

    return {"Authorization": f"Bearer {container().settings.internal_token}"}


def call(function: str, method: str, path: str, *, tenant: str | None = None, body: Any = None,
         raw: bytes | None = None, headers: dict[str, str] | None = None,
         query: dict[str, str] | None = None) -> Answer:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if tenant is not None:
        all_headers["X-Tenant"] = tenant
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    result = load_function(function).handle(
        Event(body=payload, headers=all_headers, method=method, query=query or {}, path=path), None)
    return Answer(result["statusCode"], result["headers"], result["body"])


def signed_client_id(owner_engine: Any, tenant_slug: str, client_id: str) -> str:
    """``X-Client-Id`` as the tenant's storefront signs it (with its key from the database)."""
    from sqlalchemy import select

    from prichal.adapters.db import tables as t
    from prichal.domain.client_ids import sign_client_id

    with owner_engine.connect() as conn:
        key = conn.execute(select(t.tenants.c.storefront_key).where(t.tenants.c.slug == tenant_slug)).scalar_one()
    return sign_client_id(key, tenant_slug, client_id)
