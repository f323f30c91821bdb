"""The local cron connector fires schedules as openfaas/cron-connector does."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import redis

from prichal_localrun.cron import parse_schedule
from tests.e2e.gateway_harness import INTERNAL_TOKEN, REDIS_URL, fixture_runtime, wait_for


def test_a_seconds_schedule_fires_the_function_again_and_again() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    with fixture_runtime() as runtime:  # the fixture stack's "ticker" is scheduled every second
        key = f"{runtime.record_prefix}:ticks"
        wait_for(lambda: client.llen(key) >= 2, message="two cron runs")
        ticks = [json.loads(raw) for raw in client.lrange(key, 0, -1)]
    for tick in ticks:  # each run: an empty POST with the cron-connector headers
        assert tick["method"] == "POST"
        assert tick["body"] == ""
        assert tick["headers"]["X-Topic"] == "cron-function"
        assert tick["headers"]["X-Connector"] == "cron-connector"
        assert tick["headers"]["Authorization"] == f"Bearer {INTERNAL_TOKEN}"  # internal functions require it


def test_schedules_take_five_fields_or_six_with_seconds_first() -> None:
    start = datetime(2026, 1, 1, 12, 0, 0).astimezone()
    assert parse_schedule("*/5 * * * *", start).get_next(datetime) == start.replace(minute=5)
    assert parse_schedule("*/15 * * * * *", start).get_next(datetime) == start.replace(second=15)
    for invalid in ("* * * *", "61 * * * *", "not a schedule at all", "* * * * * * *"):
        with pytest.raises(ValueError, match="schedule"):
            parse_schedule(invalid, start)
