"""The local OpenFaaS gateway: every function of the stack under ``/function/<name>``.

In production the gateway proxies to a container where the python3-http template (Flask
behind of-watchdog) imports ``handler.py`` and calls ``handle(event, context)``. Locally all
functions share one WSGI process, so this module does both jobs: route by function name and
speak the template's contract (``event.body/headers/method/query/path``, ``context.hostname``;
``None`` -> empty 200, a dict -> ``statusCode``/``body``/``headers``). It is a bare WSGI app
rather than Flask because it sits on the hot path of the benchmarks.

It is the edge, as the production ingress is: a client's ``X-Forwarded-For`` is replaced by
the address that connected, its ``X-Forwarded-Host`` by its ``Host``, and its tenant header
(``X-Tenant``) is dropped, unless the peer is a trusted proxy (``GATEWAY_TRUSTED_PROXIES``,
CIDRs, none by default; a benchmark simulating many buyers from one machine sets
``127.0.0.1/32``), whose client (the last ``X-Forwarded-For`` entry) and headers are passed
on. Functions then see exactly one hop (``TRUSTED_PROXY_HOPS=1`` in stack.yml). Bodies
beyond ``MAX_BODY_BYTES`` are refused with 413 without being read further, chunked or not.

Serve it with ``gunicorn 'prichal_localrun.gateway:create_app()'`` (see ``runner.py``).
"""

from __future__ import annotations

import dataclasses
import decimal
import gc
import importlib.util
import json
import logging
import os
import re
import socket
import sys
import threading
import types
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import EnvironHeaders, MultiDict

from prichal.entrypoints.client_address import Network, address_in, parse_networks
from prichal_localrun.stack import FunctionSpec, StackPaths, apply_environment, load_stack

log = logging.getLogger(__name__)

PREFIX = "/function/"
# The routes of the python3-http template; anything else gets 405 there too.
METHODS = frozenset({"GET", "PUT", "POST", "PATCH", "DELETE"})
ALLOW = ", ".join(sorted(METHODS))
HTML = "text/html; charset=utf-8"  # what Flask labels a str/bytes body with, as in production
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}

Handler = Callable[[Any, Any], Any]
StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class Event:
    """The request as ``handle`` sees it; the query string is parsed only when read."""

    __slots__ = ("_query", "_query_string", "body", "headers", "method", "path")

    def __init__(self, body: bytes, headers: EnvironHeaders, method: str, path: str, query_string: str) -> None:
        self.body = body
        self.headers = headers
        self.method = method
        self.path = path
        self._query_string = query_string
        self._query: MultiDict[str, str] | None = None

    @property
    def query(self) -> MultiDict[str, str]:
        if self._query is None:
            self._query = MultiDict(parse_qsl(self._query_string, keep_blank_values=True))
        return self._query


class Context:
    """``context`` of the template: only the host name."""

    __slots__ = ("hostname",)

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname


def load_handler(function: FunctionSpec) -> Handler:
    """Import ``<handler_dir>/handler.py`` as ``prichal_fn_<name>.handler`` and return ``handle``.

    The folder becomes a package (as the template makes it the package ``function``) so a
    handler's relative imports of its sibling modules work; the unique package name keeps
    the many ``handler`` modules of one process apart.
    """
    package = "prichal_fn_" + re.sub(r"\W", "_", function.name)
    folder = function.handler_dir
    try:
        init = folder / "__init__.py"
        if init.is_file():
            _exec_module(package, init, search=folder)
        else:
            namespace = types.ModuleType(package)
            namespace.__path__ = [str(folder)]
            sys.modules[package] = namespace
        module = _exec_module(f"{package}.handler", folder / "handler.py")
    except BaseException:
        for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
            del sys.modules[name]
        raise
    handle = getattr(module, "handle", None)
    if not callable(handle):
        raise TypeError(f"{folder / 'handler.py'} defines no handle(event, context)")
    return handle


