"""k3s/ is generated from stack.yml by scripts/gen_k3s.py: round trip, completeness, secrets.

The committed manifests must be exactly what the generator writes today (so stack.yml and
the cluster never disagree); every function and trigger of stack.yml is there; the secrets
mounted are the ones the code reads; the sandbox never reaches production.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from prichal.config import Settings

ROOT = Path(__file__).resolve().parents[2]
K3S = ROOT / "k3s"
# Secrets that are no setting: bundles of per-tenant keys the code looks up by name with
# prichal.config.read_secret (a tenant's YooKassa key; the boat operators' keys).
BUNDLES = {"yookassa-keys", "supplier-keys"}


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_k3s", ROOT / "scripts" / "gen_k3s.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_k3s"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def all_documents(folder: Path) -> list[dict[str, Any]]:
    return [d for path in sorted(folder.rglob("*.yaml")) for d in documents(path)]


@pytest.fixture(scope="module")
def stack() -> dict[str, gen.Function]:
    return gen.load_functions(ROOT / "stack.yml")


@pytest.fixture(scope="module")
def production(stack: dict[str, gen.Function]) -> dict[str, gen.Function]:
    sandbox = gen.load_functions(ROOT / "stack.sandbox.yml")
    return {n: f for n, f in stack.items() if n not in sandbox and n not in gen.SANDBOX_FUNCTIONS}


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return all_documents(K3S / "base" / "functions")


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_regenerating_into_a_temporary_folder_gives_the_committed_files(tmp_path: Path) -> None:
    assert gen.main(["--out", str(tmp_path)]) == 0
    generated = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert generated, "the generator wrote nothing"
    for relative in sorted(generated):
        committed = ROOT / relative
        assert committed.is_file(), f"{relative} is generated but not committed: run scripts/gen_k3s.py"
        assert committed.read_text() == (tmp_path / relative).read_text(), \
            f"{relative} differs from the generator's output: run scripts/gen_k3s.py"
    for folder in {relative.parent for relative in generated}:
        extra = {p.relative_to(ROOT) for p in (ROOT / folder).glob("*.yaml")} - generated
        assert not extra, f"hand-made files in a generated folder: {sorted(map(str, extra))}"


def test_check_mode_notices_a_stale_manifest(tmp_path: Path) -> None:
    shutil.copytree(K3S, tmp_path / "k3s")
    for name in ("stack.yml", "stack.sandbox.yml"):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, tmp_path / name)
    assert gen.main(["--root", str(tmp_path), "--check"]) == 0
    stale = tmp_path / "k3s" / "base" / "functions" / "catalog.yaml"
    stale.write_text(stale.read_text().replace("max-scale: '20'", "max-scale: '3'"))
    assert gen.main(["--root", str(tmp_path), "--check"]) == 1
    text = (tmp_path / "stack.yml").read_text()
    (tmp_path / "stack.yml").write_text(text.replace("  hello:\n", "  hello2:\n    lang: prichal-http\n"
                                                     "    handler: ./functions/hello\n    image: x\n  hello:\n", 1))
    gen.main(["--root", str(tmp_path)])
    assert (tmp_path / "k3s" / "base" / "functions" / "hello2.yaml").is_file()


def test_a_sandbox_stack_only_adds_to_stage_and_cannot_take_a_function_from_prod(tmp_path: Path) -> None:
    shutil.copytree(K3S, tmp_path / "k3s")
    shutil.copy(ROOT / "stack.yml", tmp_path / "stack.yml")
    (tmp_path / "stack.sandbox.yml").write_text(
        "version: 1.0\nprovider: {name: openfaas}\nfunctions:\n  toy-bank:\n    lang: prichal-http\n"
        "    handler: ./functions/toy-bank\n    image: x\n    secrets: [mock-payments-secret]\n")
    assert gen.main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / "k3s" / "overlays" / "stage" / "generated" / "toy-bank.yaml").is_file()
    assert "toy-bank" not in (tmp_path / "k3s" / "overlays" / "prod" / "generated" / "edge.yaml").read_text()
    assert not (tmp_path / "k3s" / "base" / "functions" / "toy-bank.yaml").exists()
    (tmp_path / "stack.sandbox.yml").write_text(
        "version: 1.0\nprovider: {name: openfaas}\nfunctions:\n  create-order:\n    lang: prichal-http\n"
        "    handler: ./functions/create-order\n    image: x\n")
    with pytest.raises(SystemExit, match="create-order"):
        gen.main(["--root", str(tmp_path)])


def test_every_production_function_is_a_knative_service_run_by_functions_framework(
        production: dict[str, gen.Function], base: list[dict[str, Any]]) -> None:
    services = of_kind(base, "Service")
    assert set(services) == set(production)
    for name, function in production.items():
        template = services[name]["spec"]["template"]
        container = template["spec"]["containers"][0]
        assert container["args"] == ["--target", "main", "--source", f"functions/{name}/handler.py",
                                     "--signature-type", "http"]
        assert container["command"] == ["functions-framework"]
        assert container["ports"] == [{"name": "http1", "containerPort": 8080}]
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert set(container["resources"]) == {"requests", "limits"}
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        annotations = template["metadata"]["annotations"]
        assert annotations["autoscaling.knative.dev/min-scale"] == function.labels["com.openfaas.scale.min"]
        assert annotations["autoscaling.knative.dev/max-scale"] == function.labels["com.openfaas.scale.max"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["PRICHAL_ENV"] == "production"
        assert env["SECRETS_DIR"] == gen.SECRETS_DIR
        assert not any(key in env for key in gen.WATCHDOG_SETTINGS)
        assert "127.0.0.1" not in " ".join(env.values()), f"{name} points at this machine"


def test_secrets_are_files_named_after_settings_the_code_reads(base: list[dict[str, Any]]) -> None:
    fields = set(Settings.model_fields)
    for name, service in of_kind(base, "Service").items():
        spec = service["spec"]["template"]["spec"]
        mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
        assert mounts["secrets"] == gen.SECRETS_DIR
        sources = next(v for v in spec["volumes"] if v["name"] == "secrets")["projected"]["sources"]
        files = [item["path"] for s in sources for item in s["secret"]["items"]]
        assert "internal-token" in files, f"{name}: /metrics needs the internal token"
        settings = {gen.setting_of(f) for f in files if f not in BUNDLES}
        assert settings <= fields, f"{name}: no setting reads {sorted(settings - fields)}"
        env = {e["name"] for e in spec["containers"][0]["env"]}
        assert not {s.upper() for s in settings} & env, f"{name}: a credential is also in the environment"


def test_the_bundles_are_the_ones_the_code_reads() -> None:
    from prichal.adapters.payments.registry import YOOKASSA_KEYS

    documents = (ROOT / "functions" / "documents" / "handler.py").read_text()
    suppliers = (ROOT / "shared" / "prichal" / "adapters" / "suppliers" / "registry.py").read_text()
    assert YOOKASSA_KEYS in BUNDLES and 'bundle="supplier-keys"' in suppliers
    assert all(f'bundle="{b}"' in documents for b in BUNDLES - {YOOKASSA_KEYS, "supplier-keys"})
    assert "crm-token" not in documents  # staff come with staff tokens (prichal.entrypoints.staff)


def test_the_secret_mapping_matches_the_codes_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prichal.config import read_secret_files

    (tmp_path / "database-url").write_text("postgresql+psycopg://app@db/prichal\n")
    (tmp_path / "rabbitmq-url").write_text("amqp://u:p@mq/%2F\n")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("RABBITMQ_URL", raising=False)
    found = read_secret_files(str(tmp_path))
    assert found == {gen.setting_of("database-url"): "postgresql+psycopg://app@db/prichal",
                     gen.setting_of("rabbitmq-url"): "amqp://u:p@mq/%2F"}


def test_every_schedule_is_a_ping_source_and_every_topic_a_trigger(
        production: dict[str, gen.Function], base: list[dict[str, Any]]) -> None:
    pings = of_kind(base, "PingSource")
    triggers = of_kind(base, "Trigger")
    scheduled = {n: f for n, f in production.items() if f.schedule}
    assert scheduled and {p["spec"]["sink"]["ref"]["name"] for p in pings.values()} == set(scheduled)
    for ping in pings.values():
        assert ping["spec"]["schedule"] == scheduled[ping["spec"]["sink"]["ref"]["name"]].schedule
    wanted = {(n, key) for n, f in production.items() for key in f.topics}
    assert ("issue-documents", "order.paid") in wanted
    found = {(t["spec"]["subscriber"]["ref"]["name"], t["spec"]["filter"]["attributes"]["type"])
             for t in triggers.values()}
    assert found == wanted
    for trigger in triggers.values():
        delivery = trigger["spec"]["delivery"]
        assert trigger["spec"]["broker"] == gen.BROKER
        assert delivery["retry"] >= 1 and delivery["backoffPolicy"] == "exponential"
        sink = delivery["deadLetterSink"]
        assert sink["ref"]["name"] == gen.DEAD_LETTERS
        assert sink["uri"] == "/" + trigger["spec"]["subscriber"]["ref"]["name"]


def test_the_delivery_contract_is_the_local_connectors() -> None:
    from prichal_localrun.connector import ConnectorConfig

    config = ConnectorConfig()
    assert gen.RETRY + 1 == config.max_attempts
    assert gen.BACKOFF_DELAY == f"PT{config.retry_base_ms // 1000}S"


def test_internal_functions_are_cluster_local_and_never_routed_at_the_edge(
        production: dict[str, gen.Function], base: list[dict[str, Any]]) -> None:
    internal = {n for n, f in production.items() if f.internal}
    assert {"expire-holds", "outbox-relay", "issue-documents"} <= internal
    for service in of_kind(base, "Service").values():
        assert service["metadata"]["labels"]["networking.knative.dev/visibility"] == "cluster-local"
    policies = of_kind(base, "NetworkPolicy")
    assert set(policies) == {f"{n}-ingress" for n in production}
    for overlay in gen.OVERLAYS:
        edge = documents(K3S / "overlays" / overlay / "generated" / "edge.yaml")
        routes = [r for d in edge if d["kind"] == "IngressRoute" for r in d["spec"]["routes"]]
        assert routes, f"{overlay} has no tenant host"
        routed = " ".join(r["match"] for r in routes)
        for name in internal:
            assert f"/function/{name}`" not in routed
        for route in routes:
            assert "!PathPrefix(`/function/" in route["match"] and "/metrics`)" in route["match"]
        certificates = {d["spec"]["dnsNames"][0] for d in edge if d["kind"] == "Certificate"}
        hosts = {r["match"].split("`")[1] for r in routes}
        assert hosts == certificates


def test_only_internal_functions_leave_their_guard_to_the_network(
        production: dict[str, gen.Function], base: list[dict[str, Any]]) -> None:
    """Knative's deliveries carry no Bearer credential: the cluster-local, edge-less internal
    functions say the network guards them; public ones keep requiring the token (/metrics)."""
    for name, service in of_kind(base, "Service").items():
        env = {e["name"]: e.get("value") for e in service["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["INTERNAL_NETWORK_GUARDED"] == ("true" if production[name].internal else "false"), name


def test_every_function_is_scraped_with_the_internal_token(
        production: dict[str, gen.Function], base: list[dict[str, Any]]) -> None:
    monitors = of_kind(base, "PodMonitor")
    assert set(monitors) == set(production)
    for monitor in monitors.values():
        endpoint = monitor["spec"]["podMetricsEndpoints"][0]
        assert endpoint["path"] == "/metrics"
        assert endpoint["authorization"]["credentials"] == {"name": "internal-token", "key": "internal-token"}


def test_the_sandbox_never_reaches_production() -> None:
    for folder in (K3S / "base", K3S / "overlays" / "prod"):
        for path in folder.rglob("*.yaml"):
            assert "mock-payments" not in path.read_text(), f"{path.relative_to(ROOT)} mentions the sandbox"
    stage = documents(K3S / "overlays" / "stage" / "generated" / "mock-payments.yaml")
    assert any(d["kind"] == "Service" and d["metadata"]["name"] == "mock-payments" for d in stage)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed")
@pytest.mark.parametrize("overlay", gen.OVERLAYS)
def test_the_overlays_build(overlay: str) -> None:
    built = subprocess.run(["kubectl", "kustomize", str(K3S / "overlays" / overlay)],
                           capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"
                and d["apiVersion"] == "serving.knative.dev/v1"}
    assert ("mock-payments" in services) == (overlay == "stage")
    for service in services.values():
        assert service["metadata"]["namespace"] == gen.NAMESPACE
        image = service["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.startswith("registry.prichal.ru/prichal-"), image
    env = {e["name"]: e["value"] for e in services["create-order"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DEFAULT_RETURN_URL"].startswith("https://")
