"""Production mode refuses to start on development defaults, under both runtimes.

Each start is a real process: the OpenFaaS template's ``index.py`` importing a handler laid
out as the image has it (``function`` package), or ``functions-framework``. The safe
configuration logs in with a role created here with NOSUPERUSER NOBYPASSRLS.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from prichal.adapters.db.rls import APP_ROLE
from prichal.bootstrap import DEV_TICKET_KEY_SEED
from prichal.production import EXIT_UNSAFE
from tests.conftest import PG_URL
from tests.conftest import TestEnv as RunEnv

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_INDEX = ROOT / "template" / "prichal-http" / "index.py"
START_WITHIN = 60  # a guard against a hung start, not a timing assertion
# Settings a production start reads; the test's own process environment must not leak in.
CONTROLLED = ("PRICHAL_ENV", "PAYMENTS_SANDBOX", "TICKET_SIGNING_KEY", "ORDER_TOKEN_SECRET", "MOCK_PAYMENTS_SECRET",
              "YOOKASSA_WEBHOOK_ALLOWLIST", "MOCK_WEBHOOK_ALLOWLIST", "DATABASE_URL", "SECRETS_DIR", "INTERNAL_TOKEN",
              "INTERNAL_NETWORK_GUARDED", "WEBHOOK_URL_KEY")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def functions_framework() -> str:
    return str(Path(sys.executable).parent / "functions-framework")


def _login_url(database_url: str, role: str) -> str:
    return make_url(database_url).set(username=role).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def logins(test_env: RunEnv) -> Iterator[dict[str, str]]:
    """Login roles (cluster-wide, so named per run): a safe one and one with BYPASSRLS."""
    suffix = uuid.uuid4().hex[:8]
    roles = {"safe": f"prichal_login_{suffix}", "bypassrls": f"prichal_bypass_{suffix}"}
    admin = create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{roles["safe"]}" LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE {APP_ROLE}'))
        conn.execute(text(f'CREATE ROLE "{roles["bypassrls"]}" LOGIN NOSUPERUSER BYPASSRLS IN ROLE {APP_ROLE}'))
    try:
        yield {kind: _login_url(test_env.database_url, role) for kind, role in roles.items()}
    finally:
        with admin.connect() as conn:
            for role in roles.values():
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@pytest.fixture
def safe_env(logins: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A complete production configuration (no secret files unless a test writes them)."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    return {**env, "PRICHAL_ENV": "production", "SECRETS_DIR": str(secrets), "DATABASE_URL": logins["safe"],
            "TICKET_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
            "ORDER_TOKEN_SECRET": base64.b64encode(os.urandom(32)).decode(),
            "INTERNAL_TOKEN": base64.b64encode(os.urandom(24)).decode(), "PYTHONUNBUFFERED": "1"}


def _image_layout(function: str, tmp_path: Path) -> Path:
    """/home/app of the image: index.py beside the handler folder as package ``function``."""
    app = tmp_path / f"app-{function}"
    if app.is_dir():
        return app
    shutil.copytree(ROOT / "functions" / function, app / "function", ignore=shutil.ignore_patterns("__pycache__"))
    (app / "function" / "__init__.py").touch()
    shutil.copy(TEMPLATE_INDEX, app / "index.py")
    return app


def start_openfaas(function: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """What ``python index.py`` does before it serves: import the app (and so the handler)."""
    return subprocess.run([sys.executable, "-c", "import index; print('app ready:', index.app.name)"],
                          cwd=_image_layout(function, tmp_path), env=env, capture_output=True, text=True,
                          timeout=START_WITHIN)


def refusals(stderr: str) -> list[dict]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line["msg"].startswith("refusing to start")]


def assert_refused(started: subprocess.CompletedProcess[str], *names: str) -> str:
    assert started.returncode == EXIT_UNSAFE, (started.stdout, started.stderr)
    assert "app ready" not in started.stdout
    found = refusals(started.stderr)
    assert len(found) == 1, started.stderr  # one line names everything
    for name in names:
        assert f"[{name}]" in found[0]["msg"] and name in found[0]["unsafe"], found[0]
    return found[0]["msg"]


def test_a_fully_configured_production_start_succeeds(safe_env: dict[str, str], tmp_path: Path) -> None:
    started = start_openfaas("catalog", safe_env, tmp_path)
    assert started.returncode == 0, started.stderr
    assert "app ready" in started.stdout
    assert refusals(started.stderr) == []


UNSAFE = {
    "no ticket key": ({"TICKET_SIGNING_KEY": None}, "ticket_signing_key"),
    "the development ticket key": ({"TICKET_SIGNING_KEY": base64.b64encode(DEV_TICKET_KEY_SEED).decode()},
                                   "ticket_signing_key"),
    "default order-token secret": ({"ORDER_TOKEN_SECRET": "dev-order-token-secret"}, "order_token_secret"),
    "no order-token secret": ({"ORDER_TOKEN_SECRET": None}, "order_token_secret"),
    "default sandbox secret with sandbox on": ({"PAYMENTS_SANDBOX": "true"}, "mock_payments_secret"),
    "no YooKassa allowlist": ({"YOOKASSA_WEBHOOK_ALLOWLIST": ""}, "yookassa_webhook_allowlist"),
    "an allowlist of everyone": ({"YOOKASSA_WEBHOOK_ALLOWLIST": "185.71.76.0/27,0.0.0.0/0"},
                                 "yookassa_webhook_allowlist"),
    "no mock allowlist with sandbox on": ({"PAYMENTS_SANDBOX": "true", "MOCK_PAYMENTS_SECRET": "s3cr3t-sandbox",
                                           "MOCK_WEBHOOK_ALLOWLIST": ""}, "mock_webhook_allowlist"),
    "superuser login": ({"DATABASE_URL": "superuser"}, "database_login"),
    "BYPASSRLS login": ({"DATABASE_URL": "bypassrls"}, "database_login"),
    "database unreachable": ({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}, "database_login"),
    "default internal token": ({"INTERNAL_TOKEN": "dev-internal-token"}, "internal_token"),
    "no internal token": ({"INTERNAL_TOKEN": None}, "internal_token"),
}


@pytest.mark.parametrize("case", UNSAFE, ids=list(UNSAFE))
def test_each_unsafe_default_refuses_the_start(case: str, safe_env: dict[str, str], logins: dict[str, str],
                                               test_env: RunEnv, tmp_path: Path) -> None:
    changes, name = UNSAFE[case]
    env = dict(safe_env)
    for key, value in changes.items():
        if value is None:
            env.pop(key)
        else:
            env[key] = {"superuser": test_env.database_url, "bypassrls": logins["bypassrls"]}.get(value, value)
    message = assert_refused(start_openfaas("catalog", env, tmp_path), name)
    assert message.count("[") == 1, message  # only what is wrong is named


def test_the_internal_token_does_not_matter_where_the_network_guards_internal_routes(
        safe_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in safe_env.items() if k != "INTERNAL_TOKEN"}
    assert start_openfaas("catalog", {**env, "INTERNAL_NETWORK_GUARDED": "true"}, tmp_path).returncode == 0


def test_the_webhook_url_key_is_checked_where_notifications_arrive(safe_env: dict[str, str], tmp_path: Path) -> None:
    """Only payment-webhook (and the sandbox, which builds the URLs) use the key: there the
    development default is refused, elsewhere it is not needed."""
    assert_refused(start_openfaas("payment-webhook", safe_env, tmp_path), "webhook_url_key")
    env = {**safe_env, "WEBHOOK_URL_KEY": base64.b64encode(os.urandom(32)).decode()}
    assert start_openfaas("payment-webhook", env, tmp_path).returncode == 0
    assert start_openfaas("catalog", safe_env, tmp_path).returncode == 0


def test_sandbox_secrets_do_not_matter_while_the_sandbox_is_off(safe_env: dict[str, str], tmp_path: Path) -> None:
    env = {**safe_env, "MOCK_WEBHOOK_ALLOWLIST": ""}  # and MOCK_PAYMENTS_SECRET is the default
    assert start_openfaas("catalog", env, tmp_path).returncode == 0


def test_everything_wrong_is_named_in_one_line(safe_env: dict[str, str], test_env: RunEnv, tmp_path: Path) -> None:
    env = {**safe_env, "DATABASE_URL": test_env.database_url, "PAYMENTS_SANDBOX": "1", "YOOKASSA_WEBHOOK_ALLOWLIST": ""}
    del env["TICKET_SIGNING_KEY"], env["ORDER_TOKEN_SECRET"]
    assert_refused(start_openfaas("create-order", env, tmp_path), "ticket_signing_key", "order_token_secret",
                   "mock_payments_secret", "yookassa_webhook_allowlist", "database_login")


def test_a_secret_file_makes_an_unsafe_environment_safe(safe_env: dict[str, str], tmp_path: Path) -> None:
    """Files win: the mounted secret, not a leftover variable, is what the function uses."""
    env = {**safe_env, "ORDER_TOKEN_SECRET": "dev-order-token-secret"}
    (Path(env["SECRETS_DIR"]) / "order-token-secret").write_text("a-real-secret-from-the-cluster\n")
    assert start_openfaas("catalog", env, tmp_path).returncode == 0
    (Path(env["SECRETS_DIR"]) / "order-token-secret").write_text("dev-order-token-secret\n")
    assert_refused(start_openfaas("catalog", {**env, "ORDER_TOKEN_SECRET": "x" * 32}, tmp_path), "order_token_secret")


def test_hello_never_opens_the_database(safe_env: dict[str, str], test_env: RunEnv, tmp_path: Path) -> None:
    env = {**safe_env, "DATABASE_URL": test_env.database_url}  # a superuser: hello does not care
    assert start_openfaas("hello", env, tmp_path).returncode == 0
    del env["ORDER_TOKEN_SECRET"]  # every other check holds for hello too
    assert_refused(start_openfaas("hello", env, tmp_path), "order_token_secret")


def test_development_mode_keeps_the_friendly_defaults(safe_env: dict[str, str], test_env: RunEnv,
                                                      tmp_path: Path) -> None:
    env = {k: v for k, v in safe_env.items() if k not in ("PRICHAL_ENV", "TICKET_SIGNING_KEY", "ORDER_TOKEN_SECRET")}
    assert start_openfaas("catalog", {**env, "DATABASE_URL": test_env.database_url}, tmp_path).returncode == 0


def _functions_framework(function: str, env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([functions_framework(), "--target", "main", "--source",
                             f"functions/{function}/handler.py", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_functions_framework_refuses_before_serving(safe_env: dict[str, str]) -> None:
    process = _functions_framework("lock-seat", {**safe_env, "ORDER_TOKEN_SECRET": "dev-order-token-secret"},
                                   free_port())
    try:
        _, stderr = process.communicate(timeout=START_WITHIN)
    finally:
        process.kill()
    assert process.returncode == EXIT_UNSAFE, stderr
    assert len(refusals(stderr)) == 1 and "[order_token_secret]" in refusals(stderr)[0]["msg"]


def test_functions_framework_serves_a_safe_production_start(safe_env: dict[str, str]) -> None:
    port = free_port()
    process = _functions_framework("lock-seat", safe_env, port)
    try:
        answer = None
        for _ in range(START_WITHIN * 5):
            if process.poll() is not None:
                break
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, process.poll()
    finally:
        process.terminate()
        process.communicate(timeout=30)
