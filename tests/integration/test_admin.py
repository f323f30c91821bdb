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
