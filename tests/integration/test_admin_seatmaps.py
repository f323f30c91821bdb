"""The seat-map routes of the admin function: staff tokens and permissions, bad input as
problem+json with nothing written, another tenant's admin finds nothing, the schema served,
and a 60-seat map in two categories drawn, published and shown by the storefront."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from prichal.adapters import seat_map_json
from prichal.adapters.db import tables as t
from tests.conftest import assigned_sailing
from tests.staff_support import bearer, staff_token
from tests.support import ROOT, call


def _admin(demo) -> dict[str, str]:
    return bearer(staff_token(demo.tenant_id, "admin"))


def _call(demo, method: str, path: str, headers: dict, **kwargs):
    return call("admin", method, path, tenant=demo.slug, headers=headers, **kwargs)


def _drafts(owner_engine, vessel_id: str) -> list:
    with owner_engine.connect() as conn:
        return list(conn.execute(select(t.seat_map_drafts.c.revision).where(t.seat_map_drafts.c.vessel_id == vessel_id)
                                 ).scalars())


def _problem(answer, status: int, code: str | None = None) -> dict:
    assert answer.status == status, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"
    if code:
        assert answer.json["code"] == code, answer.json
    return answer.json


def test_without_a_token_401_and_an_agent_may_read_but_not_edit(container, demo):
    base = f"/vessels/{demo.vessel_id}/seatmap"
    _problem(_call(demo, "GET", base, {}), 401, "unauthenticated")
    agent = bearer(staff_token(demo.tenant_id, "agent"))
    overview = _call(demo, "GET", base, agent)
    assert overview.status == 200 and overview.json["published"]["version"] == 1, overview.json
    _problem(_call(demo, "POST", f"{base}/draft", agent, body={}), 403, "forbidden")


def test_another_tenants_admin_finds_nothing(container, demo, other_demo, owner_engine):
    theirs = bearer(staff_token(other_demo.tenant_id, "admin"))
    # their token on our storefront host: not a token of this tenant
    _problem(_call(demo, "POST", f"/vessels/{demo.vessel_id}/seatmap/draft", theirs, body={}), 401)
    # on their own host, our vessel and sailing do not exist
    _problem(_call(other_demo, "POST", f"/vessels/{demo.vessel_id}/seatmap/draft", theirs, body={}), 404)
    _problem(_call(other_demo, "GET", f"/vessels/{demo.vessel_id}/seatmap/export", theirs), 404)
    _problem(_call(other_demo, "POST", f"/sailings/{assigned_sailing(demo)}/blocks", theirs,
                   body={"seat_ids": ["main-B-1"]}), 404)
    assert _drafts(owner_engine, demo.vessel_id) == []


@pytest.mark.parametrize("raw, where", [
    (b'{"format": "prichal.seat-map/1", "name": "x", "sections": [], "categories": [], "seats": [', []),
    (b'{"format": "prichal.seat-map/1", "name": 5, "sections": [], "categories": [], "seats": []}', ["name"]),
    (b'{"format": "prichal.seat-map/1", "name": "x", "sections": [], "categories": [], '
     b'"seats": [{"section": "m", "row": "A", "number": 1.5, "x": 0, "y": 0, "category": "s"}]}',
     ["seats", 0, "number"]),
])
def test_a_bad_seat_map_file_is_422_with_its_path_and_writes_nothing(container, demo, owner_engine, raw, where):
    answer = _call(demo, "PUT", f"/vessels/{demo.vessel_id}/seatmap/draft", _admin(demo), raw=raw)
    body = _problem(answer, 422, "invalid-input")
    assert body["errors"][0]["loc"] == where
    assert _drafts(owner_engine, demo.vessel_id) == []


def test_a_file_over_the_limit_is_413(container, demo, owner_engine):
    huge = b'{"format": "prichal.seat-map/1", "name": "' + b"x" * (2 << 20) + b'"}'
    _problem(_call(demo, "PUT", f"/vessels/{demo.vessel_id}/seatmap/draft", _admin(demo), raw=huge), 413)
    assert _drafts(owner_engine, demo.vessel_id) == []


def test_bad_edit_bodies_are_4xx_and_change_nothing(container, demo, owner_engine):
    admin = _admin(demo)
    base = f"/vessels/{demo.vessel_id}/seatmap/draft"
    assert _call(demo, "POST", base, admin, body={}).status == 201
    before = _drafts(owner_engine, demo.vessel_id)
    for path, body in [
        (f"{base}/rows", {"section": "main", "row": "K", "count": "3", "x": 0, "y": 0, "spacing": 40,
                          "category": "standard"}),
        (f"{base}/rows", {"section": "main", "row": "K", "count": 3, "x": 0, "y": 0, "spacing": 0,
                          "category": "standard"}),
        (f"{base}/rows", {"section": "Main deck", "row": "K", "count": 3, "x": 0, "y": 0, "spacing": 4,
                          "category": "standard"}),
        (f"{base}/seats/remove", {"seat_ids": ["main-Z-99"]}),
        (f"{base}/seats/remove", {"seat_ids": []}),
        (f"{base}/seats", {"seats": [{"section": "main", "row": "K", "number": 1, "x": 1e12, "y": 0,
                                      "category": "standard"}]}),
        (f"{base}/publish", {"revision": "one"}),
        (f"{base}/publish", {"unexpected": True}),
    ]:
        answer = _call(demo, "POST", path, admin, body=body)
        assert 400 <= answer.status < 500 and answer.headers["Content-Type"] == "application/problem+json", \
            (path, body, answer.json)
    _problem(_call(demo, "PATCH", f"{base}/seats", admin, body={"seat_ids": ["main-B-1"]}), 422)
    _problem(_call(demo, "PUT", f"{base}/sections/main", admin,
                   body={"name": "Палуба", "bounds": {"x": 0, "y": 0, "width": 1e30, "height": 5}}), 422)
    _problem(_call(demo, "PUT", f"{base}/sections/Main Deck", admin, body={"name": "Палуба"}), 422)
    _problem(_call(demo, "DELETE", f"{base}/categories/standard", admin), 409)  # still used by seats
    _problem(_call(demo, "POST", base, admin, body={}), 409, "draft-exists")
    assert _drafts(owner_engine, demo.vessel_id) == before


def test_the_schema_is_served_and_openapi_lists_the_routes(container):
    served = call("admin", "GET", "/seatmaps/schema.json")
    assert served.status == 200 and served.json == json.loads((ROOT / "schemas" / "seat-map.schema.json").read_text())
    assert served.json == seat_map_json.json_schema()
    paths = call("admin", "GET", "/openapi.json").json["paths"]
    assert {"post", "get", "put", "delete"} <= set(paths["/vessels/{vessel_id}/seatmap/draft"])
    assert paths["/sailings/{sailing_id}/blocks"]["post"]["security"] == [{"staffToken": []}]


def test_draw_a_60_seat_map_in_two_categories_publish_it_and_the_storefront_shows_it(container, demo, owner_engine):
    """A new vessel: two sections, 6 rows of 10 in two categories, an accessible seat and a
    crew seat; validation, publishing, a sailing on it; the storefront's seat map."""
    with owner_engine.begin() as conn:
        vessel = conn.execute(t.vessels.insert().values(tenant_id=demo.tenant_id, name="Катер «Охта»")
                              .returning(t.vessels.c.id)).scalar_one()
    admin = _admin(demo)
    base = f"/vessels/{vessel}/seatmap/draft"
    opened = _call(demo, "POST", base, admin, body={})
    assert opened.status == 201 and opened.json["base_version"] is None and opened.json["seats"] == 0
    assert [i["type"] for i in opened.json["issues"]] == ["no_seats"]

    assert _call(demo, "PUT", f"{base}/name", admin, body={"name": "Охта, 60 мест"}).status == 200
    for code, name, y in (("bow", "Нос", 0), ("stern", "Корма", 200)):
        answer = _call(demo, "PUT", f"{base}/sections/{code}", admin,
                       body={"name": name, "bounds": {"x": 0, "y": y, "width": 440, "height": 150}})
        assert answer.status == 200, answer.json
    for code, name, color in (("vip", "Нос, у окна", "#b8860b"), ("standard", "Корма", "#2e8b57")):
        assert _call(demo, "PUT", f"{base}/categories/{code}", admin, body={"name": name, "color": color}).status == 200
    for index, row in enumerate("ABC"):
        answer = _call(demo, "POST", f"{base}/rows", admin, body={
            "section": "bow", "row": row, "count": 10, "x": 20, "y": 20 + index * 40, "spacing": 40,
            "category": "vip", "accessible": [1] if row == "A" else []})
        assert answer.status == 200, answer.json
        answer = _call(demo, "POST", f"{base}/rows", admin, body={
            "section": "stern", "row": row, "count": 10, "x": 400, "y": 220 + index * 40, "spacing": -40,
            "category": "standard", "first_number": 10, "step": -1, "blocked": [10] if row == "A" else []})
        assert answer.status == 200, answer.json
    validated = _call(demo, "POST", f"{base}/validate", admin)
    assert validated.status == 200 and validated.json == {"publishable": True, "issues": []}, validated.json

    # the demo's assigned program has tariffs for "vip" and "standard": the rule holds
    published = _call(demo, "POST", f"{base}/publish", admin, body={})
    assert published.status == 201, published.json
    version = published.json
    assert version["version"] == 1 and version["seats"] == 60

    sailing = assigned_sailing(demo)
    with owner_engine.begin() as conn:  # the catalog API (another branch) puts sailings on vessels
        conn.execute(t.sailings.update().where(t.sailings.c.id == sailing).values(vessel_id=vessel))
    moved = _call(demo, "PUT", f"/sailings/{sailing}/seatmap", admin, body={"seat_map_id": version["id"]})
    assert moved.status == 200, moved.json

    seatmap = call("catalog", "GET", f"/sailings/{sailing}/seatmap", tenant=demo.slug).json
    assert seatmap["seat_map"] == {"id": version["id"], "version": 1, "name": "Охта, 60 мест"}
    assert len(seatmap["seats"]) == 60 and seatmap["counts"] == {"free": 59, "held": 0, "sold": 0, "blocked": 1}
    assert {c["code"] for c in seatmap["categories"]} == {"vip", "standard"}
    assert all(c["prices"] for c in seatmap["categories"])
    seats = {s["id"]: s for s in seatmap["seats"]}
    assert seats["bow-A-1"]["accessible"] and seats["stern-A-10"]["status"] == "blocked"
    assert seats["stern-A-1"]["x"] == 40.0 and seats["stern-A-10"]["x"] == 400.0
    assert [s["label"] for s in seatmap["seats"] if s["id"] == "bow-B-3"] == ["Нос, ряд B, место 3"]

    blocked = _call(demo, "POST", f"/sailings/{sailing}/blocks", admin,
                    body={"seat_ids": ["bow-C-5"], "reason": "crew"})
    assert blocked.status == 200 and blocked.json["changed"] == ["bow-C-5"], blocked.json
    again = call("catalog", "GET", f"/sailings/{sailing}/seatmap", tenant=demo.slug).json
    assert again["counts"]["blocked"] == 2 and {s["id"]: s for s in again["seats"]}["bow-C-5"]["status"] == "blocked"

    exported = _call(demo, "GET", f"/vessels/{vessel}/seatmap/export", admin)
    assert exported.status == 200 and len(exported.json["seats"]) == 60
    assert "attachment" in exported.headers["Content-Disposition"]
    with owner_engine.connect() as conn:
        audit = t.metadata.tables["staff_audit"]
        assert conn.execute(select(func.count()).select_from(audit).where(
            audit.c.tenant_id == demo.tenant_id, audit.c.action.like("seatmap.%"))).scalar_one() == 13
