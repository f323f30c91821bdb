"""Serve a stub on loopback in a thread (tests, ``make run``)."""

from __future__ import annotations

import threading
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import astra, neva
from .state import StubState

APPS = {"astra": astra.create_app, "neva": neva.create_app}


class _Prefixed:
    """Mounts an app under ``/<name>`` so one URL shape serves both (``http://host:port/astra``)."""

    def __init__(self, app: Any, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(self.prefix):
            environ["PATH_INFO"] = path[len(self.prefix):] or "/"
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
        return self.app(environ, start_response)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class StubServer:
    def __init__(self, name: str, port: int = 0, host: str = "127.0.0.1") -> None:
        self.name = name
        self.state = StubState()
        try:
            self._server: BaseWSGIServer = make_server(host, port, _Prefixed(APPS[name](self.state), f"/{name}"),
                                                       threaded=True, request_handler=_Quiet)
        except SystemExit:  # werkzeug prints "Port N is in use" and exits instead of raising
            raise OSError(f"port {port} is in use") from None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{self.name}"

    def start(self) -> StubServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"stub-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def control(self, **knobs: Any) -> dict[str, Any]:
        answer = requests.post(f"{self.url}/_control", json=knobs, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_stubs(astra_port: int = 8091, neva_port: int = 8092) -> list[StubServer]:
    return [StubServer("astra", astra_port).start(), StubServer("neva", neva_port).start()]


def main() -> None:
    """``python -m prichal_sandbox.suppliers``: both stubs on 8091 and 8092 until Ctrl-C."""
    import time

    servers = start_stubs()
    for server in servers:
        print(f"{server.name} stub at {server.url}  (control: POST {server.url}/_control)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        for server in servers:
            server.stop()
