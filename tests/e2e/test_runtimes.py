"""One function body, two runtimes.

Every function of stack.yml (and stack.sandbox.yml) is served by functions-framework itself, as a Knative Service
or a plain container would run it (``functions-framework --target main --source
functions/<name>/handler.py --port N``), against this run's database and Redis prefix.
lock-seat is then driven through functions-framework over HTTP and through the OpenFaaS
``python3-http`` contract in-process (``tests.support.call``) on the same seats: a hold made
by one runtime is seen, extended and released by the other.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
import requests
import yaml

from tests.conftest import FakeClock, assigned_sailing
from tests.conftest import TestEnv as RunEnv
from tests.e2e.gateway_harness import NO_BUYER_LIMITS
from tests.support import call

ROOT = Path(__file__).resolve().parents[2]
STACKS = (ROOT / "stack.yml", ROOT / "stack.sandbox.yml")  # the production stack and the sandbox provider
READY_WITHIN = 90.0  # a guard against a hung start, not a timing assertion
SEAT = "main-C-5"
CLIENT = {"X-Client-Id": "runtimes-e2e"}


def stack_functions() -> dict[str, dict[str, Any]]:
    """Functions of stack.yml and stack.sandbox.yml (their own settings; variables left to the test
    environment)."""
    return {name: function for stack in STACKS
            for name, function in yaml.safe_load(stack.read_text())["functions"].items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def functions_framework() -> str:
    beside = Path(sys.executable).parent / "functions-framework"
    found = str(beside) if beside.exists() else shutil.which("functions-framework")
    assert found, "functions-framework is not installed (it comes with the core package)"
    return found


@dataclass
class Served:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.url + path, timeout=30, **kwargs)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"functions-framework for {self.name} exited with "
                                   f"{self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"functions-framework for {self.name} never answered /healthz:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def start_function(name: str, env: dict[str, str], port: int | None = None, label: str | None = None) -> Served:
    """``functions/<name>/handler.py`` under functions-framework on loopback (not yet ready:
    call ``wait_ready``); ``env`` is its whole environment."""
    port = port or free_port()
    label = label or name
    log = tempfile.NamedTemporaryFile(prefix=f"prichal-ff-{label}-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [functions_framework(), "--target", "main", "--source", f"functions/{name}/handler.py",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env={"PYTHONUNBUFFERED": "1", **env}, stdout=log, stderr=subprocess.STDOUT)
    return Served(label, f"http://127.0.0.1:{port}", process, log)


def serve(name: str, function: dict[str, Any], test_env: RunEnv) -> Served:
    environment = {str(k): str(v) for k, v in (function.get("environment") or {}).items() if "${" not in str(v)}
    return start_function(name, {**os.environ, **environment, **test_env.as_environ(), **NO_BUYER_LIMITS})


@pytest.fixture(scope="module")
def runtimes(test_env: RunEnv) -> Iterator[dict[str, Served]]:
    """Every function of stack.yml under functions-framework, started together."""
    served: dict[str, Served] = {}
    try:
        for name, function in stack_functions().items():
            served[name] = serve(name, function, test_env)
        for one in served.values():
            one.wait_ready()
        yield served
    finally:
        for one in served.values():
            one.stop()


@pytest.mark.parametrize("name", list(stack_functions()))
def test_every_function_serves_health_and_openapi(runtimes: dict[str, Served], name: str) -> None:
    served = runtimes[name]
    health = served.get("/healthz")
    assert health.status_code == 200, served.log_tail()
    assert health.json() == {"status": "ok"}
    spec = served.get("/openapi.json")
    assert spec.status_code == 200, served.log_tail()
    assert spec.headers["Content-Type"].startswith("application/json")
    document = spec.json()
    assert document["openapi"].startswith("3.")
    assert document["paths"], f"{name} publishes no paths"


def test_functions_framework_keeps_problem_json(runtimes: dict[str, Served]) -> None:
    missing = runtimes["hello"].get("/no/such/route")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json()["status"] == 404


def test_lock_seat_across_both_runtimes(runtimes: dict[str, Served], container: Any, demo: Any,
                                        clock: FakeClock) -> None:
    knative = runtimes["lock-seat"]
    tenant = {"Host": f"{demo.slug}.example.test", **CLIENT}  # served directly: X-Tenant would not count
    sailing = assigned_sailing(demo)
    wanted = {"sailing_id": sailing, "seat_ids": [SEAT]}

    # functions-framework holds the seat ...
    created = knative.request("POST", "/holds", json=wanted, headers=tenant)
    assert created.status_code == 201, (created.text, knative.log_tail())
    hold = created.json()
    assert hold["seat_ids"] == [SEAT] and hold["status"] == "active"
    token = hold["token"]

    # ... so the OpenFaaS contract cannot take it again.
    taken = call("lock-seat", "POST", "/holds", tenant=demo.slug, body=wanted, headers=CLIENT)
    assert taken.status == 409, taken.json
    assert taken.headers["Content-Type"] == "application/problem+json"
    assert taken.json["status"] == 409
    assert SEAT in taken.json["seat_ids"]

    # The OpenFaaS side reads, extends and releases the hold made by functions-framework.
    read = call("lock-seat", "GET", f"/holds/{token}", tenant=demo.slug)
    assert read.status == 200, read.json
    assert (read.json["token"], read.json["status"], read.json["seat_ids"]) == (token, "active", [SEAT])

    clock.advance(minutes=10)
    extended = call("lock-seat", "PATCH", f"/holds/{token}", tenant=demo.slug)
    assert extended.status == 200, extended.json
    assert hold["expires_at"] < extended.json["expires_at"] <= extended.json["extendable_until"]

    released = call("lock-seat", "DELETE", f"/holds/{token}", tenant=demo.slug)
    assert released.status == 204, released.json

    # functions-framework sees the release, and the seat is free again for the other way round.
    after = knative.request("GET", f"/holds/{token}", headers=tenant)
    assert after.status_code == 200, after.text
    assert after.json()["status"] == "released"

    again = call("lock-seat", "POST", "/holds", tenant=demo.slug, body=wanted, headers=CLIENT)
    assert again.status == 201, again.json
    conflict = knative.request("POST", "/holds", json=wanted, headers=tenant)
    assert conflict.status_code == 409, conflict.text
    assert conflict.headers["Content-Type"] == "application/problem+json"
    assert SEAT in conflict.json()["seat_ids"]

    gone = knative.request("DELETE", f"/holds/{again.json['token']}", headers=tenant)
    assert gone.status_code == 204, gone.text
    assert call("lock-seat", "GET", f"/holds/{again.json['token']}", tenant=demo.slug).json["status"] == "released"
