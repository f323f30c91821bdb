"""The function images and the command the generated manifests run in them.

No Docker engine here: the Dockerfile is checked for what the issue asks (pinned base,
non-root, no pip or compilers in the final stage, development tools removed), build.sh
for what it would build, and the manifests' command is run as is (functions-framework,
target main, the handler path of the image) for every function.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from functions_framework import create_app

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "images" / "Dockerfile").read_text()
SERVICES = [d for p in sorted((ROOT / "k3s" / "base" / "functions").glob("*.yaml"))
            for d in yaml.safe_load_all(p.read_text()) if d and d.get("kind") == "Service"]


def test_the_dockerfile_pins_its_base_and_runs_unprivileged() -> None:
    bases = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.M)
    assert bases and all(re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", b) for b in bases), bases
    assert re.search(r"^USER 10001:10001$", DOCKERFILE, re.M)
    final = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    assert "pip install" not in final and "gcc" not in final and "build-essential" not in DOCKERFILE
    assert "pip uninstall -y pip setuptools wheel" in DOCKERFILE
    assert 'rm -rf "$site/prichal/localrun"' in DOCKERFILE and "prichal_sandbox" in DOCKERFILE
    for service in SERVICES:
        spec = service["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsUser"] == 10001 and spec["securityContext"]["runAsNonRoot"] is True


def test_build_sh_builds_every_function_with_its_system_packages() -> None:
    result = subprocess.run(["bash", "images/build.sh", "1.2.3", "registry.example"], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "DRY_RUN": "1"}, timeout=60)
    assert result.returncode == 0, result.stderr
    commands = {re.search(r"FUNCTION=(\S+)", line).group(1): line for line in result.stdout.splitlines()}
    assert set(commands) >= {s["metadata"]["name"] for s in SERVICES} | {"dead-letters"}
    assert "libpango" in commands["issue-documents"] and "KEEP_SANDBOX=false" in commands["issue-documents"]
    assert "-t registry.example/prichal-catalog:1.2.3" in commands["catalog"]
    if "mock-payments" in commands:
        assert "KEEP_SANDBOX=true" in commands["mock-payments"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s["metadata"]["name"])
def test_the_manifests_command_serves_the_function(service: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    container = service["spec"]["template"]["spec"]["containers"][0]
    args = dict(zip(container["args"][::2], container["args"][1::2], strict=True))
    monkeypatch.chdir(ROOT)  # the image's WORKDIR holds functions/<name>/handler.py
    app = create_app(args["--target"], args["--source"], args["--signature-type"])
    answer = app.test_client().get(container["readinessProbe"]["httpGet"]["path"])
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok"}
