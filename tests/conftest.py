"""Shared fixtures: every test session gets its own database, Redis prefix and exchange,
every test its own tenant, so the suite can run twice in a row and in parallel."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@dataclass
class TestEnv:
    run_id: str
    database_url: str
    redis_prefix: str
    events_exchange: str

    def as_environ(self) -> dict[str, str]:
        """The same isolation for a subprocess (gateway, functions-framework)."""
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": REDIS_URL,
            "REDIS_PREFIX": self.redis_prefix,
            "RABBITMQ_URL": RABBITMQ_URL,
            "EVENTS_EXCHANGE": self.events_exchange,
        }


@pytest.fixture(scope="session")
def test_env() -> Iterator[TestEnv]:
    from prichal.adapters.db import migrate

    run_id = uuid.uuid4().hex[:10]
    env = TestEnv(run_id=run_id, database_url=f"{PG_URL}/prichal_test_{run_id}",
                  redis_prefix=f"prichal-test:{run_id}:", events_exchange=f"prichal.test.{run_id}")
    migrate.upgrade(env.database_url)
    os.environ.update(env.as_environ())  # functions loaded in-process read these
    from prichal.config import get_settings

    get_settings.cache_clear()
    yield env
    admin = create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "prichal_test_{run_id}" WITH (FORCE)'))
    admin.dispose()
    client = redis_lib.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{env.redis_prefix}*", count=1000):
        client.delete(key)
    client.close()


class FakeClock:
    """A clock tests can move; starts at the real time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def container(test_env: TestEnv, clock: FakeClock):
    """The process container, pointing at this run's database and Redis prefix."""
    from prichal.bootstrap import Container, use_container
    from prichal.config import Settings

    settings = Settings(database_url=test_env.database_url, redis_url=REDIS_URL, redis_prefix=test_env.redis_prefix,
                        rabbitmq_url=RABBITMQ_URL, events_exchange=test_env.events_exchange,
                        hold_rate_limit_per_minute=1000, hold_rate_limit_per_address_per_minute=1000,
                        hold_max_seats_per_client=0, order_rate_limit_per_minute=0,
                        order_rate_limit_per_address_per_minute=0,
                        trusted_proxy_hops=1,  # in-process calls stand for the stack behind its edge
                        staff_argon2_time_cost=1, staff_argon2_memory_kib=1024,  # cheap hashes for tests
                        staff_login_rate_limit_per_address_per_minute=0)
    c = Container(settings, clock=clock)
    use_container(c)
    yield c
    use_container(None)
    c.close()


@pytest.fixture
def owner_engine(test_env: TestEnv):
    engine = create_engine(test_env.database_url)
    yield engine
    engine.dispose()


def _new_demo(owner_engine, clock: FakeClock):
    """A fresh demo tenant (own slug and hosts) with sailings from tomorrow on."""
    from prichal_localrun.seed import ZONE, build_demo

    slug = f"t-{uuid.uuid4().hex[:8]}"
    with owner_engine.begin() as conn:
        return build_demo(conn, slug=slug, hosts=(f"{slug}.example.test",), days=2,
                          start=clock.now.astimezone(ZONE).date() + timedelta(days=1))


@pytest.fixture
def demo(owner_engine, clock: FakeClock):
    """A fresh demo tenant (own slug and hosts) with sailings from tomorrow on."""
    return _new_demo(owner_engine, clock)


@pytest.fixture
def other_demo(owner_engine, clock: FakeClock):
    """A second tenant, built exactly as ``demo`` builds the first."""
    return _new_demo(owner_engine, clock)


@contextmanager
def bound_queue(exchange: str, routing_key: str) -> Iterator[tuple[pika.adapters.blocking_connection.BlockingChannel,
                                                                     str]]:
    """A private queue bound to the topic ``exchange`` for ``routing_key``: (channel, queue name)."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, exchange, routing_key=routing_key)
        yield channel, queue
    finally:
        connection.close()


def assigned_sailing(ids) -> str:
    return next(s["id"] for s in ids.sailings if s["seating"] == "assigned")


def free_sailing(ids) -> str:
    return next(s["id"] for s in ids.sailings if s["seating"] == "free")
