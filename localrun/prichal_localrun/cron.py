"""The local cron connector: fires the ``schedule`` annotation of every cron function.

Like openfaas/cron-connector, each run is ``POST /function/<name>`` with an empty body and
the headers ``X-Topic: cron-function`` and ``X-Connector: cron-connector``, plus the
internal credential (``Authorization: Bearer <INTERNAL_TOKEN>``) that internal functions
require; runs do not wait for each other. Schedules are standard 5-field cron expressions in local time. Locally a
6-field expression is also accepted, the first field being seconds (``*/2 * * * * *`` =
every two seconds, as robfig/cron ``WithSeconds`` or Quartz read it) so tests need not
wait a minute; production's connector only takes 5 fields.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests
from croniter import croniter

from prichal_localrun.stack import CRON_TOPIC, FunctionSpec

log = logging.getLogger(__name__)

HEADERS = {"X-Topic": CRON_TOPIC, "X-Connector": "cron-connector"}


def parse_schedule(expression: str, start: datetime) -> croniter:
    """A croniter for 5 fields, or 6 fields with seconds first; raises ValueError when invalid."""
    fields = len(expression.split())
    if fields not in (5, 6):
        raise ValueError(f"cron schedule {expression!r} needs 5 fields (or 6 with seconds first)")
    try:
        return croniter(expression, start, second_at_beginning=fields == 6)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"invalid cron schedule {expression!r}: {exc}") from exc


class CronScheduler(threading.Thread):
    """One thread that sleeps until the next due schedule and fires it on a small pool."""

    def __init__(self, functions: list[FunctionSpec], gateway_url: str, stop: threading.Event,
                 timeout: float = 60.0, internal_token: str | None = None) -> None:
        super().__init__(name="cron-connector", daemon=True)
        self.gateway_url = gateway_url.rstrip("/")
        self.headers = {**HEADERS, **({"Authorization": f"Bearer {internal_token}"} if internal_token else {})}
        self.stop_event = stop
        self.timeout = timeout
        now = datetime.now().astimezone()
        self.schedules = {f.name: parse_schedule(f.schedule, now) for f in functions if f.schedule}

    def run(self) -> None:
        if not self.schedules:
            return
        due = {name: schedule.get_next(float) for name, schedule in self.schedules.items()}
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="cron-run")
        try:
            while True:
                name = min(due, key=due.__getitem__)
                if self.stop_event.wait(max(0.0, due[name] - time.time())):
                    break
                pool.submit(self.fire, name)
                # Skip the times missed while late (e.g. a suspended laptop): one run, not a burst.
                while due[name] <= time.time():
                    due[name] = self.schedules[name].get_next(float)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def fire(self, name: str) -> None:
        """One run; failures are logged, never raised, so the scheduler keeps going."""
        url = f"{self.gateway_url}/function/{name}"
        started = time.monotonic()
        try:
            response = requests.post(url, data=b"", headers=self.headers, timeout=self.timeout)
        except Exception as exc:
            log.error("cron %s: call failed: %s", name, exc)
            return
        elapsed = (time.monotonic() - started) * 1000
        if response.ok:
            log.info("cron %s: %s in %.0f ms", name, response.status_code, elapsed)
        else:
            log.warning("cron %s: %s in %.0f ms: %s", name, response.status_code, elapsed, response.text[:200])
