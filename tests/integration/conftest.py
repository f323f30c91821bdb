"""Fixtures shared by the integration tests: the payment sandbox and the YooKassa client; S3,
an SMTP sink and the document pipeline wired to them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import TestEnv as RunEnv
from tests.documents_support import SmtpSink, moto_s3
from tests.sandbox_harness import Sandbox, new_shop, running_sandbox


@pytest.fixture(scope="module")
def sandbox(test_env: RunEnv) -> Iterator[Sandbox]:
    """The sandbox provider over real HTTP on loopback, one per test module."""
    with running_sandbox(test_env) as served:
        yield served


@pytest.fixture
def shop() -> str:
    """A shop id of its own per test: faults, request logs and keys never mix."""
    return new_shop()


@pytest.fixture(scope="module")
def s3():
    with moto_s3() as server:
        yield server


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def docs(container, s3, sink):
    """The container wired to this module's S3 and this test's SMTP sink."""
    container.settings.s3_endpoint_url = s3.endpoint_url
    container.settings.smtp_host, container.settings.smtp_port = "127.0.0.1", sink.port
    return container
