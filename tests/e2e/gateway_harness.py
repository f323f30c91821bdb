"""Run the local runtime (``python -m prichal_localrun``) as a subprocess for end-to-end tests.

``run_gateway(stack_path, env=..., seed=...)`` starts it on a free port, waits until the
gateway answers and the connector threads are up, yields the base URL and stops it with
SIGTERM, failing loudly when it does not exit cleanly. ``RunnerProcess`` is the same with
the controls exposed (send a signal, read the log, see the exit code).

Isolation is the caller's: pass a unique ``EVENTS_EXCHANGE`` / ``REDIS_PREFIX`` /
``DATABASE_URL`` in ``env`` and clean up with ``delete_rabbitmq_objects`` / ``delete_redis_keys``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pika
import redis
import requests

REPO = Path(__file__).resolve().parents[2]
FIXTURE_STACK = REPO / "tests" / "fixtures" / "gateway_stack" / "stack.yml"
READY_LINE = "Prichal is running"  # first line of the runner's banner, printed once every thread runs
RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# The runtimes these tests start get known secrets (the runner would otherwise make up its internal token).
INTERNAL_TOKEN = "e2e-internal-token"
INTERNAL = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
WEBHOOK_URL_KEY = "e2e-webhook-url-key"


# e2e runs are many buyers from one address and one client id: the per-buyer limits would
# stand in their way (tests/integration/test_buyer_limits.py tests those).
NO_BUYER_LIMITS = {"HOLD_RATE_LIMIT_PER_MINUTE": "1000", "HOLD_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "1000",
                   "ORDER_RATE_LIMIT_PER_MINUTE": "0", "ORDER_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0",
                   "HOLD_MAX_SEATS_PER_CLIENT": "0"}


def sandbox_env(port: int) -> dict[str, str]:
    """A runtime on ``port`` whose sandbox provider, notifications and return page are its own."""
    base = f"http://127.0.0.1:{port}/function"
    return {"MOCK_PAYMENTS_API_URL": f"{base}/mock-payments/v3", "MOCK_PAYMENTS_PUBLIC_URL": f"{base}/mock-payments",
            "MOCK_PAYMENTS_NOTIFY_URL": f"{base}/payment-webhook/mock/{{shop_id}}/{{webhook_token}}",
            "DEFAULT_RETURN_URL": f"{base}/create-order/paid"}


def tenant_host(slug: str) -> dict[str, str]:
    """The header a buyer's browser sends on a tenant's storefront host (tests' tenants have ``<slug>.example.test``).

    ``X-Tenant`` would be dropped: the gateway believes it only from trusted proxies."""
    return {"Host": f"{slug}.example.test"}


def webhook_url(gateway: str, provider: str, slug: str) -> str:
    from prichal.domain.webhook_tokens import webhook_token

    return f"{gateway}/function/payment-webhook/{provider}/{slug}/{webhook_token(WEBHOOK_URL_KEY, provider, slug)}"

T = TypeVar("T")


def free_port() -> int:
    from prichal_localrun.s3server import free_port as pick

    return pick()


class RunnerProcess:
    """One ``python -m prichal_localrun`` child with its output in a temporary log file."""

    def __init__(self, stack_path: str | Path | None = None, *, env: Mapping[str, str] | None = None,
                 seed: bool = False, migrate: bool = False, port: int | None = None,
                 workers: int = 1, threads: int = 8) -> None:
        # None: the runner's default, the repository's stack.yml and stack.sandbox.yml.
        self.stack_args = ["--stack", str(Path(stack_path).resolve())] if stack_path else []
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._mail = tempfile.TemporaryDirectory(prefix="prichal-mail-")  # not the developer's own sink folder
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "S3_PORT": str(free_port()),
                    "INTERNAL_TOKEN": INTERNAL_TOKEN, "WEBHOOK_URL_KEY": WEBHOOK_URL_KEY,
                    "MAIL_SINK_PORT": str(free_port()), "MAIL_SINK_DIR": self._mail.name,
                    # runtimes run side by side here: a test that wants the operators' stubs starts its own
                    "SUPPLIER_STUBS": "off", **(env or {})}
        self.args = [sys.executable, "-m", "prichal_localrun", *self.stack_args,
                     "--port", str(self.port), "--workers", str(workers), "--threads", str(threads)]
        if not (migrate or seed):
            self.args.append("--no-migrate")
        elif not seed:
            self.args.append("--no-seed")
        self._log = tempfile.NamedTemporaryFile(prefix="prichal-runner-", suffix=".log", delete=False)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> str:
        """Start and wait until ready; raises with the log's tail when it fails or hangs."""
        self.process = subprocess.Popen(self.args, env=self.env, cwd=REPO, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runner exited with {self.process.returncode}:\n{self.log_tail()}")
            if READY_LINE in self.log_text() and self._healthy():
                return self.url
            time.sleep(0.2)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"runner not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send ``sig`` and return the exit code (kills it after ``timeout``)."""
        assert self.process is not None, "not started"
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"runner ignored {signal.Signals(sig).name} for {timeout:.0f} s:\n"
                                   f"{self.log_tail()}") from None
        return self.process.returncode

    def log_text(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def close(self) -> None:
        """Forget the log file (call after a successful stop; keep it to debug a failure)."""
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
        self._mail.cleanup()


@contextmanager
def run_gateway(stack_path: str | Path | None = None, *, env: Mapping[str, str] | None = None,
                seed: bool = False, migrate: bool = False, port: int | None = None,
                workers: int = 1, threads: int = 8) -> Iterator[str]:
    """The runner for ``stack_path`` (default: the repository's stack.yml and stack.sandbox.yml),
    yielding its base URL.

    ``seed`` implies ``migrate``; both apply to the ``DATABASE_URL`` in ``env``.
    """
    runner = RunnerProcess(stack_path, env=env, seed=seed, migrate=migrate, port=port,
                           workers=workers, threads=threads)
    url = runner.start()
    try:
        yield url
    finally:
        code = runner.stop()
        if code != 0:
            raise RuntimeError(f"runner exited with {code} on SIGTERM:\n{runner.log_tail()}")
        runner.close()


def delete_rabbitmq_objects(exchange: str, queues: Iterable[str]) -> None:
    """Remove what a test run declared on the broker (queues first, then the exchange)."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        for queue in queues:
            channel.queue_delete(queue)
        channel.exchange_delete(exchange)
    finally:
        connection.close()


def delete_redis_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        client.delete(*keys)


def wait_for(predicate: Callable[[], T], timeout: float = 60.0, interval: float = 0.1, message: str = "condition") -> T:
    """Poll until ``predicate()`` is truthy and return its value; tests never assert on timings."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout:.0f} s")
        time.sleep(interval)


@dataclass(frozen=True)
class FixtureRuntime:
    """The runner on the fixture stack, with the names that isolate this run."""

    url: str
    exchange: str
    record_prefix: str


def fixture_isolation() -> dict[str, str]:
    """A fresh events exchange and Redis record prefix for one run of the fixture stack."""
    token = uuid.uuid4().hex[:12]
    return {"EVENTS_EXCHANGE": f"prichal.test.{token}", "RECORD_PREFIX": f"prichal:test:{token}"}


def cleanup_fixture(env: Mapping[str, str]) -> None:
    """Delete the broker objects and Redis keys a fixture-stack run created."""
    from prichal_localrun.connector import Queues

    queues = Queues.for_function(env["EVENTS_EXCHANGE"], "consumer")
    delete_rabbitmq_objects(env["EVENTS_EXCHANGE"], [queues.main, queues.retry, queues.dead])
    delete_redis_keys(env["RECORD_PREFIX"])


@contextmanager
def fixture_runtime(env: Mapping[str, str] | None = None) -> Iterator[FixtureRuntime]:
    """``run_gateway`` on tests/fixtures/gateway_stack with its own exchange and Redis keys."""
    isolation = fixture_isolation()
    try:
        with run_gateway(FIXTURE_STACK, env={**isolation, **(env or {})}) as url:
            yield FixtureRuntime(url, isolation["EVENTS_EXCHANGE"], isolation["RECORD_PREFIX"])
    finally:
        cleanup_fixture(isolation)
