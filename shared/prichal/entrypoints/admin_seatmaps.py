"""Seat-map editor routes of the ``admin`` function: a vessel's seat map (versions, its one
draft, edits, validation, publishing, import/export as a seat-map file) and the seats of
one sailing (its version, seats blocked on it).

The tenant is the request's; the staff token must be of that tenant (``require_staff``):
reads need ``catalog.read``, every change ``seatmaps.manage``. The rules are in
``prichal.services.seat_maps`` and ``prichal.domain.seat_map_editor``; the file format is
``schemas/seat-map.schema.json`` (served at ``GET /seatmaps/schema.json``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from prichal.adapters import seat_map_json
from prichal.bootstrap import container
from prichal.domain import seat_map_editor as e
from prichal.domain.staff import Permission
from prichal.entrypoints.app import FunctionApp, Request, Response
from prichal.entrypoints.fields import StrictText
from prichal.entrypoints.openapi import JSON, Media, describe
from prichal.entrypoints.staff import require_staff
from prichal.services.seat_maps import Edit

SECURITY = ("staffToken",)
SEATMAP_FILE = Media(JSON, seat_map_json.json_schema())
Code = Annotated[StrictText, Field(pattern=r"^[a-z0-9_]{1,32}$")]
Name = Annotated[StrictText, Field(min_length=1, max_length=200)]
Number = StrictFloat | StrictInt
SeatIds = Annotated[list[Annotated[StrictText, Field(max_length=64)]], Field(min_length=1, max_length=500)]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- bodies ------------------------------------------------------------------------------
class OpenDraft(Closed):
    from_version: StrictInt | None = Field(default=None, description="default: the newest version")
    empty: StrictBool = Field(default=False, description="draw from nothing instead")


class Revision(Closed):
    revision: StrictInt | None = Field(default=None, description="refuse (409 draft-changed) if the draft moved on")


class Rename(Revision):
    name: Name


class BoundsBody(Closed):
    x: Annotated[Number, Field(ge=-e.MAX_COORDINATE, le=e.MAX_COORDINATE)]
    y: Annotated[Number, Field(ge=-e.MAX_COORDINATE, le=e.MAX_COORDINATE)]
    width: Annotated[Number, Field(gt=0, le=2 * e.MAX_COORDINATE)]
    height: Annotated[Number, Field(gt=0, le=2 * e.MAX_COORDINATE)]


class SectionBody(Revision):
    name: Name
    bounds: BoundsBody | None = None


class CategoryBody(Revision):
    name: Name
    color: Annotated[StrictText, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#888888"


class SeatBody(Closed):
    section: Code
    row: Annotated[StrictText, Field(pattern=r"^[A-Za-zА-Яа-яЁё0-9]{1,8}$")]
    number: Annotated[StrictInt, Field(ge=1, le=9999)]
    x: Number
    y: Number
    category: Code
    accessible: StrictBool = False
    blocked: StrictBool = False


class AddSeats(Revision):
    seats: Annotated[list[SeatBody], Field(min_length=1, max_length=e.MAX_ROW)]


class ChangeSeats(Revision):
    seat_ids: SeatIds
    category: Code | None = None
    accessible: StrictBool | None = None
    blocked: StrictBool | None = Field(default=None, description="blocked in this version (every sailing on it)")


class RemoveSeats(Revision):
    seat_ids: SeatIds


class RowBody(Revision):
    """A straight row: ``count`` seats from (x, y), ``spacing`` apart along x."""

    section: Code
    row: Annotated[StrictText, Field(pattern=r"^[A-Za-zА-Яа-яЁё0-9]{1,8}$")]
    count: Annotated[StrictInt, Field(ge=1, le=e.MAX_ROW)]
    x: Number
    y: Number
    spacing: Number = Field(description="distance between seats; negative: leftwards")
    category: Code
    first_number: Annotated[StrictInt, Field(ge=1, le=9999)] = 1
    step: StrictInt = Field(default=1, description="numbering step, e.g. -1 or 2")
    accessible: Annotated[list[StrictInt], Field(max_length=e.MAX_ROW)] = Field(default_factory=list)
    blocked: Annotated[list[StrictInt], Field(max_length=e.MAX_ROW)] = Field(default_factory=list)


class MoveSailing(Closed):
    seat_map_id: StrictText = Field(description="a version of the sailing's vessel's seat map")


class BlockSeats(Closed):
    seat_ids: SeatIds
    reason: Annotated[StrictText, Field(max_length=500)] = ""
    release_holds: StrictBool = Field(default=False, description="end buyers' holds on these seats (else 409)")


class UnblockSeats(Closed):
    seat_ids: SeatIds


class ExportQuery(Closed):
    version: int | None = Field(default=None, ge=1, description="default: the newest version")


class ImportQuery(Closed):
    revision: int | None = Field(default=None, ge=1, description="refuse if the draft moved on")


# --- answers -------------------------------------------------------------------------------
class FieldError(BaseModel):
    loc: list[str | int]
    type: str
    msg: str


class VersionView(BaseModel):
    id: str
    vessel_id: str
    version: int
    name: str
    published_at: str
    published_by: str | None
    seats: int
    sailings: int = Field(description="sailings on this version")


class DraftHead(BaseModel):
    vessel_id: str
    base_version: int | None
    revision: int
    updated_at: str
    updated_by: str


class DraftView(DraftHead):
    document: dict[str, Any] = Field(description="the draft as a seat-map file (schemas/seat-map.schema.json)")
    seats: int
    publishable: bool
    issues: list[FieldError] = Field(description="what blocks publishing; type is the rule")


class Overview(BaseModel):
    vessel_id: str
    published: VersionView | None
    versions: list[VersionView]
    draft: DraftHead | None


class Validation(BaseModel):
    publishable: bool
    issues: list[FieldError]


class MoveView(BaseModel):
    sailing_id: str
    seat_map: VersionView
    dropped_blocks: list[str]


class BlockView(BaseModel):
    seat_id: str
    label: str
    reason: str
    blocked_by: str
    blocked_at: str


class BlocksView(BaseModel):
    sailing_id: str
    seat_map_id: str | None
    blocked: list[BlockView]
    blocked_in_map: list[str]
    changed: list[str] | None = None
    released_holds: int | None = None


def _edit(request: Request, vessel_id: str, action: str, change: Any, revision: int | None, **data: Any) -> dict:
    actor = require_staff(request, Permission.SEATMAPS_MANAGE)
    return container().seat_maps.edit(request.tenant.id, vessel_id, actor, Edit(action, change, data), revision)


def register(app: FunctionApp) -> None:
    """Add the seat-map routes to the admin function."""
    _versions(app)
    _draft_edits(app)
    _publishing_and_sailings(app)


def _versions(app: FunctionApp) -> None:
    @app.route("GET", "/seatmaps/schema.json", tenant=False, summary="The seat-map file's JSON schema")
    @describe(responses={200: Media("application/schema+json", {"type": "object"})})
    def seat_map_schema(request: Request) -> Response:
        return Response(body=seat_map_json.json_schema(), content_type="application/schema+json")

    @app.route("GET", "/vessels/{vessel_id}/seatmap", response=Overview, errors=(401, 403, 404))
    @describe(security=SECURITY)
    def seat_map_overview(request: Request, vessel_id: str) -> dict:
        """A vessel's seat map: its published versions and its draft, if any."""
        require_staff(request, Permission.CATALOG_READ)
        return container().seat_maps.overview(request.tenant.id, vessel_id)

    @app.route("GET", "/vessels/{vessel_id}/seatmap/export", query=ExportQuery, errors=(401, 403, 404))
    @describe(security=SECURITY, responses={200: SEATMAP_FILE})
    def export_seat_map(request: Request, vessel_id: str, query: ExportQuery) -> Response:
        """A published version as a seat-map file."""
        require_staff(request, Permission.CATALOG_READ)
        body = container().seat_maps.export(request.tenant.id, vessel_id, query.version)
        return _file(body, f"seatmap-{vessel_id}-v{query.version or 'latest'}.json")

    @app.route("POST", "/vessels/{vessel_id}/seatmap/draft", body=OpenDraft, response=DraftView, status=201,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def open_draft(request: Request, vessel_id: str, body: OpenDraft) -> dict:
        """Open the draft (one per vessel) from the newest version, another one, or nothing."""
        actor = require_staff(request, Permission.SEATMAPS_MANAGE)
        return container().seat_maps.open_draft(request.tenant.id, vessel_id, actor, body.from_version, body.empty)

    @app.route("GET", "/vessels/{vessel_id}/seatmap/draft", response=DraftView, errors=(401, 403, 404))
    @describe(security=SECURITY)
    def get_draft(request: Request, vessel_id: str) -> dict:
        """The draft with what blocks publishing it."""
        require_staff(request, Permission.SEATMAPS_MANAGE)
        return container().seat_maps.draft(request.tenant.id, vessel_id)

    @app.route("PUT", "/vessels/{vessel_id}/seatmap/draft", query=ImportQuery, response=DraftView,
               errors=(401, 403, 404, 409, 422))
    @describe(security=SECURITY, body=SEATMAP_FILE)
    def import_draft(request: Request, vessel_id: str, query: ImportQuery) -> dict:
        """Import a seat-map file as the draft (the body is the file; errors name their JSON path)."""
        actor = require_staff(request, Permission.SEATMAPS_MANAGE)
        return container().seat_maps.replace_draft(request.tenant.id, vessel_id, actor, request.body, query.revision)

    @app.route("DELETE", "/vessels/{vessel_id}/seatmap/draft", status=204, errors=(401, 403, 404))
    @describe(security=SECURITY, responses={204: None})
    def discard_draft(request: Request, vessel_id: str) -> Response:
        """Throw the draft away (the published versions stay)."""
        actor = require_staff(request, Permission.SEATMAPS_MANAGE)
        container().seat_maps.discard_draft(request.tenant.id, vessel_id, actor)
        return Response(status=204)

    @app.route("GET", "/vessels/{vessel_id}/seatmap/draft/export", errors=(401, 403, 404))
    @describe(security=SECURITY, responses={200: SEATMAP_FILE})
    def export_draft(request: Request, vessel_id: str) -> Response:
        """The draft as a seat-map file."""
        require_staff(request, Permission.SEATMAPS_MANAGE)
        body = container().seat_maps.export_draft(request.tenant.id, vessel_id)
        return _file(body, f"seatmap-{vessel_id}-draft.json")



def _draft_edits(app: FunctionApp) -> None:
    @app.route("PUT", "/vessels/{vessel_id}/seatmap/draft/name", body=Rename, response=DraftView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def rename_draft(request: Request, vessel_id: str, body: Rename) -> dict:
        """Rename the draft."""
        return _edit(request, vessel_id, "seatmap.draft_renamed", lambda d: e.renamed(d, body.name), body.revision,
                     name=body.name)

    @app.route("PUT", "/vessels/{vessel_id}/seatmap/draft/sections/{code}", body=SectionBody, response=DraftView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def put_section(request: Request, vessel_id: str, code: str, body: SectionBody) -> dict:
        """Add or change a section (its name buyers read, its outline on the drawing)."""
        bounds = e.Bounds(body.bounds.x, body.bounds.y, body.bounds.width, body.bounds.height) if body.bounds else None
        return _edit(request, vessel_id, "seatmap.draft_section_set",
                     lambda d: e.with_section(d, e.SectionSpec(code, body.name, bounds)), body.revision, section=code)

    @app.route("DELETE", "/vessels/{vessel_id}/seatmap/draft/sections/{code}", response=DraftView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def delete_section(request: Request, vessel_id: str, code: str) -> dict:
        """Remove a section without seats (409 naming the seats otherwise)."""
        return _edit(request, vessel_id, "seatmap.draft_section_removed", lambda d: e.without_section(d, code), None,
                     section=code)

    @app.route("PUT", "/vessels/{vessel_id}/seatmap/draft/categories/{code}", body=CategoryBody,
               response=DraftView, errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def put_category(request: Request, vessel_id: str, code: str, body: CategoryBody) -> dict:
        """Add or change a seat category (tariffs name it by code)."""
        return _edit(request, vessel_id, "seatmap.draft_category_set",
                     lambda d: e.with_category(d, e.CategorySpec(code, body.name, body.color)), body.revision,
                     category=code)

    @app.route("DELETE", "/vessels/{vessel_id}/seatmap/draft/categories/{code}", response=DraftView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def delete_category(request: Request, vessel_id: str, code: str) -> dict:
        """Remove a category no seat uses."""
        return _edit(request, vessel_id, "seatmap.draft_category_removed", lambda d: e.without_category(d, code),
                     None, category=code)

    @app.route("POST", "/vessels/{vessel_id}/seatmap/draft/seats", body=AddSeats, response=DraftView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def add_seats(request: Request, vessel_id: str, body: AddSeats) -> dict:
        """Add single seats."""
        seats = [e.SeatSpec(**s.model_dump()) for s in body.seats]
        return _edit(request, vessel_id, "seatmap.draft_seats_added", lambda d: e.add_seats(d, seats), body.revision,
                     seat_ids=[s.id for s in seats])

    @app.route("PATCH", "/vessels/{vessel_id}/seatmap/draft/seats", body=ChangeSeats, response=DraftView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def change_seats(request: Request, vessel_id: str, body: ChangeSeats) -> dict:
        """Change seats' category, accessibility or block in this version."""
        changes = body.model_dump(include={"category", "accessible", "blocked"}, exclude_none=True)
        return _edit(request, vessel_id, "seatmap.draft_seats_changed",
                     lambda d: e.update_seats(d, body.seat_ids, **changes), body.revision,
                     seat_ids=body.seat_ids, **changes)

    @app.route("POST", "/vessels/{vessel_id}/seatmap/draft/seats/remove", body=RemoveSeats, response=DraftView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def remove_seats(request: Request, vessel_id: str, body: RemoveSeats) -> dict:
        """Remove seats from the draft (sailings on published versions keep theirs)."""
        return _edit(request, vessel_id, "seatmap.draft_seats_removed", lambda d: e.remove_seats(d, body.seat_ids),
                     body.revision, seat_ids=body.seat_ids)

    @app.route("POST", "/vessels/{vessel_id}/seatmap/draft/rows", body=RowBody, response=DraftView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def generate_row(request: Request, vessel_id: str, body: RowBody) -> dict:
        """Generate a row of N seats with spacing."""
        row = e.RowSpec(section=body.section, row=body.row, count=body.count, x=body.x, y=body.y,
                        spacing=body.spacing, category=body.category, first_number=body.first_number,
                        step=body.step, accessible=frozenset(body.accessible), blocked=frozenset(body.blocked))
        return _edit(request, vessel_id, "seatmap.draft_row_generated", lambda d: e.generate_row(d, row),
                     body.revision, section=body.section, row=body.row, count=body.count)



def _publishing_and_sailings(app: FunctionApp) -> None:
    @app.route("POST", "/vessels/{vessel_id}/seatmap/draft/validate", response=Validation, errors=(401, 403, 404))
    @describe(security=SECURITY, body=Media(JSON, {"type": "object"}), body_required=False)
    def validate_draft(request: Request, vessel_id: str) -> dict:
        """Check the draft against every rule (unique labels, seats inside their section, a
        tariff for every seat's category); ``issues`` names each failure by rule and path."""
        require_staff(request, Permission.SEATMAPS_MANAGE)
        view = container().seat_maps.draft(request.tenant.id, vessel_id)
        return {"publishable": view["publishable"], "issues": view["issues"]}

    @app.route("POST", "/vessels/{vessel_id}/seatmap/draft/publish", body=Revision, response=VersionView,
               status=201, errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def publish_draft(request: Request, vessel_id: str, body: Revision) -> dict:
        """Publish the draft as the next version (422 seat-map-invalid listing every problem; cannot be undone)."""
        actor = require_staff(request, Permission.SEATMAPS_MANAGE)
        return container().seat_maps.publish(request.tenant.id, vessel_id, actor, body.revision)

    # --- one sailing ---------------------------------------------------------------------------
    @app.route("PUT", "/sailings/{sailing_id}/seatmap", body=MoveSailing, response=MoveView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def move_sailing(request: Request, sailing_id: str, body: MoveSailing) -> dict:
        """Put the sailing on another version (409 seats-would-disappear naming the tickets)."""
        actor = require_staff(request, Permission.SEATMAPS_MANAGE)
        return container().seat_maps.move_sailing(request.tenant.id, sailing_id, body.seat_map_id, actor)

    @app.route("GET", "/sailings/{sailing_id}/blocks", response=BlocksView, errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def sailing_blocks(request: Request, sailing_id: str) -> dict:
        """Seats blocked on this sailing only, and those blocked in its version."""
        require_staff(request, Permission.CATALOG_READ)
        return container().seat_maps.blocks(request.tenant.id, sailing_id)

    @app.route("POST", "/sailings/{sailing_id}/blocks", body=BlockSeats, response=BlocksView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def block_seats(request: Request, sailing_id: str, body: BlockSeats) -> dict:
        """Block seats of this sailing (crew, broken): 409 seats-sold / seats-held unless release_holds."""
        actor = require_staff(request, Permission.SEATMAPS_MANAGE)
        return container().seat_maps.block(request.tenant.id, sailing_id, body.seat_ids, actor, body.reason,
                                           body.release_holds)

    @app.route("POST", "/sailings/{sailing_id}/unblock", body=UnblockSeats, response=BlocksView,
               errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def unblock_seats(request: Request, sailing_id: str, body: UnblockSeats) -> dict:
        """Put seats blocked on this sailing back on sale."""
        actor = require_staff(request, Permission.SEATMAPS_MANAGE)
        return container().seat_maps.unblock(request.tenant.id, sailing_id, body.seat_ids, actor)


def _file(body: dict[str, Any], name: str) -> Response:
    return Response(body=body, headers={"Content-Disposition": f'attachment; filename="{name}"'})
