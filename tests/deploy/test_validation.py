"""Offline validation of everything under k3s/ (no cluster here).

- yamllint over k3s/, ansible/ and the promtool tests;
- every Kubernetes core resource against the Kubernetes 1.31 schemas in strict mode
  (kubernetes-validate), Knative Services' pod templates included (as Pods);
- every custom resource against the schema of its kind in k3s/schemas (k3s/schemas/README.md):
  the operator's own CRD schema where scripts/vendor_crd_schemas.py has vendored it, read
  with Kubernetes' structural-schema rules and CEL (tests/deploy/crd_schemas.py), else the
  hand-written one of crds.schema.yaml; unknown fields refused, no custom resource without
  a schema, a misspelt field per kind refused, vendored schemas following the versions we
  install;
- Knative's ConfigMaps set only keys Knative knows, and the Services use only the pod
  fields whose feature flags are on;
- promtool check rules / test rules, with one firing and one quiet test per alert and a
  runbook entry per alert in docs/operations.md.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.deploy.crd_schemas import CrdValidator, index, translate, validators

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
def crd_schemas() -> dict[str, CrdValidator]:
    return validators()


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
                                                       crd_schemas: dict[str, CrdValidator]) -> None:
    document = item[1]
    key = f"{document['apiVersion']}/{document['kind']}"
    assert key in crd_schemas, f"no schema for {key} in k3s/schemas (scripts/vendor_crd_schemas.py)"
    assert crd_schemas[key].errors(document) == []
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
                                           crd_schemas: dict[str, CrdValidator]) -> None:
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
        assert crd_schemas[key].errors(document) == []
    if document["kind"] == "Cluster":
        assert not document["spec"].get("plugins"), "a restored copy must not archive into production's WAL archive"
        assert ("recoveryTarget" in document["spec"]["bootstrap"]["recovery"]) == bool(target_time)


# A misspelt field deep in each kind we use: what kubectl's strict field validation (or
# Knative's webhook) refuses on the cluster must fail here.
MISSPELT = {
    "eventing.knative.dev/v1/Trigger": (("spec", "delivery"), "backoffPolicy", "backofPolicy"),
    "eventing.knative.dev/v1/Broker": (("spec", "config"), "kind", "kimd"),
    "serving.knative.dev/v1/Service": (("spec", "template"), "metadata", "metdata"),
    "sources.knative.dev/v1/PingSource": (("spec",), "schedule", "shedule"),
    "sources.knative.dev/v1alpha1/RabbitmqSource": (("spec", "rabbitmqResourcesConfig"), "parallelism",
                                                    "paralelism"),
    "eventing.knative.dev/v1alpha1/RabbitmqBrokerConfig": (("spec",), "queueType", "queuetype"),
    "rabbitmq.com/v1beta1/RabbitmqCluster": (("spec",), "replicas", "replica"),
    "rabbitmq.com/v1beta1/Queue": (("spec",), "durable", "durabel"),
    "rabbitmq.com/v1beta1/Exchange": (("spec", "rabbitmqClusterReference"), "namespace", "namepsace"),
    "rabbitmq.com/v1beta1/Binding": (("spec",), "routingKey", "routingkey"),
    "rabbitmq.com/v1beta1/User": (("spec",), "rabbitmqClusterReference", "rabbitMQClusterReference"),
    "rabbitmq.com/v1beta1/Permission": (("spec", "permissions"), "configure", "configur"),
    "postgresql.cnpg.io/v1/Cluster": (("spec", "postgresql", "synchronous"), "number", "numbr"),
    "postgresql.cnpg.io/v1/Pooler": (("spec", "pgbouncer"), "poolMode", "poolmode"),
    "postgresql.cnpg.io/v1/ScheduledBackup": (("spec",), "backupOwnerReference", "backupOwnerRef"),
    "barmancloud.cnpg.io/v1/ObjectStore": (("spec", "configuration"), "destinationPath", "destinationpath"),
    "cert-manager.io/v1/Certificate": (("spec",), "dnsNames", "dnsName"),
    "cert-manager.io/v1/ClusterIssuer": (("spec", "acme"), "privateKeySecretRef", "privateKeyRef"),
    "traefik.io/v1alpha1/IngressRoute": (("spec", "routes", 0), "match", "mach"),
    "traefik.io/v1alpha1/Middleware": (("spec",), None, "headerz"),
    "helm.cattle.io/v1/HelmChart": (("spec",), "targetNamespace", "targetNamspace"),
    "helm.cattle.io/v1/HelmChartConfig": (("spec",), "valuesContent", "valueContent"),
    "monitoring.coreos.com/v1/PodMonitor": (("spec", "podMetricsEndpoints", 0), "path", "paht"),
    "monitoring.coreos.com/v1/PrometheusRule": (("spec", "groups", 0), "rules", "rulez"),
}


def test_every_kind_used_has_a_misspelling_case() -> None:
    used = {f"{d['apiVersion']}/{d['kind']}" for _, d in MANIFESTS if d["apiVersion"] not in CORE_GROUPS}
    assert used <= set(MISSPELT), f"add a case to MISSPELT for {used - set(MISSPELT)}"


@pytest.mark.parametrize("key", sorted(MISSPELT))
def test_a_misspelt_field_is_refused(key: str, crd_schemas: dict[str, CrdValidator]) -> None:
    path, right, wrong = MISSPELT[key]
    document = copy.deepcopy(next(d for _, d in MANIFESTS if f"{d['apiVersion']}/{d['kind']}" == key))
    assert crd_schemas[key].errors(document) == []
    node = document
    for step in path:
        node = node[step]
    if right is None:
        node[wrong] = {}
    else:
        assert right in node, f"{key}: the manifest has no {'/'.join(map(str, path))}/{right} any more"
        node[wrong] = node.pop(right)
    errors = crd_schemas[key].errors(document)
    assert any(wrong in error for error in errors), errors


def test_a_wrong_type_or_value_is_refused(crd_schemas: dict[str, CrdValidator]) -> None:
    cluster = copy.deepcopy(next(d for _, d in MANIFESTS if d["kind"] == "Cluster"))
    cluster["spec"]["instances"] = "three"
    cluster["spec"]["primaryUpdateStrategy"] = "sometimes"
    errors = crd_schemas["postgresql.cnpg.io/v1/Cluster"].errors(cluster)
    assert any("instances" in e for e in errors) and any("primaryUpdateStrategy" in e for e in errors), errors
    queue = copy.deepcopy(next(d for _, d in MANIFESTS if d["kind"] == "Queue"))
    queue["metadata"]["labelz"] = {}
    assert crd_schemas["rabbitmq.com/v1beta1/Queue"].errors(queue)


def test_the_crds_cel_rules_are_evaluated() -> None:
    """x-kubernetes-validations of a vendored CRD schema (the form CloudNativePG uses)."""
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "x-kubernetes-validations": [
            {"rule": "!(has(self.imageCatalogRef) && has(self.imageName))", "message": "mutually exclusive"}],
        "properties": {"imageName": {"type": "string"},
                       "imageCatalogRef": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                       "number": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0"}]}}}}}
    validator = CrdValidator("x.io/v1", "X", schema)
    document = {"apiVersion": "x.io/v1", "kind": "X", "metadata": {"name": "x"},
                "spec": {"imageName": "pg", "number": 1}}
    assert validator.errors(document) == []
    both = document | {"spec": {"imageName": "pg", "imageCatalogRef": {"name": "c"}, "number": 0}}
    errors = validator.errors(both)
    assert any("mutually exclusive" in e for e in errors) and any("self > 0" in e for e in errors), errors


def test_the_structural_schema_rules() -> None:
    """preserve-unknown-fields, int-or-string, nullable, OpenAPI's exclusive bounds, maps."""
    from jsonschema import Draft202012Validator

    def ok(schema: dict[str, Any], value: Any, strict_webhook: bool = False) -> bool:
        return Draft202012Validator(translate(schema, strict_webhook)).is_valid(value)

    closed = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert ok(closed, {"a": "x"}) and not ok(closed, {"b": "x"})
    assert not ok({"type": "object"}, {"b": 1}), "an object without properties keeps nothing"
    assert ok({"type": "object", "x-kubernetes-preserve-unknown-fields": True}, {"b": {"c": 1}})
    assert ok(closed | {"x-kubernetes-preserve-unknown-fields": True}, {"b": 1})
    assert not ok(closed | {"x-kubernetes-preserve-unknown-fields": True}, {"b": 1}, strict_webhook=True)
    assert ok({"type": "object", "additionalProperties": {"type": "string"}}, {"any": "x"})
    port = {"x-kubernetes-int-or-string": True}
    assert ok(port, 8080) and ok(port, "http") and not ok(port, 1.5) and not ok(port, None)
    assert ok({"type": "string", "nullable": True}, None) and not ok({"type": "string"}, None)
    assert not ok({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, 0)
    assert ok({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, 1)
    assert ok({"type": "string", "pattern": "^(?i)(abort|warn)?$"}, "ABORT")
    assert not ok({"anyOf": [{"required": ["a"]}, {"required": ["b"]}], "type": "object",
                   "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}, {})
    listed = CrdValidator("x.io/v1", "X", {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}}})
    document = {"apiVersion": "x.io/v1", "kind": "X", "metadata": {"name": "x"},
                "spec": {"items": [{"name": "a"}, {"name": "a"}]}}
    assert listed.errors(document) and not listed.errors(document | {"spec": {"items": [{"name": "a"}]}})


def test_the_vendored_schemas_are_the_listed_upstream_files() -> None:
    """sources.json names every file in k3s/schemas, with the project, tag and path it came from."""
    entries = index()
    files = {p.relative_to(K3S / "schemas").as_posix() for p in (K3S / "schemas").glob("*/*.json")}
    assert files == {e["file"] for e in entries}
    readme = (K3S / "schemas" / "README.md").read_text()
    for entry in entries:
        assert entry["tag"] and entry["repository"] and entry["path"] and len(entry["sha256"]) == 64
        assert f"`{entry['file']}`" in readme
        schema = json.loads((K3S / "schemas" / entry["file"]).read_text())
        assert schema["type"] == "object" and "spec" in schema["properties"], entry["file"]


def _pinned(file: str, key: str) -> str:
    """The version the repository installs: a group_vars/inventory variable or a chart's version."""
    text = (ROOT / file).read_text()
    if file == "k3s/operators/charts.yaml":
        charts = [d for d in yaml.safe_load_all(text) if d]
        return next(str(c["spec"]["version"]) for c in charts if c["spec"].get("chart") == key)
    found = re.search(rf"^\s*{re.escape(key)}:\s*\"?([^\"\s]+)\"?\s*$", text, re.M)
    assert found, f"{key} is not set in {file}"
    return found.group(1)


def test_the_vendored_schemas_follow_the_versions_we_install() -> None:
    """Bump an operator (group_vars, charts.yaml, k3s_version) and this fails until
    scripts/vendor_crd_schemas.py has vendored the schemas of the new release."""
    for entry in index():
        file, key, value = entry["pin"]
        assert _pinned(file, key) == value, (
            f"{entry['kind']}: {file} {key} is {_pinned(file, key)}, the schema is of {value} ({entry['tag']}):"
            " change the tag in scripts/vendor_crd_schemas.py and run it")


# The keys Knative 1.19 reads from the ConfigMaps we set (their `_example` blocks in the
# serving, networking and eventing releases), with the defaults of the feature flags.
# Knative ignores an unknown key, so a misspelt flag would silently stay at its default.
KNATIVE_SERVING_FEATURES = {
    "kubernetes.podspec-affinity": "disabled", "kubernetes.podspec-topologyspreadconstraints": "disabled",
    "kubernetes.podspec-hostaliases": "disabled", "kubernetes.podspec-nodeselector": "disabled",
    "kubernetes.podspec-tolerations": "disabled", "kubernetes.podspec-fieldref": "disabled",
    "kubernetes.podspec-runtimeclassname": "disabled", "kubernetes.podspec-dnspolicy": "disabled",
    "kubernetes.podspec-dnsconfig": "disabled", "kubernetes.podspec-securitycontext": "disabled",
    "kubernetes.podspec-shareprocessnamespace": "disabled", "kubernetes.podspec-hostipc": "disabled",
    "kubernetes.podspec-hostpid": "disabled", "kubernetes.podspec-hostnetwork": "disabled",
    "kubernetes.podspec-priorityclassname": "disabled", "kubernetes.podspec-schedulername": "disabled",
    "kubernetes.containerspec-addcapabilities": "disabled", "kubernetes.podspec-dryrun": "allowed",
    "kubernetes.podspec-volumes-emptydir": "enabled", "kubernetes.podspec-volumes-image": "disabled",
    "kubernetes.podspec-volumes-hostpath": "disabled", "kubernetes.podspec-volumes-csi": "disabled",
    "kubernetes.podspec-init-containers": "disabled", "kubernetes.podspec-persistent-volume-claim": "disabled",
    "kubernetes.podspec-persistent-volume-write": "disabled",
    "kubernetes.podspec-volumes-mount-propagation": "disabled", "multi-container": "enabled",
    "multi-container-probing": "disabled", "queueproxy.mount-podinfo": "disabled",
    "queueproxy.resource-defaults": "disabled", "secure-pod-defaults": "disabled",
    "tag-header-based-routing": "disabled", "autodetect-http2": "disabled",
}
KNATIVE_CONFIGMAP_KEYS = {
    "knative-serving/config-features": set(KNATIVE_SERVING_FEATURES),
    "knative-serving/config-network": {
        "ingress-class", "certificate-class", "namespace-wildcard-cert-selector", "domain-template",
        "tag-template", "auto-tls", "external-domain-tls", "cluster-local-domain-tls", "internal-encryption",
        "system-internal-tls", "http-protocol", "rollout-duration", "autocreate-cluster-domain-claims",
        "enable-mesh-pod-addressability", "mesh-compatibility-mode", "default-external-scheme"},
    "knative-eventing/config-features": {
        "kreference-group", "delivery-retryafter", "delivery-timeout", "kreference-mapping",
        "transport-encryption", "eventtype-auto-create", "authentication-oidc", "default-authorization-mode",
        "cross-namespace-event-links", "new-apiserversource-filters"},
}


def test_knative_configmaps_set_only_keys_knative_knows() -> None:
    checked = 0
    for path, document in MANIFESTS:
        if document["kind"] != "ConfigMap":
            continue
        name = f"{document['metadata'].get('namespace')}/{document['metadata']['name']}"
        if name in KNATIVE_CONFIGMAP_KEYS:
            checked += 1
            unknown = set(document.get("data", {})) - KNATIVE_CONFIGMAP_KEYS[name]
            assert unknown == set(), f"{path.relative_to(K3S)} {name}: unknown keys {sorted(unknown)}"
    assert checked == len(KNATIVE_CONFIGMAP_KEYS)


# Pod template fields Knative Serving refuses unless a config-features flag enables them
# (knative/serving pkg/apis/serving/fieldmask.go; the CRD leaves these nodes free-form).
GATED_POD_FIELDS = {
    ("affinity",): "kubernetes.podspec-affinity",
    ("securityContext",): "kubernetes.podspec-securitycontext",
    ("tolerations",): "kubernetes.podspec-tolerations",
    ("topologySpreadConstraints",): "kubernetes.podspec-topologyspreadconstraints",
    ("nodeSelector",): "kubernetes.podspec-nodeselector",
    ("hostAliases",): "kubernetes.podspec-hostaliases",
    ("dnsConfig",): "kubernetes.podspec-dnsconfig",
    ("dnsPolicy",): "kubernetes.podspec-dnspolicy",
    ("initContainers",): "kubernetes.podspec-init-containers",
    ("runtimeClassName",): "kubernetes.podspec-runtimeclassname",
    ("priorityClassName",): "kubernetes.podspec-priorityclassname",
    ("schedulerName",): "kubernetes.podspec-schedulername",
    ("volumes", "emptyDir"): "kubernetes.podspec-volumes-emptydir",
    ("volumes", "hostPath"): "kubernetes.podspec-volumes-hostpath",
    ("volumes", "csi"): "kubernetes.podspec-volumes-csi",
    ("volumes", "image"): "kubernetes.podspec-volumes-image",
    ("volumes", "persistentVolumeClaim"): "kubernetes.podspec-persistent-volume-claim",
}


def test_knative_services_use_only_pod_fields_whose_flags_are_enabled() -> None:
    flags = dict(KNATIVE_SERVING_FEATURES)
    for _, document in MANIFESTS:
        if document["kind"] == "ConfigMap" and document["metadata"]["name"] == "config-features" \
                and document["metadata"].get("namespace") == "knative-serving":
            flags |= document["data"]
    used = set()
    for _, service in (m for m in MANIFESTS if m[1]["apiVersion"] == "serving.knative.dev/v1"):
        pod = service["spec"]["template"]["spec"]
        for path, flag in GATED_POD_FIELDS.items():
            if path[0] in pod and (len(path) == 1 or any(path[1] in v for v in pod[path[0]])):
                used.add(path)
                assert flags[flag] == "enabled", f"{service['metadata']['name']} sets {'/'.join(path)}: {flag} is off"
        for container in pod["containers"]:
            for env in container.get("env", []):
                if {"fieldRef", "resourceFieldRef"} & set(env.get("valueFrom", {})):
                    assert flags["kubernetes.podspec-fieldref"] == "enabled", service["metadata"]["name"]
    assert ("securityContext",) in used, "the check reads the pod templates"


def test_our_own_rules_on_top_of_the_schemas() -> None:
    """What the upstream schemas allow but this deployment relies on."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for _, document in MANIFESTS:
        by_kind.setdefault(document["kind"], []).append(document)
    for broker in by_kind["Broker"]:
        assert broker["metadata"]["annotations"]["eventing.knative.dev/broker.class"] == "RabbitMQBroker"
    assert all(q["spec"]["type"] == "quorum" for q in by_kind["Queue"])
    assert all(c["spec"]["queueType"] == "quorum" for c in by_kind["RabbitmqBrokerConfig"])
    for backup in by_kind["ScheduledBackup"]:
        assert backup["spec"]["method"] == "plugin"
        assert backup["spec"]["pluginConfiguration"]["name"] == "barman-cloud.cloudnative-pg.io"
    brokers = {b["metadata"]["name"] for b in by_kind["Broker"]}
    for trigger in by_kind["Trigger"]:
        assert trigger["spec"]["broker"] in brokers
        parallelism = trigger["metadata"].get("annotations", {}).get("rabbitmq.eventing.knative.dev/parallelism", "1")
        assert re.fullmatch(r"[1-9][0-9]*", parallelism), trigger["metadata"]["name"]
    for chart in by_kind["HelmChart"]:
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", chart["spec"]["version"]), chart["metadata"]["name"]
        assert chart["spec"]["repo"].startswith("https://"), chart["metadata"]["name"]
    for store in by_kind["ObjectStore"]:
        assert store["spec"]["configuration"]["destinationPath"].startswith("s3://")
    for issuer in by_kind["ClusterIssuer"]:
        assert issuer["spec"]["acme"]["server"].startswith("https://")
    for certificate in by_kind["Certificate"]:
        assert certificate["spec"]["issuerRef"]["kind"] == "ClusterIssuer"
        assert certificate["spec"]["issuerRef"]["name"] in {i["metadata"]["name"] for i in by_kind["ClusterIssuer"]}


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
def test_what_kustomize_builds_is_valid_too(folder: str, crd_schemas: dict[str, CrdValidator]) -> None:
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
        problems += [f"{name}: {error}" for error in crd_schemas[key].errors(document)]
    assert problems == []
