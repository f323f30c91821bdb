"""The local gateway honours the OpenFaaS gateway + python3-http contract, through real HTTP."""

from __future__ import annotations

import base64
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from prichal_localrun.stack import apply_environment, load_stack
from tests.e2e.gateway_harness import (
    FIXTURE_STACK,
    FixtureRuntime,
    RunnerProcess,
    cleanup_fixture,
    fixture_isolation,
    fixture_runtime,
    free_port,
    wait_for,
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[FixtureRuntime]:
    with fixture_runtime() as running:
        yield running


def test_request_reaches_handle_exactly(runtime: FixtureRuntime) -> None:
    body = b"\x00binary\xff body"
    response = requests.post(
        f"{runtime.url}/function/echo/holds/abc?seat=A1&seat=A2&empty=&name=%D0%9F%D1%91%D1%82%D1%80",
        data=body,
        headers={"X-Custom": "value", "Content-Type": "application/octet-stream", "X-Forwarded-For": "185.71.76.1",
                 "X-Forwarded-Host": "acme.example", "X-Tenant": "acme", "X-Real-Ip": "185.71.76.1"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/holds/abc"
    assert seen["query"] == {"seat": ["A1", "A2"], "empty": [""], "name": ["Пётр"]}
    assert base64.b64decode(seen["body_base64"]) == body
    assert seen["headers"]["X-Custom"] == "value"
    assert seen["custom_lowercase"] == "value"  # headers are case-insensitive
    assert seen["headers"]["Content-Type"] == "application/octet-stream"
    # As behind the production edge: what the client claimed about itself is replaced or dropped.
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Host"] == runtime.url.removeprefix("http://")
    assert not {"X-Tenant", "X-Real-Ip"} & set(seen["headers"])
    assert seen["hostname"]
    assert seen["greeting"] == "hello from stack.yml"  # the function's stack.yml environment


@pytest.mark.parametrize(("suffix", "path"), [("", "/"), ("/", "/"), ("/a/b/", "/a/b/"),
                                              ("/%D0%BF%D1%80%D0%B8%D1%87%D0%B0%D0%BB", "/причал")])
def test_path_is_the_rest_after_the_function_name(runtime: FixtureRuntime, suffix: str, path: str) -> None:
    seen = requests.get(f"{runtime.url}/function/echo{suffix}", timeout=10).json()
    assert seen["path"] == path
    assert seen["method"] == "GET"
    assert seen["body_base64"] == ""


def test_chunked_body_arrives_whole(runtime: FixtureRuntime) -> None:
    response = requests.put(f"{runtime.url}/function/echo", data=iter([b"part one, ", b"part two"]), timeout=10)
    assert base64.b64decode(response.json()["body_base64"]) == b"part one, part two"


LIMIT = 1024 * 1024  # MAX_BODY_BYTES' default


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_is_refused_unread(runtime: FixtureRuntime, chunked: bool) -> None:
    body = b"x" * (LIMIT + 1)
    data = iter([body[i:i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    response = requests.post(f"{runtime.url}/function/echo", data=data, timeout=30)
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 413
    at_limit = requests.post(f"{runtime.url}/function/echo", data=b"x" * LIMIT, timeout=30)
    assert at_limit.status_code == 200 and len(base64.b64decode(at_limit.json()["body_base64"])) == LIMIT


@pytest.mark.parametrize(("path", "status", "content_type", "body"), [
    ("/none", 200, "text/html; charset=utf-8", b""),
    ("/text", 201, "text/html; charset=utf-8", b"plain words"),
    ("/bytes", 200, "application/octet-stream", b"\x00\x01\xff"),
    ("/list", 200, "application/json", b'[1,"two",null]'),
    ("/typed", 200, "application/vnd.test+json", b'{"a":1}'),
    ("/no-body", 204, "text/html; charset=utf-8", b""),
    ("/bare-string", 200, "text/html; charset=utf-8", b"just a string"),
])
def test_return_values_become_responses(runtime: FixtureRuntime, path: str, status: int, content_type: str,
                                        body: bytes) -> None:
    response = requests.get(f"{runtime.url}/function/shapes{path}", timeout=10)
    assert response.status_code == status
    assert response.headers["Content-Type"] == content_type
    assert response.content == body


def test_handler_headers_are_sent(runtime: FixtureRuntime) -> None:
    assert requests.get(f"{runtime.url}/function/shapes/text", timeout=10).headers["X-Shape"] == "text"


def test_unknown_function_is_a_404_problem(runtime: FixtureRuntime) -> None:
    response = requests.get(f"{runtime.url}/function/no-such-function/x", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404
    assert {"type", "title", "detail"} <= problem.keys()
    assert "no-such-function" in problem["detail"]


def test_handler_exception_is_a_500_problem(runtime: FixtureRuntime) -> None:
    response = requests.post(f"{runtime.url}/function/shapes/boom", timeout=10)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 500
    assert "planned failure" not in response.text  # details stay in the log


def test_methods_outside_the_template_are_refused(runtime: FixtureRuntime) -> None:
    response = requests.options(f"{runtime.url}/function/echo", timeout=10)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_health_and_function_list(runtime: FixtureRuntime) -> None:
    assert requests.get(f"{runtime.url}/healthz", timeout=10).status_code == 200
    functions = {f["name"]: f for f in requests.get(f"{runtime.url}/system/functions", timeout=10).json()}
    assert set(functions) == {"echo", "shapes", "ticker", "consumer"}
    assert functions["ticker"]["annotations"] == {"topic": "cron-function", "schedule": "* * * * * *"}
    assert functions["echo"]["image"] == "registry.prichal.local/fixture-echo:dev"


def test_a_dying_gateway_stops_the_runner_with_an_error() -> None:
    isolation = fixture_isolation()
    runner = RunnerProcess(FIXTURE_STACK, env=isolation)
    try:
        runner.start()
        children = Path(f"/proc/{runner.process.pid}/task/{runner.process.pid}/children")
        if not children.exists():
            pytest.skip("needs Linux /proc to find the gateway process")
        gunicorn = [int(pid) for pid in children.read_text().split()
                    if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        os.kill(gunicorn[0], signal.SIGKILL)
        wait_for(lambda: runner.process.poll() is not None, message="the runner to notice")
        assert runner.process.returncode == 1
        assert "gateway stopped unexpectedly" in runner.log_text()
        runner.close()
    finally:
        if runner.process is not None and runner.process.poll() is None:
            runner.stop(signal.SIGKILL)
        cleanup_fixture(isolation)


def test_a_service_that_is_down_is_named_and_nothing_starts() -> None:
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    runner = RunnerProcess(FIXTURE_STACK, env={"RABBITMQ_URL": closed})
    with pytest.raises(RuntimeError, match="exited with 2") as failure:
        runner.start()
    assert "RabbitMQ at amqp://guest:***@127.0.0.1" in str(failure.value)
    assert "RABBITMQ_URL" in str(failure.value)
    runner.close()


def test_the_stack_is_read_as_faas_cli_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "stack.yml").write_text("""
x-env: &env
  SHARED: ${LOCALRUN_TEST_SET:-unused}
  DEFAULTED: ${LOCALRUN_TEST_UNSET:-fallback}
  EMPTY: ${LOCALRUN_TEST_UNSET}
functions:
  one:
    handler: ./one
    image: img:${LOCALRUN_TEST_TAG-dev}
    environment: {<<: *env, MAX: 10, FLAG: true, LOCALRUN_TEST_CONFLICT: first}
    annotations: {topic: "a.b, c.d"}
  two:
    handler: ../elsewhere/two
    environment: {LOCALRUN_TEST_CONFLICT: second}
    annotations: {topic: cron-function, schedule: "*/5 * * * *"}
""")
    environ = {key: value for key, value in os.environ.items() if not key.startswith("LOCALRUN_TEST_")}
    environ["LOCALRUN_TEST_SET"] = "from-env"
    monkeypatch.setattr(os, "environ", environ)  # apply_environment writes to it; keep the real one clean
    one, two = load_stack(tmp_path / "stack.yml")
    assert one.environment == {"SHARED": "from-env", "DEFAULTED": "fallback", "EMPTY": "", "MAX": "10",
                               "FLAG": "true", "LOCALRUN_TEST_CONFLICT": "first"}
    assert one.image == "img:dev"
    assert one.handler_dir == tmp_path / "one"
    assert two.handler_dir == tmp_path.parent / "elsewhere" / "two"
    assert (one.topics, one.schedule) == (["a.b", "c.d"], None)
    assert (two.topics, two.schedule) == ([], "*/5 * * * *")
    conflicts = apply_environment([one, two])
    assert environ["LOCALRUN_TEST_CONFLICT"] == "first"  # one process: the first function wins, loudly
    assert environ["DEFAULTED"] == "fallback"
    assert len(conflicts) == 1
    assert "LOCALRUN_TEST_CONFLICT" in conflicts[0]
