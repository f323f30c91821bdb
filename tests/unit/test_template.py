"""template/prichal-http without a Docker engine.

``index.py`` is imported the way the image runs it: next to a package ``function`` that is
a copy of a real handler folder. Requests go through the template's Flask app (the test
client), so the whole OpenFaaS python3-http contract is exercised: Event, Context, the
``/`` and ``/<path>`` routes, and dict -> status/body/headers. The Dockerfile is linted for
the lines the deployment depends on.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template" / "prichal-http"

PROBE_HANDLER = '''
import json


def handle(event, context):
    if event.path == "/none":
        return None
    if event.path == "/text":
        return {"statusCode": 202, "body": "plain words", "headers": {"X-Probe": "text"}}
    return {
        "statusCode": 200,
        "body": {
            "body": event.body.decode(),
            "body_type": type(event.body).__name__,
            "method": event.method,
            "path": event.path,
            "query": event.query.to_dict(flat=True),
            "header": event.headers.get("x-probe"),
            "hostname": context.hostname,
        },
        "headers": {"X-Probe": "dict"},
    }
'''


def _forget_function_package() -> None:
    for name in [n for n in sys.modules if n == "function" or n.startswith("function.")]:
        del sys.modules[name]


def _serve(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Lay out /home/app as the image does (index.py + package ``function``) and import it."""
    app_dir = tmp_path / "app"
    shutil.copytree(folder, app_dir / "function", ignore=shutil.ignore_patterns("__pycache__"))
    (app_dir / "function" / "__init__.py").touch()
    shutil.copy(TEMPLATE / "index.py", app_dir / "index.py")
    _forget_function_package()
    monkeypatch.syspath_prepend(str(app_dir))
    spec = importlib.util.spec_from_file_location(f"prichal_template_index_{folder.name.replace('-', '_')}",
                                                  app_dir / "index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def hello_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    yield _serve(ROOT / "functions" / "hello", tmp_path, monkeypatch)
    _forget_function_package()


@pytest.fixture
def probe_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "handler.py").write_text(PROBE_HANDLER)
    monkeypatch.setenv("HOSTNAME", "prichal-probe-7d9f")
    yield _serve(folder, tmp_path, monkeypatch)
    _forget_function_package()


# --- the contract, end to end through index.py --------------------------------------------

def test_real_handler_answers_through_the_template(hello_index: ModuleType) -> None:
    client = hello_index.app.test_client()
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.get_json() == {"message": "hello from prichal"}


def test_builtin_routes_under_any_path(hello_index: ModuleType) -> None:
    client = hello_index.app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/" in spec["paths"]
    assert client.get("/metrics").status_code == 401  # internal: the scraper sends the credential
    from prichal.bootstrap import container

    token = container().settings.internal_token
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert metrics.status_code == 200 and metrics.headers["Content-Type"].startswith("text/plain")


def test_the_template_refuses_a_body_over_the_limit(probe_index: ModuleType) -> None:
    client = probe_index.app.test_client()
    limit = probe_index.app.config["MAX_CONTENT_LENGTH"]
    assert limit == 1024 * 1024
    answer = client.post("/x", data=b"x" * (limit + 1))
    assert answer.status_code == 413
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.get_json()["code"] == "body-too-large"
    assert client.post("/x", data=b"x" * limit).status_code == 200


def test_handler_errors_keep_status_and_problem_json(hello_index: ModuleType) -> None:
    client = hello_index.app.test_client()
    missing = client.get("/no/such/route")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.get_json()["status"] == 404
    wrong_method = client.delete("/")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET"
    assert wrong_method.get_json()["type"].endswith("method-not-allowed")


def test_template_routes_every_path_and_its_five_methods(hello_index: ModuleType) -> None:
    client = hello_index.app.test_client()
    for method in ("GET", "PUT", "POST", "PATCH", "DELETE"):
        answer = client.open("/deep/path/x", method=method)
        # The handler answered (its own problem+json), not Flask's router.
        assert answer.status_code == 404, method
        assert answer.get_json()["detail"] == f"no route for {method} /deep/path/x"
    assert client.open("/", method="TRACE").status_code == 405  # refused by the template itself


def test_event_and_context_as_the_template_builds_them(probe_index: ModuleType) -> None:
    client = probe_index.app.test_client()
    answer = client.post("/orders/42?lang=ru&page=2", data=b'{"a": 1}', headers={"X-Probe": "yes"})
    assert answer.status_code == 200
    assert answer.headers["X-Probe"] == "dict"
    assert answer.get_json() == {
        "body": '{"a": 1}', "body_type": "bytes", "method": "POST", "path": "/orders/42",
        "query": {"lang": "ru", "page": "2"}, "header": "yes", "hostname": "prichal-probe-7d9f",
    }


def test_text_and_none_results(probe_index: ModuleType) -> None:
    client = probe_index.app.test_client()
    text = client.patch("/text")
    assert (text.status_code, text.get_data(), text.headers["X-Probe"]) == (202, b"plain words", "text")
    empty = client.get("/none")
    assert (empty.status_code, empty.get_data()) == (200, b"")


def test_bytes_bodies_are_sent_as_they_are(probe_index: ModuleType) -> None:
    """Prichal handlers return encoded bytes; upstream's ``str(body)`` would send ``b'...'``."""
    payload = json.dumps({"ok": True}).encode()
    body = probe_index.format_body({"body": payload})
    assert body == payload


