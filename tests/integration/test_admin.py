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
