"""Catalog routes of the ``admin`` function for a tenant's admins: piers, vessels, programs,
tariffs and sailings (one sailing, or a season from a schedule).

The tenant is the request's (its host name, or the tenant header from our proxies); the
staff token must be of that tenant (``require_staff``): reads need ``catalog.read``,
changes ``catalog.manage``, cancelling a sailing ``sailings.cancel``. The rules are in
``prichal.services.catalog_admin``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from prichal.bootstrap import container
from prichal.domain.errors import InvalidInput
from prichal.domain.money import rubles
from prichal.domain.schedule import Schedule
from prichal.domain.staff import Permission
from prichal.domain.vat import VatRate
from prichal.entrypoints.app import FunctionApp, Request, Response
from prichal.entrypoints.fields import StrictText, Text
from prichal.entrypoints.openapi import describe
from prichal.entrypoints.staff import require_staff

SECURITY = ("staffToken",)
MONEY = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("give the offset, e.g. 2026-06-01T12:00:00+03:00")
    return value


def _https(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError("an https:// URL")
    return value


Instant = Annotated[dt.datetime, AfterValidator(_aware)]
ImageUrl = Annotated[StrictText, AfterValidator(_https)]
Money = Annotated[StrictText, Field(pattern=MONEY, description='rubles, e.g. "1500.00"')]
Id = Annotated[uuid.UUID, Field(description="an id of this tenant's catalog")]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- piers -----------------------------------------------------------------------------------
class PierChange(Closed):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    address: Text | None = Field(default=None, max_length=500)
    latitude: Decimal | None = Field(default=None, ge=-90, le=90, max_digits=9, decimal_places=6)
    longitude: Decimal | None = Field(default=None, ge=-180, le=180, max_digits=9, decimal_places=6)


class PierCreate(PierChange):
    name: Text = Field(min_length=1, max_length=200)  # type: ignore[assignment]


# --- vessels ---------------------------------------------------------------------------------
class VesselChange(Closed):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    capacity: StrictInt | None = Field(default=None, ge=0, le=10000, description="free seating's places")
    seat_map_id: Id | None = Field(default=None, description="the seat map new sailings use (a published version)")


class VesselCreate(Closed):
    name: Text = Field(min_length=1, max_length=200)
    capacity: StrictInt | None = Field(default=None, ge=0, le=10000)


# --- programs --------------------------------------------------------------------------------
class ProgramChange(Closed):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=10000)
    duration_minutes: StrictInt | None = Field(default=None, ge=1, le=24 * 60)
    images: list[ImageUrl] | None = Field(default=None, max_length=20, description="https URLs, in display order")


class ProgramCreate(ProgramChange):
    name: Text = Field(min_length=1, max_length=200)  # type: ignore[assignment]
    duration_minutes: StrictInt = Field(ge=1, le=24 * 60)  # type: ignore[assignment]


# --- tariffs ---------------------------------------------------------------------------------
class TariffChange(Closed):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    price: Money | None = None
    vat_rate: VatRate | None = Field(default=None, description="overrides the tenant's rate; null: the tenant's")
    valid_from: dt.date | None = Field(default=None, description="first day of departure it applies to")
    valid_until: dt.date | None = Field(default=None, description="last day of departure it applies to")
    active: StrictBool | None = None


class TariffCreate(TariffChange):
    program_id: Id
    ticket_type: StrictText = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$",
                                    description="adult, child, concession, ...")
    seat_category: StrictText | None = Field(default=None, max_length=64, description="null: any seat / free seating")
    name: Text = Field(min_length=1, max_length=200)  # type: ignore[assignment]
    price: Money  # type: ignore[assignment]


# --- sailings --------------------------------------------------------------------------------
class SailingChange(Closed):
    departs_at: Instant | None = None
    vessel_id: Id | None = None
    seat_map_id: Id | None = None
    capacity: StrictInt | None = Field(default=None, ge=0, le=10000, description="free seating only")
    duration_minutes: StrictInt | None = Field(default=None, ge=1, le=24 * 60)
    sales_open_at: Instant | None = Field(default=None, description="null: on sale at once")
    sales_close_at: Instant | None = Field(default=None, description="null: the boarding rule")


class SailingCreate(Closed):
    program_id: Id
    pier_id: Id
    vessel_id: Id
    departs_at: Instant
    seating: Literal["assigned", "free"] = "assigned"
    seat_map_id: Id | None = Field(default=None, description="default: the vessel's")
    capacity: StrictInt | None = Field(default=None, ge=0, le=10000, description="free seating; default: the vessel's")
    duration_minutes: StrictInt | None = Field(default=None, ge=1, le=24 * 60, description="default: the program's")
    sales_open_at: Instant | None = None
    sales_close_at: Instant | None = None


class SeasonCreate(Closed):
    """Sailings on the listed weekdays at the listed local times, first_day to last_day inclusive."""

    program_id: Id
    pier_id: Id
    vessel_id: Id
    seating: Literal["assigned", "free"] = "assigned"
    seat_map_id: Id | None = None
    capacity: StrictInt | None = Field(default=None, ge=0, le=10000)
    duration_minutes: StrictInt | None = Field(default=None, ge=1, le=24 * 60)
    first_day: dt.date
    last_day: dt.date
    weekdays: list[StrictInt] = Field(min_length=1, max_length=7, description="ISO: 1 Monday ... 7 Sunday")
    times: list[dt.time] = Field(min_length=1, max_length=48, description="local departure times, HH:MM")
    except_days: list[dt.date] = Field(default_factory=list, max_length=366)
    except_departures: list[dt.datetime] = Field(default_factory=list, max_length=2000,
                                                 description="local date and time without offset")
    sales_open_days_before: StrictInt | None = Field(default=None, ge=0, le=366)
    sales_close_minutes_before: StrictInt | None = Field(default=None, ge=0, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _naive(self) -> SeasonCreate:
        if any(t.tzinfo for t in self.times) or any(d.tzinfo for d in self.except_departures):
            raise ValueError("times are local wall-clock times in the tenant's zone: no offsets")
        return self


class Cancel(Closed):
    reason: Text = Field(min_length=1, max_length=500)


class SailingsQuery(Closed):
    start: Instant | None = Field(default=None, alias="from", description="departing at or after")
    end: Instant | None = Field(default=None, alias="to", description="departing before")
    program: uuid.UUID | None = None


class TariffsQuery(Closed):
    program: uuid.UUID | None = None


class Entity(BaseModel):
    """A catalog row as stored (ids and instants as text, money as "1500.00")."""

    model_config = ConfigDict(extra="allow")
    id: str


class EntityList(BaseModel):
    items: list[Entity]


class Generated(BaseModel):
    created: int
    skipped: int = Field(description="departures that existed already")
    sailing_ids: list[str]
    departures: list[str]


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="allow")
    sailing_id: str
    status: str


# Fields a change may clear with null; any other null is "leave the default" on creation
# and refused on a change (the column has no "nothing").
NULLABLE = frozenset({"latitude", "longitude", "capacity", "seat_map_id", "vat_rate", "valid_from", "valid_until",
                      "sales_open_at", "sales_close_at", "seat_category"})


def _values(body: BaseModel, change: bool = False) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    cleared = [key for key, value in values.items() if value is None and key not in NULLABLE]
    if change and cleared:
        raise InvalidInput("these fields cannot be cleared", errors=[
            {"loc": [key], "type": "not_nullable", "msg": "give a value or leave it out"} for key in cleared])
    for key in cleared:
        del values[key]
    for key, value in list(values.items()):
        if isinstance(value, uuid.UUID):
            values[key] = str(value)
        elif key == "price" and value is not None:
            values[key] = rubles(value)
        elif key == "vat_rate" and value is not None:
            values[key] = VatRate(value).value
    return values


def _staff(request: Request, permission: Permission) -> Any:
    return require_staff(request, permission)


KINDS = {"piers": (PierCreate, PierChange), "vessels": (VesselCreate, VesselChange),
         "programs": (ProgramCreate, ProgramChange), "tariffs": (TariffCreate, TariffChange)}


def _register_kind(app: FunctionApp, kind: str, create: type[BaseModel], change: type[BaseModel]) -> None:
    singular = kind[:-1]

    if kind == "tariffs":
        @app.route("GET", f"/{kind}", query=TariffsQuery, response=EntityList, errors=(401, 403))
        @describe(security=SECURITY)
        def list_tariffs(request: Request, query: TariffsQuery) -> dict:
            """Tariffs, of one program or all."""
            _staff(request, Permission.CATALOG_READ)
            where = {"program_id": str(query.program)} if query.program else {}
            return {"items": container().catalog_admin.list(request.tenant, kind, **where)}
    else:
        @app.route("GET", f"/{kind}", response=EntityList, errors=(401, 403))
        @describe(security=SECURITY)
        def list_all(request: Request) -> dict:
            _staff(request, Permission.CATALOG_READ)
            return {"items": container().catalog_admin.list(request.tenant, kind)}
        list_all.__doc__ = f"Every {singular} of the tenant."

    @app.route("POST", f"/{kind}", body=create, response=Entity, status=201, errors=(401, 403, 409),
               summary=f"Create a {singular}")
    @describe(security=SECURITY)
    def create_one(request: Request, body: BaseModel) -> Response:
        actor = _staff(request, Permission.CATALOG_MANAGE)
        row = container().catalog_admin.create(actor, request.tenant, kind, _values(body))
        return Response(status=201, body=row, headers={"Location": f"/function/admin/{kind}/{row['id']}"})

    @app.route("GET", f"/{kind}/{{entity_id}}", response=Entity, errors=(401, 403, 404), summary=f"One {singular}")
    @describe(security=SECURITY)
    def read_one(request: Request, entity_id: str) -> dict:
        _staff(request, Permission.CATALOG_READ)
        return container().catalog_admin.get(request.tenant, kind, entity_id)

    @app.route("PATCH", f"/{kind}/{{entity_id}}", body=change, response=Entity, errors=(401, 403, 404, 409),
               summary=f"Change a {singular}")
    @describe(security=SECURITY)
    def change_one(request: Request, entity_id: str, body: BaseModel) -> dict:
        actor = _staff(request, Permission.CATALOG_MANAGE)
        return container().catalog_admin.update(actor, request.tenant, kind, entity_id, _values(body, change=True))

    @app.route("DELETE", f"/{kind}/{{entity_id}}", status=204, errors=(401, 403, 404, 409),
               summary=f"Delete a {singular} (refused once it is in use or sold)")
    @describe(security=SECURITY, responses={204: None})
    def delete_one(request: Request, entity_id: str) -> Response:
        actor = _staff(request, Permission.CATALOG_MANAGE)
        container().catalog_admin.delete(actor, request.tenant, kind, entity_id)
        return Response(status=204)


def register(app: FunctionApp) -> None:
    for kind, (create, change) in KINDS.items():
        _register_kind(app, kind, create, change)

    @app.route("GET", "/sailings", query=SailingsQuery, response=EntityList, errors=(401, 403))
    @describe(security=SECURITY)
    def list_sailings(request: Request, query: SailingsQuery) -> dict:
        """Sailings departing in a window (at most 2000), of one program or all."""
        _staff(request, Permission.CATALOG_READ)
        return {"items": container().catalog_admin.sailings(
            request.tenant, query.start, query.end, str(query.program) if query.program else None)}

    @app.route("POST", "/sailings", body=SailingCreate, response=Entity, status=201, errors=(401, 403, 409))
    @describe(security=SECURITY)
    def create_sailing(request: Request, body: SailingCreate) -> Response:
        """Create one sailing (assigned seating takes the vessel's seat map unless it names one)."""
        actor = _staff(request, Permission.CATALOG_MANAGE)
        row = container().catalog_admin.create_sailing(actor, request.tenant, _values(body))
        return Response(status=201, body=row, headers={"Location": f"/function/admin/sailings/{row['id']}"})

    @app.route("POST", "/sailings/generate", body=SeasonCreate, response=Generated, status=201,
               errors=(401, 403, 409))
    @describe(security=SECURITY)
    def generate_season(request: Request, body: SeasonCreate) -> Response:
        """Generate a season from a recurring schedule; existing departures are skipped."""
        actor = _staff(request, Permission.CATALOG_MANAGE)
        values = _values(body)
        schedule = Schedule(first_day=body.first_day, last_day=body.last_day, weekdays=frozenset(body.weekdays),
                            times=tuple(body.times), timezone=request.tenant.timezone,
                            except_days=frozenset(body.except_days),
                            except_departures=frozenset(body.except_departures))
        return Response(status=201, body=container().catalog_admin.generate(actor, request.tenant, values, schedule))

    @app.route("GET", "/sailings/{sailing_id}", response=Entity, errors=(401, 403, 404))
    @describe(security=SECURITY)
    def read_sailing(request: Request, sailing_id: str) -> dict:
        """One sailing."""
        _staff(request, Permission.CATALOG_READ)
        return container().catalog_admin.get(request.tenant, "sailings", sailing_id)

    @app.route("PATCH", "/sailings/{sailing_id}", body=SailingChange, response=Entity, errors=(401, 403, 404, 409))
    @describe(security=SECURITY)
    def change_sailing(request: Request, sailing_id: str, body: SailingChange) -> dict:
        """Change time, vessel, seat map, capacity or sales window: 409 naming the tickets a change would lose."""
        actor = _staff(request, Permission.CATALOG_MANAGE)
        return container().catalog_admin.update_sailing(actor, request.tenant, sailing_id,
                                                        _values(body, change=True))

    @app.route("DELETE", "/sailings/{sailing_id}", status=204, errors=(401, 403, 404, 409))
    @describe(security=SECURITY, responses={204: None})
    def delete_sailing(request: Request, sailing_id: str) -> Response:
        """Delete a sailing that never had a buyer (otherwise cancel it)."""
        actor = _staff(request, Permission.CATALOG_MANAGE)
        container().catalog_admin.delete(actor, request.tenant, "sailings", sailing_id)
        return Response(status=204)

    @app.route("POST", "/sailings/{sailing_id}/close-sales", response=Entity, errors=(401, 403, 404))
    @describe(security=SECURITY, body_required=False)
    def close_sailing_sales(request: Request, sailing_id: str) -> dict:
        """Stop selling this sailing now."""
        actor = _staff(request, Permission.CATALOG_MANAGE)
        return container().catalog_admin.close_sales(actor, request.tenant, sailing_id)

    @app.route("POST", "/sailings/{sailing_id}/cancel", body=Cancel, response=Cancellation, status=202,
               errors=(401, 403, 404, 409, 503))
    @describe(security=SECURITY)
    def cancel_sailing(request: Request, sailing_id: str, body: Cancel) -> Response:
        """Cancel the sailing: its buyers are refunded by the refund service."""
        actor = _staff(request, Permission.SAILINGS_CANCEL)
        return Response(status=202, body=container().catalog_admin.cancel(actor, request.tenant, sailing_id,
                                                                           body.reason))
