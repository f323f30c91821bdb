"""The seat-map file: a seat map as JSON, to import a map drawn elsewhere and to export one.

The format (``prichal.seat-map/1``) is declared once, by the pydantic models below; the
published JSON schema (``schemas/seat-map.schema.json``, served by the admin function) is
generated from them (``python -m prichal.adapters.seat_map_json > schemas/seat-map.schema.json``;
a unit test keeps the file in step). A bad file gets every error with its JSON path (``loc``):
malformed JSON, wrong types, unknown fields, too many seats, a file too large. The rules
of a publishable map (unique labels, seats inside their section, ...) are not the file's:
an imported map becomes a draft, and ``validate`` reports those.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prichal.domain import seat_map_editor as e
from prichal.domain.errors import InvalidInput

Code = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$", description="a-z, 0-9 and _, at most 32")]
Coordinate = Annotated[float, Field(ge=-e.MAX_COORDINATE, le=e.MAX_COORDINATE, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class BoundsFile(_Strict):
    x: Coordinate
    y: Coordinate
    width: Annotated[float, Field(gt=0, le=2 * e.MAX_COORDINATE)]
    height: Annotated[float, Field(gt=0, le=2 * e.MAX_COORDINATE)]


class SectionFile(_Strict):
    code: Code
    name: Name
    bounds: BoundsFile | None = Field(default=None, description="the section's rectangle; seats must lie inside")


class CategoryFile(_Strict):
    code: Code
    name: Name
    color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#888888"


class SeatFile(_Strict):
    section: Code
    row: Annotated[str, Field(pattern=r"^[A-Za-zА-Яа-яЁё0-9]{1,8}$", description="row label, e.g. A")]
    number: Annotated[int, Field(ge=1, le=9999)]
    x: Coordinate
    y: Coordinate
    category: Code
    accessible: bool = False
    blocked: bool = Field(default=False, description="never for sale in this version (crew seats)")


class SeatMapFile(_Strict):
    """A seat map: sections, seat categories and seats; a seat's id is
    ``<section>-<row>-<number>``."""

    model_config = ConfigDict(extra="forbid", strict=True, title="Prichal seat map",
                              json_schema_extra={"$id": "https://prichal.example/schemas/seat-map.schema.json"})
    format: Literal["prichal.seat-map/1"]
    name: Name
    sections: Annotated[list[SectionFile], Field(max_length=100)]
    categories: Annotated[list[CategoryFile], Field(max_length=100)]
    seats: Annotated[list[SeatFile], Field(max_length=e.MAX_SEATS)]


def json_schema() -> dict[str, Any]:
    schema = SeatMapFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def parse(raw: bytes, max_bytes: int) -> e.SeatMapDocument:
    """A seat-map file as a draft document, or ``InvalidInput`` naming every problem by path."""
    if len(raw) > max_bytes:
        raise InvalidInput(f"the file has {len(raw)} bytes; at most {max_bytes} are accepted", errors=[
            {"loc": [], "type": "file_too_large", "msg": f"at most {max_bytes} bytes"}])
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file is not UTF-8 text", errors=[
            {"loc": [], "type": "malformed_json", "msg": str(exc)}]) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                           errors=[{"loc": [], "type": "malformed_json",
                                    "msg": f"{exc.msg} (line {exc.lineno}, column {exc.colno})"}]) from None
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("the file is not valid JSON", errors=[
            {"loc": [], "type": "malformed_json", "msg": str(exc)[:200]}]) from None
    return from_data(data)


def from_data(data: Any) -> e.SeatMapDocument:
    try:
        parsed = SeatMapFile.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": list(err["loc"]), "type": err["type"], "msg": err["msg"]}
                  for err in exc.errors(include_url=False, include_input=False)]
        raise InvalidInput(f"the seat map file has {len(errors)} error(s)", errors=errors[:100]) from None
    return e.SeatMapDocument(
        name=parsed.name,
        sections=tuple(e.SectionSpec(s.code, s.name, e.Bounds(**s.bounds.model_dump()) if s.bounds else None)
                       for s in parsed.sections),
        categories=tuple(e.CategorySpec(c.code, c.name, c.color) for c in parsed.categories),
        seats=tuple(e.SeatSpec(**s.model_dump()) for s in parsed.seats),
    )


def dump(document: e.SeatMapDocument) -> dict[str, Any]:
    return {
        "format": e.FORMAT,
        "name": document.name,
        "sections": [{"code": s.code, "name": s.name,
                      **({"bounds": {"x": s.bounds.x, "y": s.bounds.y, "width": s.bounds.width,
                                     "height": s.bounds.height}} if s.bounds else {})}
                     for s in document.sections],
        "categories": [{"code": c.code, "name": c.name, "color": c.color} for c in document.categories],
        "seats": [{"section": s.section, "row": s.row, "number": s.number, "x": s.x, "y": s.y,
                   "category": s.category, "accessible": s.accessible, "blocked": s.blocked}
                  for s in document.seats],
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
