"""The sandbox payment provider served over real HTTP on loopback, and a webhook sink.

``running_sandbox(test_env)`` serves ``functions/mock-payments/handler.py`` through
functions-framework's own app (the Knative runtime) with werkzeug in a thread, with a
container of its own: this run's Redis prefix, its public URL on the chosen port, and
notifications going to a ``WebhookSink`` started alongside. Each test takes its own shop id
(``new_shop()``), so faults, request logs and notifications never mix between tests.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tests.conftest import REDIS_URL, ROOT
from tests.conftest import TestEnv as RunEnv

SECRET = "harness-sandbox-secret"  # a test value, deliberately not the default
HANDLER = ROOT / "functions" / "mock-payments" / "handler.py"


@contextmanager
def serving(app: Callable[..., Any]) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; yields its base URL."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"wsgi-{server.port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class WebhookSink:
    """Records every POST; answers 200, or the statuses set for a path in turn (the last one repeats)."""

    received: list[dict[str, Any]] = field(default_factory=list)
    _answers: dict[str, list[int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, statuses: list[int]) -> None:
        with self._lock:
            self._answers[path] = list(statuses)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [item["body"] for item in self.received if item["path"] == path]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self._lock:
            self.received.append({"path": request.path, "body": json.loads(request.get_data()),
                                  "content_type": request.content_type})
            queued = self._answers.get(request.path) or [200]
            status = queued.pop(0) if len(queued) > 1 or request.path not in self._answers else queued[0]
        return Response("ok", status=status)(environ, start_response)


@dataclass
class Sandbox:
    url: str
    sink: WebhookSink
    sink_url: str

    @property
    def api(self) -> str:
        return f"{self.url}/v3"

    def hook_path(self, shop: str) -> str:
        return f"/hook/{shop}"

    def control(self, shop: str, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, self.url + path, json=body, auth=(shop, SECRET), timeout=30)

    def faults(self, shop: str, **queued: list[Any]) -> None:
        answer = self.control(shop, "POST", "/sandbox/faults", queued)
        assert answer.status_code == 200, answer.text

    def requests_log(self, shop: str, operation: str | None = None) -> list[dict[str, Any]]:
        answer = self.control(shop, "GET", "/sandbox/requests")
        assert answer.status_code == 200, answer.text
        return [item for item in answer.json()["items"] if operation in (None, item["operation"])]

    def inspect(self, shop: str, payment_id: str) -> dict[str, Any]:
        answer = self.control(shop, "GET", f"/sandbox/payments/{payment_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def decide(self, confirmation_url: str, decision: str) -> requests.Response:
        return requests.post(confirmation_url, data={"decision": decision}, allow_redirects=False, timeout=30)


def new_shop() -> str:
    return f"shop-{uuid.uuid4().hex[:12]}"


@contextmanager
def running_sandbox(test_env: RunEnv) -> Iterator[Sandbox]:
    import functions_framework

    from prichal.bootstrap import Container, use_container
    from prichal.config import Settings
    from prichal_sandbox import bootstrap as sandbox_bootstrap

    sink = WebhookSink()
    app = functions_framework.create_app(target="main", source=str(HANDLER))
    with serving(sink) as sink_url, serving(app) as url:
        settings = Settings(database_url=test_env.database_url, redis_url=REDIS_URL, redis_prefix=test_env.redis_prefix,
                            mock_payments_secret=SECRET, mock_payments_public_url=url,
                            mock_payments_notify_url=sink_url + "/hook/{shop_id}")
        container = Container(settings)
        use_container(container)
        try:
            yield Sandbox(url, sink, sink_url)
        finally:
            use_container(None)
            sandbox_bootstrap.close(container)
            container.close()
