"""One precedence for secrets, in one module: a secret file wins over the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prichal.adapters.payments import registry
from prichal.config import Settings, get_settings, read_secret
from prichal.domain.tenants import Tenant


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    monkeypatch.setenv("SECRETS_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def test_a_setting_from_a_secret_file_wins_over_the_environment(secrets: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://leaked@env/prichal")
    monkeypatch.setenv("ORDER_TOKEN_SECRET", "from-the-environment")
    (secrets / "database-url").write_text("postgresql+psycopg://app:pw@db/prichal\n")
    (secrets / "order-token-secret").write_text("from-the-file")
    settings = get_settings()
    assert settings.database_url == "postgresql+psycopg://app:pw@db/prichal"
    assert settings.order_token_secret == "from-the-file"


def test_without_a_file_the_environment_then_the_default_apply(secrets: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDER_TOKEN_SECRET", "from-the-environment")
    (secrets / "smtp-password").write_text("")  # an empty file is no value
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    settings = get_settings()
    assert settings.order_token_secret == "from-the-environment"
    assert settings.smtp_password is None


def test_a_provider_secret_file_wins_over_the_environment(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOOKASSA_DEMO", "from-the-environment")
    assert read_secret("yookassa-demo") == "from-the-environment"
    (secrets / "yookassa-demo").write_text("live_from_the_file\n")
    assert read_secret("yookassa-demo") == "live_from_the_file"
    assert registry.read_secret is read_secret  # the provider registry has no reader of its own


@pytest.mark.parametrize("bundle", [json.dumps({"yookassa-demo": "live_bundle", "yookassa-other": "x"}),
                                    "# tenant keys\nyookassa-other=x\nyookassa-demo = live_bundle\n"])
def test_one_bundle_file_holds_every_tenant_key(secrets: Path, monkeypatch: pytest.MonkeyPatch, bundle: str) -> None:
    monkeypatch.setenv("YOOKASSA_DEMO", "from-the-environment")
    (secrets / "yookassa-keys").write_text(bundle)
    assert read_secret("yookassa-demo", bundle="yookassa-keys") == "live_bundle"  # file over environment
    assert read_secret("yookassa-third", bundle="yookassa-keys") is None
    (secrets / "yookassa-demo").write_text("own-file")  # a tenant's own file wins over the bundle
    assert read_secret("yookassa-demo", bundle="yookassa-keys") == "own-file"


def test_the_bundle_may_come_from_the_environment(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOOKASSA_KEYS", json.dumps({"yookassa-demo": "from-env-bundle"}))
    assert read_secret("yookassa-demo", bundle="yookassa-keys") == "from-env-bundle"
    monkeypatch.setenv("YOOKASSA_DEMO", "own-variable")
    assert read_secret("yookassa-demo", bundle="yookassa-keys") == "own-variable"


@pytest.mark.parametrize("name", ["", "../database-url", "/etc/passwd", "Yookassa", "a/b"])
def test_a_secret_name_is_never_a_path(secrets: Path, name: str) -> None:
    (secrets / "database-url").write_text("postgresql://x")
    assert read_secret(name) is None


def test_sandbox_mode_follows_the_environment_unless_set() -> None:
    assert Settings().sandbox is True
    assert Settings(prichal_env="production").sandbox is False
    assert Settings(prichal_env="production", payments_sandbox=True).sandbox is True
    assert Settings(payments_sandbox=False).sandbox is False


def test_a_tenant_switches_to_yookassa_with_a_key_in_the_shared_bundle(secrets: Path) -> None:
    """No stack.yml edit per tenant: the key is one entry of the mounted ``yookassa-keys``."""
    tenant = Tenant(id="t1", slug="demo", name="Demo", payment_provider="yookassa",
                    payment_settings={"shop_id": "123456", "secret_name": "yookassa-demo"})
    with pytest.raises(registry.PaymentNotConfigured) as missing:
        registry.provider_for(tenant, Settings())
    assert "yookassa-demo" in missing.value.extra["missing"][0]
    (secrets / registry.YOOKASSA_KEYS).write_text(json.dumps({"yookassa-demo": "live_abc"}))
    client = registry.provider_for(tenant, Settings())
    assert client._auth == ("123456", "live_abc")


def test_the_sandbox_provider_only_in_sandbox_mode() -> None:
    tenant = Tenant(id="t1", slug="demo", name="Demo", payment_provider="mock")
    assert registry.provider_for(tenant, Settings()) is not None
    for settings in (Settings(prichal_env="production"), Settings(payments_sandbox=False)):
        assert registry.accepted_providers(settings) == ("yookassa",)
        with pytest.raises(registry.PaymentNotConfigured, match="sandbox mode"):
            registry.provider_for(tenant, settings)
    with pytest.raises(registry.PaymentNotConfigured) as none:
        registry.provider_for(Tenant(id="t2", slug="new", name="New"), Settings())
    assert none.value.extra["missing"] == ["payment_provider"]