def _exec_module(name: str, path: Path, search: Path | None = None) -> types.ModuleType:
    locations = [str(search)] if search else None
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=locations)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Gateway:
    """The WSGI application: routing, the template contract, problem+json errors."""

    def __init__(self, functions: Iterable[FunctionSpec], trusted_proxies: str = "",
                 max_body_bytes: int = 1024 * 1024, tenant_header: str = "X-Tenant") -> None:
        self.functions = {function.name: function for function in functions}
        self.trusted: tuple[Network, ...] = parse_networks(trusted_proxies)
        self.max_body_bytes = max_body_bytes
        self.tenant_key = "HTTP_" + tenant_header.upper().replace("-", "_")
        self.context = Context(os.environ.get("HOSTNAME") or socket.gethostname())
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._catalog = _json([
            {"name": f.name, "image": f.image, "namespace": "openfaas-fn", "labels": f.labels,
             "annotations": f.annotations, "envProcess": "", "replicas": 1, "availableReplicas": 1}
            for f in self.functions.values()
        ])

    def preload(self) -> None:
        """Import every handler now so import errors show at start; a failing one is retried per request."""
        for function in self.functions.values():
            try:
                self.handler(function)
            except Exception:
                log.exception("cannot load function %s from %s", function.name, function.handler_dir)

    def handler(self, function: FunctionSpec) -> Handler:
        handle = self._handlers.get(function.name)
        if handle is None:
            with self._lock:
                handle = self._handlers.get(function.name)
                if handle is None:
                    handle = self._handlers[function.name] = load_handler(function)
        return handle

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO") or "/"
        if path.startswith(PREFIX):
            name, _, rest = path[len(PREFIX):].partition("/")
            function = self.functions.get(name)
            if function is not None:
                return self._invoke(function, "/" + rest, environ, start_response)
            return _problem(start_response, 404, "Function not found", f"no function named {name!r} in the stack")
        if path == "/healthz":
            return _send(start_response, 200, [("Content-Type", "text/plain")], b"OK")
        if path == "/system/functions":
            return _send(start_response, 200, [("Content-Type", "application/json")], self._catalog)
        return _problem(start_response, 404, "Not found", f"no route for {path}; functions live under {PREFIX}<name>")

    def _invoke(self, function: FunctionSpec, path: str, environ: Environ,
                start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method not in METHODS:
            return _problem(start_response, 405, "Method not allowed", f"{method} is not served by functions",
                            [("Allow", ALLOW)])
        try:
            body = _read_body(environ, self.max_body_bytes)
        except BodyTooLarge as exc:
            close = getattr(getattr(start_response, "__self__", None), "force_close", None)
            if close is not None:  # gunicorn: close the connection rather than drain the rest
                close()
            return _problem(start_response, 413, "Request body too large", str(exc))
        except ValueError as exc:
            return _problem(start_response, 400, "Bad request", str(exc))
        try:
            handle = self.handler(function)
        except Exception:
            log.exception("cannot load function %s from %s", function.name, function.handler_dir)
            return _problem(start_response, 500, "Function failed to load",
                            f"{function.name} could not be imported; see the gateway log")
        _forward_client(environ, self.trusted, self.tenant_key)
        if not path.isascii():  # WSGI gives the raw path as latin-1; functions expect text
            path = path.encode("latin-1").decode("utf-8", "replace")
        event = Event(body, EnvironHeaders(environ), method, path, environ.get("QUERY_STRING", ""))
        try:
            status, headers, payload = _shape(handle(event, self.context))
        except Exception as exc:
            log.exception("function %s failed on %s %s", function.name, method, path)
            return _problem(start_response, 500, "Function error",
                            f"{function.name} raised {type(exc).__name__}; see the gateway log")
        return _send(start_response, status, headers, payload)


class BodyTooLarge(ValueError):
    pass


def _read_body(environ: Environ, limit: int) -> bytes:
    """The body, never reading more than ``limit`` + 1 bytes of it."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            raise ValueError(f"invalid Content-Length {length!r}") from None
        if size > limit:
            raise BodyTooLarge(f"the body has {size} bytes; at most {limit} are accepted")
        return stream.read(size) if size > 0 else b""
    if environ.get("wsgi.input_terminated"):  # chunked request body, gunicorn de-chunks it
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge(f"the body has more than {limit} bytes")
        return body
    return b""


def _forward_client(environ: Environ, trusted: tuple[Network, ...], tenant_key: str) -> None:
    """What the functions may believe about the client, decided here as at the production edge.

    An untrusted peer is the client: its X-Forwarded-For, X-Forwarded-Host, tenant header
    (and Forwarded / X-Real-Ip) are replaced or dropped. A trusted proxy's client is the last
    entry of its X-Forwarded-For (itself when it sent none), and its headers pass.
    """
    remote = environ.get("REMOTE_ADDR") or ""
    if address_in(remote, trusted):
        claimed = (environ.get("HTTP_X_FORWARDED_FOR") or "").rsplit(",", 1)[-1].strip()
        environ["HTTP_X_FORWARDED_FOR"] = claimed or remote
    else:
        for key in ("HTTP_X_FORWARDED_HOST", tenant_key, "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
            environ.pop(key, None)
        if remote:
            environ["HTTP_X_FORWARDED_FOR"] = remote
        else:
            environ.pop("HTTP_X_FORWARDED_FOR", None)
    if "HTTP_X_FORWARDED_HOST" not in environ and environ.get("HTTP_HOST"):
        environ["HTTP_X_FORWARDED_HOST"] = environ["HTTP_HOST"]


def _shape(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Turn a handler's return value into status, headers and body like the template does."""
    if result is None:
        return 200, [("Content-Type", HTML)], b""
    if isinstance(result, Mapping):
        status = int(result.get("statusCode", 200))
        given: Mapping[str, Any] = result.get("headers") or {}
        body = result.get("body")
    else:
        status, given, body = 200, {}, result
    headers = [(str(key), str(value)) for key, value in given.items() if str(key).lower() != "content-length"]
    if isinstance(body, (dict, list)):
        payload, default_type = _json(body), "application/json"
    elif isinstance(body, bytes):
        payload, default_type = body, HTML
    else:
        payload, default_type = ("" if body is None else str(body)).encode(), HTML
    if not any(key.lower() == "content-type" for key, _ in headers):
        headers.append(("Content-Type", default_type))
    return status, headers, payload


def _json_default(value: Any) -> Any:
    """The types Flask's ``jsonify`` (used by the template) accepts beyond plain JSON.

    Dates become ISO 8601 rather than Flask's HTTP dates: handlers should format their own.
    """
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json(value: Any) -> bytes:
    return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False).encode()


