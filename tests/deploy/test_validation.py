"""Offline validation of everything under k3s/ (no cluster here).

- yamllint over k3s/, ansible/ and the promtool tests;
- every Kubernetes core resource against the Kubernetes 1.31 schemas in strict mode
  (kubernetes-validate), Knative Services' pod templates included (as Pods);
- every custom resource against the minimal schemas vendored in k3s/schemas (fields we
  use only, anything else refused), and no custom resource without a schema;
- promtool check rules / test rules, with one firing and one quiet test per alert and a
  runbook entry per alert in docs/operations.md.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft202012Validator
from yamllint import linter
from yamllint.config import YamlLintConfig

ROOT = Path(__file__).resolve().parents[2]
K3S = ROOT / "k3s"
RULES = K3S / "platform" / "monitoring" / "rules" / "prichal.rules.yml"
PROMTOOL_TESTS = Path(__file__).parent / "promtool" / "prichal.test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
KUBERNETES = "1.31"
CORE_GROUPS = {"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1",
               "policy/v1", "autoscaling/v2"}
# Fields of a Knative revision template that a plain PodSpec does not have.
# YAML under k3s/ that is configuration, not a manifest.
NOT_MANIFESTS = {"otel-collector.yaml"}
KNATIVE_ONLY = ("timeoutSeconds", "containerConcurrency", "responseStartTimeoutSeconds", "idleTimeoutSeconds")


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(K3S.rglob("*.yaml")):
        if path.name == "kustomization.yaml" or path.name in NOT_MANIFESTS or "schemas" in path.parts:
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path, document))
    return found


MANIFESTS = manifests()


def _id(item: tuple[Path, dict[str, Any]]) -> str:
    path, document = item
    return f"{path.relative_to(K3S)}:{document.get('kind')}/{document.get('metadata', {}).get('name')}"


@pytest.fixture(scope="module")
def crd_schemas() -> dict[str, Draft202012Validator]:
    vendored = yaml.safe_load((K3S / "schemas" / "crds.schema.yaml").read_text())
    validators = {}
    for key, schema in vendored["kinds"].items():
        properties = dict(schema.get("properties", {}))
        metadata = properties.pop("metadata", None)
        full = {
            "$defs": vendored["$defs"], "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"allOf": [{"$ref": "#/$defs/metadata"}, metadata]} if metadata
                           else {"$ref": "#/$defs/metadata"}, **properties},
            "additionalProperties": False,
        }
        Draft202012Validator.check_schema(full)
        validators[key] = Draft202012Validator(full)
    return validators


def test_yaml_is_clean() -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    problems = []
    for folder in (K3S, ROOT / "ansible", PROMTOOL_TESTS.parent):
        for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
            for problem in linter.run(path.read_text(), config, str(path)):
                problems.append(f"{path.relative_to(ROOT)}:{problem.line}:{problem.column} {problem.message}")
    assert problems == []


@pytest.mark.parametrize("item", [m for m in MANIFESTS if m[1]["apiVersion"] in CORE_GROUPS], ids=_id)
def test_core_resources_match_the_kubernetes_schemas(item: tuple[Path, dict[str, Any]]) -> None:
    kubernetes_validate.validate(item[1], KUBERNETES, strict=True)


@pytest.mark.parametrize("item", [m for m in MANIFESTS if m[1]["apiVersion"] not in CORE_GROUPS], ids=_id)
def test_custom_resources_match_their_vendored_schemas(item: tuple[Path, dict[str, Any]],
                                                       crd_schemas: dict[str, Draft202012Validator]) -> None:
    document = item[1]
    key = f"{document['apiVersion']}/{document['kind']}"
    assert key in crd_schemas, f"no schema for {key} in k3s/schemas/crds.schema.yaml"
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in crd_schemas[key].iter_errors(document)]
    assert errors == []
    if key == "serving.knative.dev/v1/Service":
        template = document["spec"]["template"]
        spec = {k: v for k, v in copy.deepcopy(template["spec"]).items() if k not in KNATIVE_ONLY}
        for container in spec["containers"]:  # Knative fills the probes' port with the user port
            for probe in ("readinessProbe", "livenessProbe"):
                if "httpGet" in container.get(probe, {}):
                    container[probe]["httpGet"].setdefault("port", 8080)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": document["metadata"]["name"]}, "spec": spec}
        kubernetes_validate.validate(pod, KUBERNETES, strict=True)


@pytest.mark.parametrize("template", ["migrations-job.yaml.j2", "restore-cluster.yaml.j2"])
@pytest.mark.parametrize("target_time", [None, "2026-12-01 10:00:00+03"])
def test_the_playbooks_manifests_are_valid(template: str, target_time: str | None,
                                           crd_schemas: dict[str, Draft202012Validator]) -> None:
    """What rollout.yml and restore-drill.yml apply, rendered as Ansible renders them."""
    import jinja2

    source = (ROOT / "ansible" / "playbooks" / "templates" / template).read_text()
    values = {"registry": "registry.prichal.ru", "tag": "1.4.2", "target": "prichal-db-drill"}
    if target_time:
        values["target_time"] = target_time
    document = yaml.safe_load(jinja2.Template(source, undefined=jinja2.StrictUndefined).render(values))
    key = f"{document['apiVersion']}/{document['kind']}"
    if document["apiVersion"] in CORE_GROUPS:
        kubernetes_validate.validate(document, KUBERNETES, strict=True)
    else:
        assert [e.message for e in crd_schemas[key].iter_errors(document)] == []
    if document["kind"] == "Cluster":
        assert not document["spec"].get("plugins"), "a restored copy must not archive into production's WAL archive"
        assert ("recoveryTarget" in document["spec"]["bootstrap"]["recovery"]) == bool(target_time)


def test_the_vendored_schemas_refuse_what_they_should(crd_schemas: dict[str, Draft202012Validator]) -> None:
    """The schemas are strict: a misspelt field or a wrong enum is an error."""
    trigger = next(d for _, d in MANIFESTS if d["kind"] == "Trigger")
    assert not list(crd_schemas["eventing.knative.dev/v1/Trigger"].iter_errors(trigger))
    misspelt = copy.deepcopy(trigger)
    misspelt["spec"]["delivery"]["backofPolicy"] = "exponential"
    assert list(crd_schemas["eventing.knative.dev/v1/Trigger"].iter_errors(misspelt))
    backup = next(d for _, d in MANIFESTS if d["kind"] == "ScheduledBackup")
    wrong = copy.deepcopy(backup)
    del wrong["spec"]["pluginConfiguration"]
    assert list(crd_schemas["postgresql.cnpg.io/v1/ScheduledBackup"].iter_errors(wrong))


def test_the_functions_database_login_is_not_a_superuser_and_cannot_bypass_rls() -> None:
    cluster = next(d for _, d in MANIFESTS if d["kind"] == "Cluster")
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    login = roles["prichal_fn"]
    assert login["login"] is True and login["superuser"] is False and login["bypassrls"] is False
    assert "prichal_app" in login["inRoles"]
    assert cluster["spec"]["instances"] == 3 and cluster["spec"]["postgresql"]["synchronous"]["number"] >= 1
    assert any(p.get("isWALArchiver") for p in cluster["spec"]["plugins"])


def _promtool() -> str:
    found = shutil.which("promtool") or (str(ROOT / ".venv" / "bin" / "promtool")
                                         if (ROOT / ".venv" / "bin" / "promtool").exists() else None)
    assert found, "promtool is missing: scripts/deploy-tools.sh installs it (make venv runs it)"
    return found


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run([_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = subprocess.run([_promtool(), "test", "rules", str(PROMTOOL_TESTS)], capture_output=True, text=True,
                            timeout=120, cwd=PROMTOOL_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def alerts() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def test_every_alert_has_a_firing_and_a_quiet_test_and_a_runbook_entry() -> None:
    cases = yaml.safe_load(PROMTOOL_TESTS.read_text())["tests"]
    fired, quiet = set(), set()
    for case in cases:
        for check in case["alert_rule_test"]:
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = alerts()
    assert names and len(names) == len(set(names))
    assert set(names) - fired == set(), "alerts without a test that fires them"
    assert set(names) - quiet == set(), "alerts without a test that stays quiet"
    assert fired | quiet <= set(names), "tests of alerts that do not exist"
    runbook = OPERATIONS.read_text()
    headings = set(re.findall(r"^#### (Prichal\w+)$", runbook, re.M))
    assert set(names) - headings == set(), "alerts without a runbook entry in docs/operations.md"
    for rule in (r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r):
        assert rule["annotations"]["runbook_url"].endswith("#" + rule["alert"].lower())


def test_alerts_use_only_metrics_someone_exports() -> None:
    """prichal_* from the code; cnpg_prichal_* from our custom queries; the rest from operators."""
    code = "\n".join(p.read_text() for p in (ROOT / "shared" / "prichal").rglob("*.py"))
    queries = (K3S / "platform" / "postgres" / "monitoring-queries.yaml").read_text()
    text = RULES.read_text()
    for metric in set(re.findall(r"\b(prichal_[a-z_]+?)(?:_bucket|_count|_sum)?\b(?=[{\[(\s])", text)):
        assert f'"{metric}"' in code, f"{metric} is not exported by the code"
    for query, column in re.findall(r"\bcnpg_(prichal_[a-z]+)_([a-z_]+)\b", text):
        assert f"{query}:" in queries and f"- {column}:" in queries, f"cnpg_{query}_{column} has no custom query"


def test_alert_and_dashboard_metrics_are_recognised() -> None:
    """The metric check above really reads the names (it would pass on an empty match)."""
    text = RULES.read_text()
    found = set(re.findall(r"\b(prichal_[a-z_]+?)(?:_bucket|_count|_sum)?\b(?=[{\[(\s])", text))
    assert {"prichal_requests_total", "prichal_request_seconds"} <= found


def test_dashboards_are_grafana_json_on_exported_metrics() -> None:
    import json

    code = "\n".join(p.read_text() for p in (ROOT / "shared" / "prichal").rglob("*.py"))
    queries = (K3S / "platform" / "postgres" / "monitoring-queries.yaml").read_text()
    recorded = set(re.findall(r"record: (\S+)", RULES.read_text()))
    folder = K3S / "platform" / "monitoring" / "dashboards"
    listed = yaml.safe_load((K3S / "platform" / "monitoring" / "kustomization.yaml").read_text())
    generator = next(g for g in listed["configMapGenerator"] if g["name"] == "prichal-dashboards")
    files = {Path(f).name for f in generator["files"]}
    assert files == {p.name for p in folder.glob("*.json")}
    wanted = {"sales", "holds", "checkout-funnel", "payments", "documents", "crm-slo"}
    assert {f"{name}.json" for name in wanted} <= files
    uids = set()
    for path in sorted(folder.glob("*.json")):
        board = json.loads(path.read_text())
        assert board["uid"] not in uids and board["title"].startswith("Prichal")
        uids.add(board["uid"])
        assert board["panels"], path.name
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for metric in re.findall(r"\b(prichal_[a-z_]+?)(?:_bucket|_count|_sum)?\b(?=[{\[(\s)])", expr):
                    assert f'"{metric}"' in code, f"{path.name}: {metric} is not exported by the code"
                for query, column in re.findall(r"\bcnpg_(prichal_[a-z]+)_([a-z_]+)\b", expr):
                    assert f"{query}:" in queries and f"- {column}:" in queries, f"{path.name}: cnpg_{query}_{column}"
                for rule in re.findall(r"\bprichal:[a-z_:0-9]+", expr):
                    assert rule in recorded, f"{path.name}: {rule} is not a recording rule"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed")
@pytest.mark.parametrize("folder", ["overlays/stage", "overlays/prod", "platform", "operators"])
def test_what_kustomize_builds_is_valid_too(folder: str, crd_schemas: dict[str, Draft202012Validator]) -> None:
    """After namespaces, images and the overlays' patches: still valid, nothing unknown."""
    built = subprocess.run(["kubectl", "kustomize", str(K3S / folder)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    problems = []
    for document in (d for d in yaml.safe_load_all(built.stdout) if d):
        name = f"{document['kind']}/{document['metadata']['name']}"
        if document["apiVersion"] in CORE_GROUPS:
            try:
                kubernetes_validate.validate(document, KUBERNETES, strict=True)
            except kubernetes_validate.ValidationError as exc:
                problems.append(f"{name}: {exc}")
            continue
        key = f"{document['apiVersion']}/{document['kind']}"
        if key not in crd_schemas:
            problems.append(f"{name}: no schema for {key}")
            continue
        problems += [f"{name}: {e.message}" for e in crd_schemas[key].iter_errors(document)]
    assert problems == []
