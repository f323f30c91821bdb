"""stack.yml and stack.sandbox.yml against schemas/stack.schema.json and the functions/ folder.

The schema is the OpenFaaS stack file (go-sdk ``stack/schema.go``) narrowed by our rules:
every function is built from ``prichal-http`` out of ``./functions/<name>`` into an image,
and a cron trigger carries a 5-field ``schedule``. faas-cli substitutes ``${VAR:-default}``
before parsing, so the file is validated after the same substitution.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter
from jsonschema import Draft202012Validator

from prichal_localrun.stack import substitute

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "stack.yml"
SANDBOX_STACK = ROOT / "stack.sandbox.yml"  # the sandbox provider, deployed without the production stack
STACKS = (STACK, SANDBOX_STACK)
SCHEMA = ROOT / "schemas" / "stack.schema.json"
FUNCTIONS = ROOT / "functions"

def load(text: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    return yaml.safe_load(substitute(text, env or {}))


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    # Defaults only: what a build without any variables set would see.
    return load(STACK.read_text())


def errors(validator: Draft202012Validator, document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(document)]


@pytest.fixture(scope="module")
def sandbox_stack() -> dict[str, Any]:
    return load(SANDBOX_STACK.read_text())


@pytest.mark.parametrize("path", STACKS, ids=lambda path: path.name)
def test_stack_yml_matches_the_schema(validator: Draft202012Validator, path: Path) -> None:
    assert errors(validator, load(path.read_text())) == []


@pytest.mark.parametrize("path", STACKS, ids=lambda path: path.name)
def test_stack_yml_matches_the_schema_with_variables_set(validator: Draft202012Validator, path: Path) -> None:
    env = {"REGISTRY": "ghcr.io/prichal", "TAG": "1.4.2", "OPENFAAS_URL": "https://faas.prichal.example"}
    document = load(path.read_text(), env)
    assert errors(validator, document) == []
    assert all(f["image"].startswith("ghcr.io/prichal/") and f["image"].endswith(":1.4.2")
               for f in document["functions"].values())


def _copied(document: dict[str, Any]) -> list[str]:
    return [path.removeprefix("./").rstrip("/") for path in document["configuration"]["copy"]]


def test_shared_package_is_copied_into_every_build_context(stack: dict[str, Any],
                                                          sandbox_stack: dict[str, Any]) -> None:
    """The template's Dockerfile installs function/shared: both stack files must put it there."""
    assert "shared" in _copied(stack)
    assert "shared" in _copied(sandbox_stack)
    assert (ROOT / "shared" / "pyproject.toml").is_file()
    assert (ROOT / "template" / "prichal-http" / "template.yml").is_file()


def test_production_stack_carries_neither_the_sandbox_nor_the_local_runtime(stack: dict[str, Any],
                                                                           sandbox_stack: dict[str, Any]) -> None:
    """mock-payments (and its package) only in stack.sandbox.yml; ./localrun in no image at all."""
    assert _copied(stack) == ["shared"]
    assert "mock-payments" not in stack["functions"]
    assert set(sandbox_stack["functions"]) == {"mock-payments"}
    assert _copied(sandbox_stack) == ["shared", "sandbox"]
    assert (ROOT / "sandbox" / "pyproject.toml").is_file()
    assert set(stack["functions"]).isdisjoint(sandbox_stack["functions"])


def _exports(handler: Path) -> set[str]:
    """Top-level names a handler assigns or defines (read, not imported: no side effects)."""
    names = set()
    for node in ast.parse(handler.read_text()).body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
    return names


def test_every_function_has_a_handler_folder(stack: dict[str, Any], sandbox_stack: dict[str, Any]) -> None:
    for name, function in {**stack["functions"], **sandbox_stack["functions"]}.items():
        assert function["handler"] == f"./functions/{name}", name
        folder = ROOT / function["handler"]
        assert (folder / "handler.py").is_file(), f"{name}: no handler.py"
        assert (folder / "requirements.txt").is_file(), f"{name}: no requirements.txt (the template copies it)"
        missing = {"handle", "main"} - _exports(folder / "handler.py")
        assert not missing, f"{name}: handler.py does not export {sorted(missing)}"