# --- the Dockerfile -----------------------------------------------------------------------

def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in (TEMPLATE / "Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.partition(" ")
        lines.append((keyword.upper(), rest.strip()))
        current = ""
    return lines


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    start = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[start:]


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_dockerfile_stages() -> None:
    froms = [rest for keyword, rest in _instructions() if keyword == "FROM"]
    assert froms[0].split() == [froms[0].split()[0], "AS", "watchdog"]
    watchdog_image = froms[0].split()[0]
    assert watchdog_image.startswith("ghcr.io/openfaas/of-watchdog:")
    version = watchdog_image.rpartition(":")[2]
    assert version.count(".") == 2 and version.replace(".", "").isdigit(), f"pin of-watchdog: {version}"
    assert froms[-1] == "python:3.11-slim-bookworm"
    final = _final_stage()
    assert ("COPY", "--from=watchdog /fwatchdog /usr/bin/fwatchdog") in final


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [rest for keyword, rest in _final_stage() if keyword == "USER"]
    assert users, "the final stage must switch to a non-root user"
    assert users[-1] not in {"root", "0", "0:0"}
    assert any(keyword == "RUN" and "useradd" in rest and users[-1] in rest for keyword, rest in _final_stage())


def test_dockerfile_installs_shared_then_function_requirements() -> None:
    instructions = _instructions()
    copies = {rest.split()[0]: rest.split()[-1] for keyword, rest in instructions
              if keyword == "COPY" and not rest.startswith("--")}
    shared_dest = copies["function/shared"]
    requirements_dest = copies["function/requirements.txt"]
    runs = [rest for keyword, rest in instructions if keyword == "RUN"]
    shared_at = next(i for i, rest in enumerate(runs) if f"pip install {shared_dest}" in rest)
    requirements_at = next(i for i, rest in enumerate(runs) if f"pip install -r {requirements_dest}" in rest)
    assert shared_at < requirements_at, "the function's requirements go on top of the core package"
    assert any(keyword == "COPY" and rest.split()[0] == "requirements.txt" for keyword, rest in instructions)
    assert any(f"pip install -r {copies['requirements.txt']}" in rest for rest in runs)
    # The handler folder is the package `function` of the final image.
    assert any(keyword == "COPY" and rest.endswith("./function") for keyword, rest in _final_stage())
    assert any(keyword == "COPY" and rest.split() == ["index.py", "./index.py"] for keyword, rest in _final_stage())


def test_dockerfile_copies_only_what_the_build_context_has() -> None:
    """faas-cli's context: the template's files plus function/ (handler + copied ./shared)."""
    for keyword, rest in _instructions():
        if keyword == "COPY" and not rest.startswith("--"):
            source = rest.split()[0]
            if source.startswith("function"):
                continue
            assert (TEMPLATE / source).exists(), f"COPY {source}: not in template/prichal-http"


def test_watchdog_runs_index_py_in_http_mode() -> None:
    env = _env(_final_stage())
    assert env["fprocess"] == "python index.py"
    assert env["mode"] == "http"
    assert env["upstream_url"] == "http://127.0.0.1:5000"
    assert env["PYTHONUNBUFFERED"] == "1"
    keywords = dict(_final_stage())
    assert "/tmp/.lock" in keywords["HEALTHCHECK"]
    assert json.loads(keywords["CMD"]) == ["fwatchdog"]
    index = (TEMPLATE / "index.py").read_text()
    assert 'serve(app, host="127.0.0.1", port=5000)' in index


def test_template_yml_matches_the_dockerfile() -> None:
    template = yaml.safe_load((TEMPLATE / "template.yml").read_text())
    assert template["language"] == "prichal-http"
    assert template["fprocess"] == _env(_final_stage())["fprocess"]
    assert template["welcome_message"].strip()
    pins = [line for line in (TEMPLATE / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert pins and all("==" in line for line in pins), pins


def test_dockerfile_installs_the_sandbox_only_when_copied_and_the_local_runtime_never() -> None:
    """stack.sandbox.yml copies ./sandbox (mock-payments' image installs it); stack.yml does not,
    so a production image has no prichal_sandbox; ./localrun is never installed, only dropped."""
    runs = [rest for keyword, rest in _instructions() if keyword == "RUN"]
    installs = [rest for rest in runs if "pip install" in rest]
    sandbox = [rest for rest in installs if "function/sandbox" in rest]
    assert len(sandbox) == 1
    assert sandbox[0].startswith("if [ -f /build/function/sandbox/pyproject.toml ]; then")
    assert "--no-deps" in sandbox[0]  # its one dependency is the core, installed just before
    shared_at = next(i for i, rest in enumerate(runs) if "pip install /build/shared" in rest)
    assert shared_at < runs.index(sandbox[0])
    assert not [rest for rest in installs if "localrun" in rest]
    cleanup = next(rest for rest in runs if rest.startswith("rm -rf /build/function/shared"))
    assert {"/build/function/sandbox", "/build/function/localrun"} <= set(cleanup.split())
    copies = [rest for keyword, rest in _final_stage() if keyword == "COPY"]
    assert not [rest for rest in copies if "sandbox" in rest or "localrun" in rest]
