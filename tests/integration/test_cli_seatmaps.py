"""Seat maps from the admin command line: export, a bad file refused with paths and nothing
written, an edited file imported and published as the next version."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from prichal.adapters.db import tables as t
from prichal.admin import main as admin


def _versions(owner_engine, demo) -> int:
    with owner_engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.seat_maps)
                            .where(t.seat_maps.c.vessel_id == demo.vessel_id)).scalar_one()


def test_export_edit_import_and_publish(container, demo, owner_engine, tmp_path, capsys):
    assert admin(["seatmap-export", demo.slug, demo.vessel_id]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["format"] == "prichal.seat-map/1" and len(exported["seats"]) == 150

    bad = dict(exported, seats=[dict(exported["seats"][0], number="one")])
    (tmp_path / "bad.json").write_text(json.dumps(bad, ensure_ascii=False))
    assert admin(["seatmap-import", demo.slug, demo.vessel_id, str(tmp_path / "bad.json")]) == 2
    assert "seats.0.number: int_type" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text('{"format": ')
    assert admin(["seatmap-import", demo.slug, demo.vessel_id, str(tmp_path / "broken.json")]) == 2
    assert "not valid JSON" in capsys.readouterr().err

    edited = dict(exported, name="Нева-1, без ряда J", seats=[s for s in exported["seats"] if s["row"] != "J"])
    (tmp_path / "map.json").write_text(json.dumps(edited, ensure_ascii=False))
    assert admin(["seatmap-import", demo.slug, demo.vessel_id, str(tmp_path / "map.json"), "--publish"]) == 0
    out = capsys.readouterr().out
    assert "138 seats, publishable" in out and "published version 2 (138 seats)" in out
    assert _versions(owner_engine, demo) == 2
    assert admin(["seatmap-publish", demo.slug, demo.vessel_id]) == 2  # the draft is gone
    assert "no draft" in capsys.readouterr().err
