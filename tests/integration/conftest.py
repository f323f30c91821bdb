"""Fixtures shared by the integration tests of the payment sandbox and the YooKassa client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import TestEnv as RunEnv
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