def _send(start_response: StartResponse, status: int, headers: list[tuple[str, str]],
          payload: bytes) -> list[bytes]:
    headers.append(("Content-Length", str(len(payload))))
    start_response(_STATUS_LINES.get(status) or f"{status} Unknown", headers)
    return [payload]


def _problem(start_response: StartResponse, status: int, title: str, detail: str,
             headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    """RFC 9457 problem details, the error shape of every Prichal endpoint."""
    body = _json({"type": "about:blank", "title": title, "status": status, "detail": detail})
    return _send(start_response, status, [("Content-Type", "application/problem+json"), *(headers or [])], body)


def create_app(stack_path: StackPaths = None) -> Gateway:
    """The gateway for ``stack_path``: one stack file or several (default ``PRICHAL_STACK``, or
    the repository's stack.yml and stack.sandbox.yml).

    Each function's ``environment`` is applied first (existing variables win), because the
    handlers read their settings at import time.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                            format="%(asctime)s %(levelname)s [gateway %(process)d] %(name)s: %(message)s")
    os.environ.setdefault("PRICHAL_ENV", "development")  # stack.yml defaults to production
    functions = load_stack(stack_path)
    apply_environment(functions)
    from prichal.config import get_settings

    settings = get_settings()  # after the stack's environment: the functions' own limit and tenant header
    gateway = Gateway(functions, trusted_proxies=os.environ.get("GATEWAY_TRUSTED_PROXIES", ""),
                      max_body_bytes=settings.max_body_bytes, tenant_header=settings.tenant_header)
    gateway.preload()
    # The loaded handlers live as long as the worker: keep them out of every collection.
    gc.freeze()
    return gateway
