from tests.conftest import assigned_sailing
from tests.support import call


def test_hold_and_read(container, demo):
    sailing = assigned_sailing(demo)
    answer = call("lock-seat", "POST", "/holds", tenant=demo.slug,
                  body={"sailing_id": sailing, "seat_ids": ["main-B-3", "main-B-4"]})
    assert answer.status == 201, answer.json
    token = answer.json["token"]
    read = call("lock-seat", "GET", f"/holds/{token}", tenant=demo.slug)
    assert read.status == 200 and read.json["status"] == "active"
    seatmap = call("catalog", "GET", f"/sailings/{sailing}/seatmap", tenant=demo.slug)
    assert seatmap.status == 200
    statuses = {s["id"]: s["status"] for s in seatmap.json["seats"]}
    assert statuses["main-B-3"] == "held" and statuses["main-A-1"] == "blocked" and statuses["main-C-1"] == "free"
