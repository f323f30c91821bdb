"""The admin command line against the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from prichal.adapters.db import tables as t
from prichal.admin import main as admin


def _legal(owner_engine, demo) -> dict:
    with owner_engine.connect() as conn:
        return conn.execute(select(t.tenants.c.legal).where(t.tenants.c.id == demo.tenant_id)).scalar()


def test_requisites_are_shown_checked_and_merged(demo, owner_engine, tmp_path, capsys):
    before = _legal(owner_engine, demo)
    assert admin(["requisites", demo.slug]) == 0
    shown = capsys.readouterr()
    assert json.loads(shown.out) == before and "complete" in shown.err

    (tmp_path / "bad.json").write_text(json.dumps({"bic": "04403079", "kpp": None}))
    assert admin(["requisites", demo.slug, "--file", str(tmp_path / "bad.json")]) == 2
    refused = capsys.readouterr().err
    assert "bic: 9 digits expected" in refused and "kpp" in refused
    assert _legal(owner_engine, demo) == before  # nothing saved

    (tmp_path / "director.json").write_text(json.dumps({"director": "Смирнова Е. В."}, ensure_ascii=False))
    assert admin(["requisites", demo.slug, "--file", str(tmp_path / "director.json")]) == 0
    assert _legal(owner_engine, demo) == {**before, "director": "Смирнова Е. В."}

    (tmp_path / "list.json").write_text("[1, 2]")
    assert admin(["requisites", demo.slug, "--file", str(tmp_path / "list.json")]) == 2
    assert "a JSON object of strings" in capsys.readouterr().err


def test_dead_letters_of_an_unknown_function_say_so(capsys):
    assert admin(["dead-letters", "no-such-function"]) == 2
    assert "no queue" in capsys.readouterr().err


def _storefront_key(owner_engine, slug) -> str:
    with owner_engine.connect() as conn:
        return conn.execute(select(t.tenants.c.storefront_key).where(t.tenants.c.slug == slug)).scalar()


def test_storefront_key_is_random_per_tenant_shown_and_rotated(demo, other_demo, owner_engine, capsys):
    key = _storefront_key(owner_engine, demo.slug)
    assert len(key) == 64 and key != _storefront_key(owner_engine, other_demo.slug)
    assert admin(["storefront-key", demo.slug]) == 0
    assert capsys.readouterr().out.strip() == key
    assert admin(["storefront-key", demo.slug, "--rotate"]) == 0
    rotated = capsys.readouterr().out.strip()
    assert rotated != key and rotated == _storefront_key(owner_engine, demo.slug) and len(rotated) == 64
    with pytest.raises(SystemExit, match="no tenant"):
        admin(["storefront-key", "no-such-tenant"])
def _brand(owner_engine, demo) -> dict:
    with owner_engine.connect() as conn:
        return conn.execute(select(t.tenants.c.brand).where(t.tenants.c.id == demo.tenant_id)).scalar()


@pytest.mark.parametrize("bad", [
    {"primary_color": "red;background:url(file:///etc/passwd)"},
    {"primary_color": "#0b3d91; x: y"},
    {"accent_color": "blue"},
    {"email_from": "Evil<evil@example.com>"},
    {"display_name": "Причал\r\nBcc: x@example.com"},
])
def test_a_brand_with_a_bad_value_is_not_saved(demo, owner_engine, tmp_path, capsys, bad):
    before = _brand(owner_engine, demo)
    (tmp_path / "brand.json").write_text(json.dumps({"support_email": "help@example.com", **bad}))
    assert admin(["brand", demo.slug, "--file", str(tmp_path / "brand.json")]) == 2
    assert f"{next(iter(bad))}:" in capsys.readouterr().err
    assert _brand(owner_engine, demo) == before


def test_a_brand_is_shown_and_merged(demo, owner_engine, tmp_path, capsys):
    before = _brand(owner_engine, demo)
    assert admin(["brand", demo.slug]) == 0 and json.loads(capsys.readouterr().out) == before
    (tmp_path / "brand.json").write_text(json.dumps({"primary_color": "#C00", "support_email": "help@example.com",
                                                     "email_from": None}))
    assert admin(["brand", demo.slug, "--file", str(tmp_path / "brand.json")]) == 0
    expected = {**{k: v for k, v in before.items() if k != "email_from"}, "primary_color": "#C00",
                "support_email": "help@example.com"}
    assert _brand(owner_engine, demo) == expected


def test_webhook_url_carries_the_tenants_token(demo, capsys):
    from prichal.config import get_settings
    from prichal.domain.webhook_tokens import token_matches

    assert admin(["webhook-url", demo.slug, "--provider", "yookassa"]) == 0
    url = capsys.readouterr().out.strip()
    settings = get_settings()
    prefix = f"{settings.payment_webhook_url}/yookassa/{demo.slug}/"
    assert url.startswith(prefix)
    assert token_matches(settings.webhook_url_key, "yookassa", demo.slug, url.removeprefix(prefix))
    assert admin(["webhook-url", demo.slug]) == 0  # the tenant's own provider
    assert f"/{demo.slug}/" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no tenant"):
        admin(["webhook-url", "no-such-tenant"])
