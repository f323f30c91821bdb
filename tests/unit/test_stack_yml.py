"""stack.yml against schemas/stack.schema.json and against the functions/ folder.

The schema is the OpenFaaS stack file (go-sdk ``stack/schema.go``) narrowed by our rules:
every function is built from ``prichal-http`` out of ``./functions/<name>`` into an image,
and a cron trigger carries a 5-field ``schedule``. faas-cli substitutes ``${VAR:-default}``
before parsing, so the file is validated after the same substitution.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter
from jsonschema import Draft202012Validator

from prichal.localrun.stack import substitute

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "stack.yml"
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


def test_stack_yml_matches_the_schema(validator: Draft202012Validator, stack: dict[str, Any]) -> None:
    assert errors(validator, stack) == []


def test_stack_yml_matches_the_schema_with_variables_set(validator: Draft202012Validator) -> None:
    env = {"REGISTRY": "ghcr.io/prichal", "TAG": "1.4.2", "OPENFAAS_URL": "https://faas.prichal.example"}
    document = load(STACK.read_text(), env)
    assert errors(validator, document) == []
    assert all(f["image"].startswith("ghcr.io/prichal/") and f["image"].endswith(":1.4.2")
               for f in document["functions"].values())


def test_shared_package_is_copied_into_every_build_context(stack: dict[str, Any]) -> None:
    """The template's Dockerfile installs function/shared: stack.yml must put it there."""
    copied = [path.removeprefix("./").rstrip("/") for path in stack["configuration"]["copy"]]
    assert "shared" in copied
    assert (ROOT / "shared" / "pyproject.toml").is_file()
    assert (ROOT / "template" / "prichal-http" / "template.yml").is_file()


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


def test_every_function_has_a_handler_folder(stack: dict[str, Any]) -> None:
    for name, function in stack["functions"].items():
        assert function["handler"] == f"./functions/{name}", name
        folder = ROOT / function["handler"]
        assert (folder / "handler.py").is_file(), f"{name}: no handler.py"
        assert (folder / "requirements.txt").is_file(), f"{name}: no requirements.txt (the template copies it)"
        missing = {"handle", "main"} - _exports(folder / "handler.py")
        assert not missing, f"{name}: handler.py does not export {sorted(missing)}"


def test_every_function_folder_is_in_the_stack(stack: dict[str, Any]) -> None:
    folders = {p.name for p in FUNCTIONS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert folders - set(stack["functions"]) == set(), "function folders missing from stack.yml"


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
