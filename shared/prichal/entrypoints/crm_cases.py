"""CRM routes of support cases: open, the queue by deadline, read, change, messages and
notes, the tenant's SLA policy. Reading needs ``cases.read``, every change ``cases.manage``,
the policy ``tenant.settings``."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container
from prichal.domain.cases import CaseStatus, Channel, MessageKind
from prichal.domain.errors import InvalidInput
from prichal.domain.sla import Priority
from prichal.domain.staff import Permission

from .app import FunctionApp, Request
from .openapi import describe
from .staff import require_staff

STAFF = ("staffToken",)
SlaClock = Literal["ok", "at_risk", "breached", "met", "missed", "paused"]


class NewCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=300)
    channel: Channel
    priority: Priority = Priority.NORMAL
    order_id: str | None = Field(default=None, max_length=36, description="the order it is about, if any")
    assignee_id: str | None = Field(default=None, max_length=36)
    buyer_name: str | None = Field(default=None, max_length=200, description="default: the order's buyer")
    buyer_email: str | None = Field(default=None, max_length=254)
    buyer_phone: str | None = Field(default=None, max_length=40)
    message: str | None = Field(default=None, max_length=20_000, description="what the buyer asked")


class CaseChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: CaseStatus | None = None
    priority: Priority | None = None
    assignee_id: str | None = Field(default=None, max_length=36, description="null unassigns")
    subject: str | None = Field(default=None, min_length=1, max_length=300)


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: MessageKind = Field(description="buyer: what the buyer wrote or said; reply: our answer; note: internal")
    body: str = Field(min_length=1, max_length=20_000)


class SlaFlags(BaseModel):
    first_response: SlaClock
    resolution: SlaClock
    breached: bool
    at_risk: bool
    next_due: dt.datetime | None = Field(description="the deadline the case runs against now")


class CaseMessage(BaseModel):
    id: int
    kind: MessageKind
    author_type: str
    author_id: str | None
    author_name: str
    body: str
    created_at: dt.datetime


class CaseSummary(BaseModel):
    id: str
    number: int
    subject: str
    channel: Channel
    priority: Priority
    status: CaseStatus
    order_id: str | None
    assignee_id: str | None
    buyer_name: str | None
    buyer_email: str | None
    buyer_phone: str | None
    opened_at: dt.datetime
    first_response_due: dt.datetime
    first_responded_at: dt.datetime | None
    resolution_due: dt.datetime
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    paused_seconds: int = Field(description="counted time spent waiting for the buyer")
    created_by: str | None
    updated_at: dt.datetime
    sla: SlaFlags


class CaseView(CaseSummary):
    messages: list[CaseMessage]


class CaseQueue(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(description="pass as ?after= for the next page; null at the end")


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = Field(default=None, max_length=100,
                               description="comma-separated statuses; default: the open ones")
    priority: Priority | None = None
    assignee: str | None = Field(default=None, max_length=36, description="a staff user's id, 'me' or 'none'")
    order_id: str | None = Field(default=None, max_length=36)
    flag: Literal["at_risk", "breached"] | None = None
    after: str | None = Field(default=None, max_length=100)
    limit: int = Field(default=50, ge=1, le=200)


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_response_minutes: int = Field(ge=1, le=525_600)
    resolution_minutes: int = Field(ge=1, le=525_600)


class BusinessHoursBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str | None = Field(default=None, max_length=64, description="default: the tenant's")
    days: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str] | None] = Field(
        description='open hours by weekday, e.g. {"mon": ["09:00", "18:00"]}; null or absent: closed')
    holidays: list[dt.date] = Field(default_factory=list, max_length=400)


class SlaPolicyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    targets: dict[Priority, Target] = Field(default_factory=dict, description="absent priorities keep the defaults")
    at_risk_ratio: float = Field(default=0.75, gt=0, lt=1, description="share of the time after which it is at risk")
    business_hours: BusinessHoursBody | None = Field(default=None, description="null: round the clock")


class SlaPolicyView(BaseModel):
    targets: dict[Priority, Target]
    at_risk_ratio: float
    business_hours: BusinessHoursBody | None


class Slo(BaseModel):
    p95_ms: float
    p99_ms: float


class RouteLatency(BaseModel):
    route: str
    method: str
    requests: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class Latency(BaseModel):
    requests: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    p95_ok: bool | None = Field(description="null until there is a request to measure")
    p99_ok: bool | None
    source: str
    routes: list[RouteLatency]


class CaseCounts(BaseModel):
    open: int
    at_risk: int
    breached: int


class CasesSla(BaseModel):
    by_priority: dict[Priority, CaseCounts]
    total: CaseCounts


class AttentionSize(BaseModel):
    size: int | None = Field(description="orders waiting for a person; null when it cannot be told")


class SlaReport(BaseModel):
    at: dt.datetime
    slo: Slo
    latency: Latency
    cases: CasesSla
    attention_queue: AttentionSize


def register(app: FunctionApp) -> None:
    @app.route("GET", "/sla", response=SlaReport, errors=(401, 403))
    @describe(security=STAFF)
    def sla(request: Request) -> SlaReport:
        """The CRM's latency against its SLO, cases at risk and breached per priority, the attention queue."""
        require_staff(request, Permission.CASES_READ)
        return SlaReport(**container().crm_sla.report(request.tenant))

    @app.route("GET", "/cases/sla-policy", response=SlaPolicyView, errors=(401, 403))
    @describe(security=STAFF)
    def get_policy(request: Request) -> dict[str, Any]:
        """The tenant's SLA targets per priority and business hours."""
        require_staff(request, Permission.CASES_READ)
        return container().cases.policy(request.tenant).to_data()

    @app.route("PUT", "/cases/sla-policy", body=SlaPolicyBody, response=SlaPolicyView, errors=(401, 403))
    @describe(security=STAFF)
    def put_policy(request: Request, body: SlaPolicyBody) -> dict[str, Any]:
        """Set the SLA policy (applies to each case from its next change, and to new ones)."""
        actor = require_staff(request, Permission.TENANT_SETTINGS)
        return container().cases.set_policy(request.tenant, actor, body.model_dump(mode="json")).to_data()

    @app.route("POST", "/cases", status=201, body=NewCase, response=CaseView, errors=(401, 403, 404))
    @describe(security=STAFF)
    def open_case(request: Request, body: NewCase) -> CaseView:
        """Open a case for a buyer's request, linked to an order or not."""
        actor = require_staff(request, Permission.CASES_MANAGE)
        return CaseView(**container().cases.open(request.tenant, actor, **body.model_dump()))

    @app.route("GET", "/cases", query=QueueQuery, response=CaseQueue, errors=(401, 403))
    @describe(security=STAFF)
    def queue(request: Request, query: QueueQuery) -> CaseQueue:
        """The queue: cases by the deadline they run against, soonest first."""
        actor = require_staff(request, Permission.CASES_READ)
        statuses = None
        if query.status:
            try:
                statuses = [CaseStatus(s.strip()) for s in query.status.split(",") if s.strip()]
            except ValueError:
                known = ", ".join(s.value for s in CaseStatus)
                raise InvalidInput(f"status: one or more of {known}",
                                   errors=[{"loc": ["status"], "type": "enum", "msg": known}]) from None
        assignee = query.assignee
        items, cursor = container().cases.queue(
            request.tenant, status=statuses, priority=query.priority,
            assignee_id=actor.user_id if assignee == "me" else (None if assignee in (None, "none") else assignee),
            unassigned=assignee == "none", order_id=query.order_id, flag=query.flag, after=query.after,
            limit=query.limit)
        return CaseQueue(items=[CaseSummary(**i) for i in items], next_cursor=cursor)

    @app.route("GET", "/cases/{case_id}", response=CaseView, errors=(401, 403, 404))
    @describe(security=STAFF)
    def get_case(request: Request, case_id: str) -> CaseView:
        """A case with its messages and notes and its SLA flags."""
        require_staff(request, Permission.CASES_READ)
        return CaseView(**container().cases.get(request.tenant, case_id))

    @app.route("PATCH", "/cases/{case_id}", body=CaseChange, response=CaseView, errors=(401, 403, 404, 409))
    @describe(security=STAFF)
    def change_case(request: Request, case_id: str, body: CaseChange) -> CaseView:
        """Move the case along its statuses, change its priority or assignee."""
        actor = require_staff(request, Permission.CASES_MANAGE)
        given = body.model_dump(exclude_unset=True)
        return CaseView(**container().cases.change(request.tenant, actor, case_id, **given))

    @app.route("POST", "/cases/{case_id}/messages", status=201, body=NewMessage, response=CaseView,
               errors=(401, 403, 404, 409))
    @describe(security=STAFF)
    def add_message(request: Request, case_id: str, body: NewMessage) -> CaseView:
        """Add the buyer's message, a reply to the buyer or an internal note."""
        actor = require_staff(request, Permission.CASES_MANAGE)
        return CaseView(**container().cases.add_message(request.tenant, actor, case_id, body.kind, body.body))
