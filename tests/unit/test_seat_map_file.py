"""The seat-map file: the published schema is the parser's, bad files get paths, a map
survives export and import unchanged."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from prichal.adapters import seat_map_json as f
from prichal.domain import seat_map_editor as e
from prichal.domain.errors import InvalidInput
from tests.support import ROOT

SCHEMA = ROOT / "schemas" / "seat-map.schema.json"


def _good() -> dict:
    return {
        "format": "prichal.seat-map/1", "name": "Катер",
        "sections": [{"code": "main", "name": "Палуба", "bounds": {"x": 0, "y": 0, "width": 400, "height": 100}}],
        "categories": [{"code": "standard", "name": "Стандарт", "color": "#2e8b57"}],
        "seats": [{"section": "main", "row": "A", "number": n, "x": 40.0 * n, "y": 10, "category": "standard"}
                  for n in range(1, 6)],
    }


def _errors(raw: bytes, max_bytes: int = 1_000_000) -> list[dict]:
    with pytest.raises(InvalidInput) as caught:
        f.parse(raw, max_bytes)
    return caught.value.errors


def test_the_published_schema_is_generated_from_the_parser():
    assert json.loads(SCHEMA.read_text()) == f.json_schema(), \
        "regenerate: python -m prichal.adapters.seat_map_json > schemas/seat-map.schema.json"


def test_a_good_file_passes_the_schema_and_the_parser():
    Draft202012Validator(f.json_schema()).validate(_good())
    doc = f.parse(json.dumps(_good()).encode(), 1_000_000)
    assert [s.id for s in doc.seats] == [f"main-A-{n}" for n in range(1, 6)]
    assert doc.sections[0].bounds == e.Bounds(0, 0, 400, 100)


def test_export_then_import_gives_the_same_document():
    doc = f.parse(json.dumps(_good()).encode(), 1_000_000)
    assert f.from_data(json.loads(json.dumps(f.dump(doc)))) == doc
    Draft202012Validator(f.json_schema()).validate(f.dump(doc))


@pytest.mark.parametrize("raw", [b"{", b"", b"not json", b'{"a": 1,}', b"\xff\xfe"])
def test_malformed_json_is_one_clear_error(raw):
    errors = _errors(raw)
    assert errors[0]["type"] == "malformed_json" and errors[0]["loc"] == []


def test_wrong_types_are_named_by_path():
    bad = _good()
    bad["seats"][1]["number"] = "2"
    bad["seats"][3]["x"] = None
    bad["sections"][0]["bounds"]["width"] = -5
    bad["categories"][0]["color"] = "green"
    locs = {tuple(err["loc"]): err["type"] for err in _errors(json.dumps(bad).encode())}
    assert locs == {("seats", 1, "number"): "int_type", ("seats", 3, "x"): "float_type",
                    ("sections", 0, "bounds", "width"): "greater_than",
                    ("categories", 0, "color"): "string_pattern_mismatch"}
    assert not Draft202012Validator(f.json_schema()).is_valid(bad)


def test_missing_and_unknown_fields_and_the_format():
    bad = _good()
    del bad["seats"][0]["category"]
    bad["seats"][2]["colour"] = "red"
    bad["format"] = "seatsio/2"
    locs = {tuple(err["loc"]): err["type"] for err in _errors(json.dumps(bad).encode())}
    assert locs == {("seats", 0, "category"): "missing", ("seats", 2, "colour"): "extra_forbidden",
                    ("format",): "literal_error"}


def test_a_file_that_is_not_an_object():
    assert _errors(b"[1, 2]")[0]["type"] == "model_type"


def test_a_huge_file_is_refused_before_parsing():
    assert _errors(b" " * 2001, max_bytes=2000)[0]["type"] == "file_too_large"


def test_too_many_seats():
    bad = _good()
    bad["seats"] = bad["seats"] * (e.MAX_SEATS // 5 + 1)
    assert {err["type"] for err in _errors(json.dumps(bad).encode(), 10**8)} == {"too_long"}


def test_duplicate_labels_are_not_the_files_business_but_validation_names_them():
    """A file may hold a half-finished drawing: it imports as a draft; validation then names the seat."""
    dup = _good()
    dup["seats"].append(dict(dup["seats"][0]))
    doc = f.parse(json.dumps(dup).encode(), 1_000_000)
    issues = e.validate(doc, e.Pricing(any_category=True))
    assert [(i.rule.value, i.loc) for i in issues] == [("duplicate_label", ("seats", 5))]


def test_deep_nesting_is_refused_not_crashed():
    assert _errors(b"[" * 100_000 + b"]" * 100_000, 10**7)[0]["type"] in {"malformed_json", "model_type"}
