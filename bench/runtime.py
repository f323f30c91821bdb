"""What the benchmarks share: a local runtime of their own, its database and a bench tenant."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "shared"))  # run from a checkout even when the package is not installed

import requests  # noqa: E402

BENCH_DB = "prichal_bench"
DEFAULT_DB_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/prichal"


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Runtime:
    """``python -m prichal_localrun`` on a free port with isolated database, Redis keys and exchange."""

    def __init__(self, database_url: str, workers: int, threads: int) -> None:
        token = uuid.uuid4().hex[:10]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_prefix = f"prichal:bench:{token}:"
        self.exchange = f"prichal.bench.{token}"
        self.mail = tempfile.TemporaryDirectory(prefix="prichal-bench-mail-")  # not the developer's mail folder
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATABASE_URL": database_url,
                    "REDIS_PREFIX": self.redis_prefix, "EVENTS_EXCHANGE": self.exchange,
                    "S3_PORT": str(free_port()), "MAIL_SINK_PORT": str(free_port()), "MAIL_SINK_DIR": self.mail.name,
                    "GATEWAY_WORKERS": str(workers), "GATEWAY_THREADS": str(threads),
                    # The bench stands for a proxy in front of many buyers: the gateway passes on
                    # their X-Forwarded-For (and X-Tenant) from this machine only.
                    "GATEWAY_TRUSTED_PROXIES": os.environ.get("GATEWAY_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")}
        self.command = [sys.executable, "-m", "prichal_localrun", "--port", str(self.port), "--no-seed",
                        "--workers", str(workers), "--threads", str(threads)]
        self.log = tempfile.NamedTemporaryFile(prefix="prichal-bench-runner-", suffix=".log", delete=False)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        self.process = subprocess.Popen(self.command, env=self.env, cwd=REPO, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the runtime exited with {self.process.returncode}:\n{self.tail()}")
            if "Prichal is running" in Path(self.log.name).read_text(errors="replace"):
                try:
                    if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                        return
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the runtime was not ready within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            say("the runtime ignored SIGTERM for 60 s; killing it")
            self.process.kill()
            self.process.wait(10)

    def cleanup(self) -> None:
        import redis

        from prichal.config import get_settings

        settings = get_settings()
        try:
            client = redis.Redis.from_url(settings.redis_url)
            batch: list[bytes] = []
            for key in client.scan_iter(match=f"{self.redis_prefix}*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    client.delete(*batch)
                    batch.clear()
            if batch:
                client.delete(*batch)
        except redis.RedisError as exc:
            say(f"could not delete Redis keys {self.redis_prefix}*: {exc}")
        try:
            import pika

            connection = pika.BlockingConnection(pika.URLParameters(settings.rabbitmq_url))
            try:
                connection.channel().exchange_delete(self.exchange)
            finally:
                connection.close()
        except Exception as exc:  # pika raises many kinds; cleanup must not hide the figures
            say(f"could not delete exchange {self.exchange}: {exc!r}")
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
        self.mail.cleanup()


def bench_database_url(base: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).set(database=BENCH_DB).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def create_tenant(database_url: str, days: int) -> tuple[str, list[str]]:
    """A fresh tenant from tomorrow on (sales are open for every sailing): slug, id, assigned sailing ids."""
    from prichal.adapters.db.engine import make_owner_engine
    from prichal_localrun.seed import build_demo

    slug = f"bench-{uuid.uuid4().hex[:8]}"
    start = datetime.now(ZoneInfo("Europe/Moscow")).date() + timedelta(days=1)
    engine = make_owner_engine(database_url)
    try:
        with engine.begin() as conn:
            ids = build_demo(conn, slug=slug, hosts=(f"{slug}.bench.local",), days=days, start=start,
                             name="Prichal bench")
    finally:
        engine.dispose()
    assigned = [s["id"] for s in ids.sailings if s["seating"] == "assigned"]
    return slug, assigned


def storefront_key(database_url: str, slug: str) -> str:
    """The tenant's storefront key: a benchmark signs its buyers' client ids as a storefront
    would, so each simulated buyer gets the per-buyer limits of its own."""
    from sqlalchemy import select

    from prichal.adapters.db import tables as t
    from prichal.adapters.db.engine import make_owner_engine

    engine = make_owner_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(t.tenants.c.storefront_key).where(t.tenants.c.slug == slug)).scalar_one()
    finally:
        engine.dispose()


@contextmanager
def gateway_under_test(url: str | None, database_url: str, workers: int, threads: int,
                       keep_db: bool = False) -> Iterator[tuple[str, str]]:
    """(gateway URL, its database URL): the given running gateway, or a runtime of the bench's
    own on database ``prichal_bench``, stopped and cleaned up afterwards."""
    if url:
        yield url.rstrip("/"), database_url
        return
    from prichal.adapters.db.migrate import upgrade

    bench_url = bench_database_url(database_url)
    say(f"migrating {BENCH_DB}")
    upgrade(bench_url)
    runtime = Runtime(bench_url, workers, threads)
    say(f"starting the runtime on port {runtime.port} ({workers} workers x {threads} threads)")
    runtime.start()
    try:
        yield runtime.url, bench_url
    except BaseException:
        say(f"the runtime's log ends with:\n{runtime.tail()}")
        raise
    finally:
        say("stopping the runtime")
        runtime.stop()
        runtime.cleanup()
        if not keep_db:
            drop_database(bench_url)
