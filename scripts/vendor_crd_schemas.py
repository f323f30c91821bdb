#!/usr/bin/env python3
"""Refresh the vendored CRD validation schemas in k3s/schemas/ from the operators' own CRDs.

For every custom resource kind k3s/ uses, SOURCES names the upstream project, the release
tag we install (ansible/inventory/group_vars/all.yml, k3s/operators/charts.yaml, the k3s
release for Traefik and the helm-controller) and the CRD file in that release. The script
reads each CRD, takes the `openAPIV3Schema` of the version we use and writes it unchanged to
k3s/schemas/<group>/<kind>_<version>.json; k3s/schemas/sources.json records where each came
from (with the sha256 of the upstream file) and the README's table is rewritten from it.

Where the CRDs come from:
- default: the release tag's file over HTTPS from the project's public repository;
- `--git-dir-pattern '/path/{owner}+{name}/repo'`: local git clones (bare or not), read with
  `git show <tag>:<path>`, for a machine that reaches no code host.

A kind with a vendored schema is validated against it; every other kind falls back to its
hand-written schema in k3s/schemas/crds.schema.yaml (tests/deploy/crd_schemas.py).

After an operator upgrade: change its tag below, run the script, read the schema diff, run
tests/deploy/test_validation.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "k3s" / "schemas"
README = SCHEMAS / "README.md"
BEGIN, END = "<!-- BEGIN sources (scripts/vendor_crd_schemas.py) -->", "<!-- END sources -->"


@dataclass(frozen=True)
class Source:
    project: str
    repo: str  # owner/name of the upstream repository
    tag: str
    path: str  # the CRD file in that release
    version: str  # the API version k3s/ uses
    why: str  # how the tag follows from what we install
    pin: tuple[str, str, str]  # (file, key, value) of the pin this tag follows; a test compares


GROUP_VARS = "ansible/inventory/group_vars/all.yml"
CHARTS = "k3s/operators/charts.yaml"
K3S_VERSION = ("ansible/inventory/example.yml", "k3s_version", "v1.31.12+k3s1")


KNATIVE = "1.19.0 (group_vars knative_version)"
KNATIVE_PIN = (GROUP_VARS, "knative_version", "1.19.0")
RABBITMQ_EVENTING = "1.19.0 (group_vars eventing_rabbitmq_version)"
RABBITMQ_EVENTING_PIN = (GROUP_VARS, "eventing_rabbitmq_version", "1.19.0")
SOURCES: tuple[Source, ...] = (
    Source("Knative Serving", "knative/serving", "knative-v1.19.0", "config/core/300-resources/service.yaml",
           "v1", KNATIVE, KNATIVE_PIN),
    Source("Knative Eventing", "knative/eventing", "knative-v1.19.0", "config/core/resources/broker.yaml",
           "v1", KNATIVE, KNATIVE_PIN),
    Source("Knative Eventing", "knative/eventing", "knative-v1.19.0", "config/core/resources/trigger.yaml",
           "v1", KNATIVE, KNATIVE_PIN),
    Source("Knative Eventing", "knative/eventing", "knative-v1.19.0", "config/core/resources/pingsource.yaml",
           "v1", KNATIVE, KNATIVE_PIN),
    Source("eventing-rabbitmq", "knative-extensions/eventing-rabbitmq", "knative-v1.19.0",
           "config/source/300-rabbitmqsource.yaml", "v1alpha1", RABBITMQ_EVENTING, RABBITMQ_EVENTING_PIN),
    Source("eventing-rabbitmq", "knative-extensions/eventing-rabbitmq", "knative-v1.19.0",
           "config/broker/300-rabbitmqbrokerconfig.yaml", "v1alpha1",
           RABBITMQ_EVENTING, RABBITMQ_EVENTING_PIN),
    Source("RabbitMQ Cluster Operator", "rabbitmq/cluster-operator", "v2.16.0",
           "config/crd/bases/rabbitmq.com_rabbitmqclusters.yaml", "v1beta1",
           "2.16.0 (group_vars rabbitmq_cluster_operator_version)",
           (GROUP_VARS, "rabbitmq_cluster_operator_version", "2.16.0")),
    *(Source("RabbitMQ Messaging Topology Operator", "rabbitmq/messaging-topology-operator", "v1.17.3",
             f"config/crd/bases/rabbitmq.com_{plural}.yaml", "v1beta1",
             "1.17.3 (group_vars messaging_topology_operator_version)",
             (GROUP_VARS, "messaging_topology_operator_version", "1.17.3"))
      for plural in ("exchanges", "queues", "bindings", "permissions", "users")),
    *(Source("CloudNativePG", "cloudnative-pg/cloudnative-pg", "v1.27.0",
             f"config/crd/bases/postgresql.cnpg.io_{plural}.yaml", "v1",
             "1.27.0 (the cloudnative-pg chart 0.26.0 in k3s/operators/charts.yaml)",
             (CHARTS, "cloudnative-pg", "0.26.0"))
      for plural in ("clusters", "poolers", "scheduledbackups")),
    Source("Barman Cloud CNPG-I plugin", "cloudnative-pg/plugin-barman-cloud", "v0.7.0",
           "config/crd/bases/barmancloud.cnpg.io_objectstores.yaml", "v1",
           "0.7.0 (group_vars barman_cloud_plugin_version)", (GROUP_VARS, "barman_cloud_plugin_version", "0.7.0")),
    *(Source("cert-manager", "cert-manager/cert-manager", "v1.18.2", f"deploy/crds/crd-{plural}.yaml", "v1",
             "1.18.2 (group_vars cert_manager_version)", (GROUP_VARS, "cert_manager_version", "1.18.2"))
      for plural in ("certificates", "clusterissuers")),
    *(Source("Traefik Proxy (Helm chart CRDs)", "traefik/traefik-helm-chart", "v27.0.2",
             f"traefik/crds/traefik.io_{plural}.yaml", "v1alpha1",
             "chart 27.0.2 (Traefik 2.11), what k3s v1.31 installs as traefik-crd 27.0.201+up27.0.2 "
             "(k3s_version v1.31.12+k3s1 in the inventory; k3s moved to Traefik v3 with v1.32)", K3S_VERSION)
      for plural in ("ingressroutes", "middlewares")),
    *(Source("k3s helm-controller", "k3s-io/helm-controller", "v0.16.13",
             f"pkg/crds/yaml/generated/helm.cattle.io_{plural}.yaml", "v1",
             "0.16.13, the helm-controller of k3s v1.31.12 (the v0.16 line k3s 1.31 vendors)", K3S_VERSION)
      for plural in ("helmcharts", "helmchartconfigs")),
    *(Source("Prometheus Operator", "prometheus-operator/prometheus-operator", "v0.85.0",
             f"example/prometheus-operator-crd/monitoring.coreos.com_{plural}.yaml", "v1",
             "0.85.0, the operator of the kube-prometheus-stack chart 77.5.0 (k3s/operators/charts.yaml)",
             (CHARTS, "kube-prometheus-stack", "77.5.0"))
      for plural in ("podmonitors", "prometheusrules")),
)


def read_upstream(source: Source, git_dir_pattern: str | None) -> bytes:
    owner, name = source.repo.split("/")
    if git_dir_pattern:
        git_dir = git_dir_pattern.format(owner=owner, name=name)
        git = shutil.which("git") or "git"
        return subprocess.run([git, "--git-dir", git_dir, "show", f"{source.tag}:{source.path}"],
                              check=True, capture_output=True).stdout
    url = f"https://raw.githubusercontent.com/{source.repo}/{source.tag}/{source.path}"
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def crd_schema(text: bytes, version: str) -> tuple[str, str, dict[str, Any]]:
    """(group, kind, openAPIV3Schema of `version`) of the one CRD in the file.

    cert-manager's files are Helm templates: the template directives sit in comments and
    quoted strings, so the YAML parses as it is; only the schema is kept.
    """
    crds = [d for d in yaml.safe_load_all(text) if d and d.get("kind") == "CustomResourceDefinition"]
    if len(crds) != 1:
        raise ValueError(f"expected one CustomResourceDefinition, found {len(crds)}")
    spec = crds[0]["spec"]
    for served in spec["versions"]:
        if served["name"] == version:
            if not served.get("served", True):
                raise ValueError(f"{spec['names']['kind']} {version} is not served")
            return spec["group"], spec["names"]["kind"], served["schema"]["openAPIV3Schema"]
    raise ValueError(f"{spec['names']['kind']} has no version {version}")


def readme_table(index: list[dict[str, str]]) -> str:
    lines = [BEGIN, "", "| apiVersion / kind | file | upstream project | version | from |", "|---|---|---|---|---|"]
    for entry in index:
        lines.append(f"| `{entry['apiVersion']}` `{entry['kind']}` | `{entry['file']}` | {entry['project']} | "
                     f"{entry['why']} | `{entry['repository']}` at `{entry['tag']}`: "
                     f"`{entry['path']}` |")
    return "\n".join([*lines, "", END])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-dir-pattern", help="read CRDs from local clones, e.g. '/src/{owner}+{name}/repo'")
    args = parser.parse_args(argv)
    index = []
    written = set()
    for source in SOURCES:
        text = read_upstream(source, args.git_dir_pattern)
        group, kind, schema = crd_schema(text, source.version)
        file = Path(group) / f"{kind}_{source.version}.json"
        (SCHEMAS / group).mkdir(parents=True, exist_ok=True)
        (SCHEMAS / file).write_text(json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        written.add(file.as_posix())
        index.append({"apiVersion": f"{group}/{source.version}", "kind": kind, "file": file.as_posix(),
                      "project": source.project, "repository": source.repo, "tag": source.tag,
                      "path": source.path, "why": source.why, "pin": list(source.pin),
                      "sha256": hashlib.sha256(text).hexdigest()})
        print(f"{group}/{source.version} {kind}: {source.repo}@{source.tag}:{source.path}")
    for stale in SCHEMAS.glob("*/*.json"):
        if stale.relative_to(SCHEMAS).as_posix() not in written:
            stale.unlink()
            print(f"removed {stale.relative_to(ROOT)}")
    (SCHEMAS / "sources.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n")
    readme = README.read_text() if README.exists() else f"# Vendored CRD schemas\n\n{BEGIN}\n{END}\n"
    readme = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: readme_table(index), readme, flags=re.S)
    README.write_text(readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