def test_every_function_folder_is_in_a_stack(stack: dict[str, Any], sandbox_stack: dict[str, Any]) -> None:
    folders = {p.name for p in FUNCTIONS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    missing = folders - set(stack["functions"]) - set(sandbox_stack["functions"])
    assert missing == set(), "function folders missing from stack.yml and stack.sandbox.yml"


def test_cron_schedules_parse(stack: dict[str, Any]) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for name, function in stack["functions"].items():
        annotations = function.get("annotations") or {}
        if annotations.get("topic") == "cron-function":
            schedule = annotations["schedule"]
            assert croniter.is_valid(schedule), f"{name}: {schedule!r}"
            assert len(schedule.split()) == 5, f"{name}: cron-connector takes 5 fields, got {schedule!r}"
            assert croniter(schedule, start).get_next(datetime) > start


# --- the schema rejects what it should ----------------------------------------------------

def _broken(stack: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(stack)
    function = document["functions"][name]
    for key, value in changes.items():
        if value is None:
            function.pop(key, None)
        else:
            function[key] = value
    return document


@pytest.mark.parametrize(("changes", "expected"), [
    ({"lang": "python3-http"}, "'prichal-http' was expected"),
    ({"handler": "./hello"}, "does not match"),
    ({"image": None}, "'image' is a required property"),
    ({"image": "registry/${TAG}"}, "does not match"),
    ({"annotations": {"topic": "cron-function"}}, "'schedule' is a required property"),
    ({"annotations": {"topic": "cron-function", "schedule": "*/5 * * *"}}, "does not match"),
    ({"annotations": {"topic": "order.paid", "schedule": "* * * * *"}}, "should not be valid"),
    ({"limits": {"memory": "lots"}}, "does not match"),
    ({"readonly_root_filesystem": "yes"}, "is not of type 'boolean'"),
    ({"enviroment": {"A": "1"}}, "Additional properties are not allowed"),
])
def test_schema_rejects_broken_functions(validator: Draft202012Validator, stack: dict[str, Any],
                                         changes: dict[str, Any], expected: str) -> None:
    name = next(iter(stack["functions"]))
    found = errors(validator, _broken(stack, name, **changes))
    assert any(expected in message for message in found), found


def test_schema_accepts_every_openfaas_field_and_x_keys(validator: Draft202012Validator) -> None:
    document = load("""
version: 1.0
provider: {name: openfaas, gateway: http://127.0.0.1:8080}
x-anchors: &env {A: "1"}
configuration:
  templates: [{name: prichal-http}]
  copy: [./shared]
functions:
  report-export:
    lang: prichal-http
    handler: ./functions/report-export
    image: registry.prichal.local/prichal-report-export:dev
    environment: {<<: *env, read_timeout: 60s, RETRIES: 3, DEBUG: false}
    environment_file: [env.yml]
    secrets: [database-url]
    labels: {com.openfaas.scale.min: "1"}
    annotations: {topic: cron-function, schedule: "0 3 * * *"}
    limits: {memory: 256Mi, cpu: 500m}
    requests: {memory: 64Mi, cpu: "0.1"}
    build_args: {ADDITIONAL_PACKAGE: libpango-1.0-0}
    build_options: [dev]
    constraints: ["node.platform.os == linux"]
    readonly_root_filesystem: true
""")
    assert errors(validator, document) == []


def test_schema_rejects_unknown_top_level_keys_and_providers(validator: Draft202012Validator,
                                                             stack: dict[str, Any]) -> None:
    document = copy.deepcopy(stack)
    document["functons"] = {}
    document["provider"] = {"name": "faasd"}
    found = errors(validator, document)
    assert any("'functons'" in m for m in found), found
    assert any(m.startswith("provider/name") for m in found), found


# --- secrets and production mode -----------------------------------------------------------

CREDENTIAL_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL|DATABASE_URL|RABBITMQ_URL|DSN", re.I)
USERINFO = re.compile(r"://[^/\s]*@")  # scheme://user[:password]@host


def test_no_credential_in_any_environment(stack: dict[str, Any]) -> None:
    """Credentials are secrets (files), never plain environment: ``kubectl describe`` shows those."""
    found = []
    for name, function in stack["functions"].items():
        for key, value in (function.get("environment") or {}).items():
            if CREDENTIAL_NAME.search(str(key)) or USERINFO.search(str(value)):
                found.append(f"{name}: {key}={value}")
    assert found == []


def test_the_credential_check_would_see_one() -> None:
    document = load("functions:\n  f:\n    environment:\n      DATABASE_URL: postgresql://u:p@db/x\n"
                    "      BROKER: amqp://guest:guest@mq:5672/\n      SMTP_PASSWORD: x\n")
    keys = [k for k, v in document["functions"]["f"]["environment"].items()
            if CREDENTIAL_NAME.search(k) or USERINFO.search(v)]
    assert keys == ["DATABASE_URL", "BROKER", "SMTP_PASSWORD"]


def _opens_database(name: str) -> bool:
    """Every function but those built with ``function_app(..., database=False)``."""
    return "database=False" not in (FUNCTIONS / name / "handler.py").read_text()


def test_secrets_are_mounted_where_they_are_used(stack: dict[str, Any]) -> None:
    for name, function in stack["functions"].items():
        secrets = set(function.get("secrets") or [])
        # production mode checks these in every function
        assert {"ticket-signing-key", "order-token-secret"} <= secrets, name
        assert ("database-url" in secrets) == _opens_database(name), name
        if name in ("create-order", "payment-webhook", "expire-holds"):  # payments made, re-read, canceled
            assert {"yookassa-keys", "rabbitmq-url"} <= secrets, name


def test_every_function_defaults_to_production_mode(stack: dict[str, Any]) -> None:
    for name, function in stack["functions"].items():
        assert function["environment"]["PRICHAL_ENV"] == "production", name
        assert function["environment"]["YOOKASSA_WEBHOOK_ALLOWLIST"], name
    development = load(STACK.read_text(), {"PRICHAL_ENV": "development"})
    assert {f["environment"]["PRICHAL_ENV"] for f in development["functions"].values()} == {"development"}
# --- provider calls fit inside the function's time (issue 8, item 18) ------------------------

PROVIDER_CALLERS = ("create-order", "payment-webhook", "expire-holds")


def _seconds(value: Any) -> float:
    text = str(value).strip()
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit) and text[:-len(unit)].replace(".", "", 1).isdigit():
            return float(text[:-len(unit)]) * units[unit]
    return float(text)


def test_the_provider_budget_fits_every_callers_timeout(stack: dict[str, Any]) -> None:
    """budget + margin <= exec_timeout (and the gateway's read/write timeouts) of every function
    that talks to a payment provider, with the budget stack.yml gives it or the default."""
    from prichal.config import PROVIDER_MARGIN_SECONDS, Settings

    callers = {name for name, function in stack["functions"].items()
               if "YOOKASSA_API_URL" in (function.get("environment") or {})}
    assert set(PROVIDER_CALLERS) <= callers, "a provider caller lacks the provider's API URL in stack.yml"
    for name in sorted(callers):
        environment = stack["functions"][name]["environment"]
        budget = float(environment.get("PAYMENT_CALL_BUDGET_SECONDS", Settings().payment_call_budget_seconds))
        timeout = min(_seconds(environment[key]) for key in ("exec_timeout", "read_timeout", "write_timeout"))
        assert budget + PROVIDER_MARGIN_SECONDS <= timeout, (
            f"{name}: provider calls may take {budget} s + {PROVIDER_MARGIN_SECONDS} s margin, "
            f"but the function has {timeout} s")


def test_the_budget_check_catches_a_short_timeout(stack: dict[str, Any]) -> None:
    document = copy.deepcopy(stack)
    document["functions"]["create-order"]["environment"]["exec_timeout"] = "12s"
    with pytest.raises(AssertionError, match="create-order"):
        test_the_provider_budget_fits_every_callers_timeout(document)
