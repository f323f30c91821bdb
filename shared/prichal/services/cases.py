"""Support cases: open, read, change (status, priority, assignee), messages and notes, the
queue by deadline, the tenant's SLA policy and the counts for ``GET /sla``.

Deadlines come from the tenant's policy (``case_sla_policies``; the defaults of
``prichal.domain.sla`` until one is set) and are recomputed on every change of the case, so a
new priority or policy applies from the case's next change on. Every change writes an audit
row in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from prichal.domain.cases import OPEN, CaseClock, CaseStatus, Channel, MessageKind, sla_view
from prichal.domain.errors import InvalidInput, NotFound
from prichal.domain.ids import canonical_uuid
from prichal.domain.sla import Priority, SlaPolicy
from prichal.domain.staff import StaffActor
from prichal.domain.tenants import Tenant

UNSET: Any = object()
MAX_BODY = 20_000


class CaseService:
    def __init__(self, *, uow: Callable[[str], Any], now: Callable[[], datetime]) -> None:
        self._uow = uow
        self._now = now

    # --- the policy ----------------------------------------------------------------------
    def policy(self, tenant: Tenant) -> SlaPolicy:
        with self._uow(tenant.id) as uow:
            return self._policy(uow, tenant)

    @staticmethod
    def _policy(uow: Any, tenant: Tenant) -> SlaPolicy:
        stored = uow.cases.policy()
        try:
            return SlaPolicy.from_data(stored, tenant.timezone)
        except InvalidInput:  # stored before a rule got stricter: the defaults, never a failure
            return SlaPolicy.from_data(None, tenant.timezone)

    def set_policy(self, tenant: Tenant, actor: StaffActor, data: dict[str, Any]) -> SlaPolicy:
        policy = SlaPolicy.from_data(data, tenant.timezone)  # InvalidInput with field errors
        with self._uow(tenant.id) as uow:
            uow.cases.set_policy(policy.to_data(), self._now())
            uow.audit.record(actor, "case.sla_policy_changed", "tenant", tenant.id, policy=policy.to_data())
            uow.commit()
        return policy

    # --- cases ---------------------------------------------------------------------------
    def open(self, tenant: Tenant, actor: StaffActor, *, subject: str, channel: Channel, priority: Priority,
             order_id: str | None = None, assignee_id: str | None = None, buyer_name: str | None = None,
             buyer_email: str | None = None, buyer_phone: str | None = None,
             message: str | None = None) -> dict[str, Any]:
        subject = _text(subject, "subject", 300)
        now = self._now()
        with self._uow(tenant.id) as uow:
            policy = self._policy(uow, tenant)
            contact: dict[str, Any] = {}
            if order_id is not None:
                order_id = self._order(uow, order_id)
                found = uow.cases.order_contact(order_id) or {}
                contact = {"buyer_name": found.get("customer_name"), "buyer_email": found.get("customer_email"),
                           "buyer_phone": found.get("customer_phone")}
            if assignee_id is not None:
                assignee_id = self._assignee(uow, assignee_id)
            clock = CaseClock(opened_at=now, priority=priority)
            case_id = uow.cases.add(
                number=uow.cases.next_number(), order_id=order_id, subject=subject, channel=channel.value,
                priority=priority.value, status=clock.status.value, assignee_id=assignee_id,
                buyer_name=buyer_name or contact.get("buyer_name"),
                buyer_email=buyer_email or contact.get("buyer_email"),
                buyer_phone=buyer_phone or contact.get("buyer_phone"), opened_at=now, created_by=actor.user_id,
                created_at=now, updated_at=now, **clock.schedule(policy))
            if message:
                uow.cases.add_message(case_id, MessageKind.BUYER.value, "staff", actor.user_id, actor.name,
                                      _text(message, "message", MAX_BODY), now)
            uow.audit.record(actor, "case.opened", "case", case_id, order_id=order_id, priority=priority.value,
                             channel=channel.value, assignee_id=assignee_id)
            view = self._view(uow, case_id, now)
            uow.commit()
        return view

    def get(self, tenant: Tenant, case_id: str) -> dict[str, Any]:
        with self._uow(tenant.id) as uow:
            return self._view(uow, self._case(uow, case_id)["id"], self._now())

    def change(self, tenant: Tenant, actor: StaffActor, case_id: str, *, status: CaseStatus | None = None,
               priority: Priority | None = None, assignee_id: Any = UNSET,
               subject: str | None = None) -> dict[str, Any]:
        """Change what is given (``assignee_id=None`` unassigns)."""
        if status is None and priority is None and assignee_id is UNSET and subject is None:
            raise InvalidInput("nothing to change", errors=[{"loc": [], "type": "missing", "msg": "nothing to change"}])
        now = self._now()
        with self._uow(tenant.id) as uow:
            case = self._case(uow, case_id, lock=True)
            policy = self._policy(uow, tenant)
            clock = _clock(case)
            changed: dict[str, Any] = {}
            if status is not None and status != clock.status:
                clock = clock.moved_to(status, now, policy)  # Conflict when not allowed
                changed["status"] = [case["status"], status.value]
            if priority is not None and priority != clock.priority:
                changed["priority"] = [case["priority"], priority.value]
                clock = replace(clock, priority=priority)
            values: dict[str, Any] = {}
            if assignee_id is not UNSET:
                new = None if assignee_id is None else self._assignee(uow, assignee_id)
                if new != (None if case["assignee_id"] is None else str(case["assignee_id"])):
                    values["assignee_id"] = new
                    changed["assignee_id"] = [case["assignee_id"], new]
            if subject is not None:
                values["subject"] = _text(subject, "subject", 300)
                changed["subject"] = True
            if changed:
                uow.cases.update(case["id"], **values, **_clock_columns(clock), **clock.schedule(policy),
                                 updated_at=now)
                uow.audit.record(actor, "case.changed", "case", case["id"], **{
                    k: (v if k == "subject" else [None if x is None else str(x) for x in v])
                    for k, v in changed.items()})
            view = self._view(uow, case["id"], now)
            uow.commit()
        return view

    def add_message(self, tenant: Tenant, actor: StaffActor, case_id: str, kind: MessageKind,
                    body: str) -> dict[str, Any]:
        """A buyer's message, a reply to the buyer (the first one stops the first-response
        clock) or an internal note. A new buyer message on a case waiting for the buyer puts
        it back in progress."""
        body = _text(body, "body", MAX_BODY)
        now = self._now()
        with self._uow(tenant.id) as uow:
            case = self._case(uow, case_id, lock=True)
            if case["status"] == CaseStatus.CLOSED:
                raise InvalidInput("the case is closed", errors=[{"loc": ["case"], "type": "closed",
                                                                  "msg": "a closed case takes no messages"}])
            policy = self._policy(uow, tenant)
            clock = _clock(case)
            if kind is MessageKind.REPLY:
                clock = clock.replied(now)
            elif kind is MessageKind.BUYER and clock.status is CaseStatus.WAITING_FOR_BUYER:
                clock = clock.moved_to(CaseStatus.IN_PROGRESS, now, policy)
            message_id = uow.cases.add_message(case["id"], kind.value, "platform" if actor.principal.platform
                                               else "staff", actor.user_id, actor.name, body, now)
            if clock != _clock(case):
                uow.cases.update(case["id"], **_clock_columns(clock), **clock.schedule(policy), updated_at=now)
            uow.audit.record(actor, "case.message_added", "case", case["id"], kind=kind.value, message_id=message_id)
            view = self._view(uow, case["id"], now)
            uow.commit()
        return view

    def queue(self, tenant: Tenant, *, status: list[CaseStatus] | None = None, priority: Priority | None = None,
              assignee_id: str | None = None, unassigned: bool = False, order_id: str | None = None,
              flag: str | None = None, after: str | None = None, limit: int = 50,
              ) -> tuple[list[dict[str, Any]], str | None]:
        """Open cases (or those of ``status``) soonest deadline first; the cursor of the next page."""
        statuses = [s.value for s in (status or sorted(OPEN))]
        now = self._now()
        if (assignee_id is not None and canonical_uuid(assignee_id) is None) or (
                order_id is not None and canonical_uuid(order_id) is None):
            return [], None
        with self._uow(tenant.id) as uow:
            rows = uow.cases.queue(statuses=statuses, now=now, priority=priority.value if priority else None,
                                   assignee_id=assignee_id, unassigned=unassigned, order_id=order_id, flag=flag,
                                   after=_cursor(after), limit=limit)
        items = [{**_public(row), "sla": sla_view(row, now)} for row in rows]
        last = rows[-1] if len(rows) == limit else None
        cursor = None if last is None else f"{last['next_due'].isoformat() if last['next_due'] else '-'}~{last['id']}"
        return items, cursor

    def sla_counts(self, tenant: Tenant) -> dict[str, dict[str, int]]:
        with self._uow(tenant.id) as uow:
            counts = uow.cases.sla_counts(self._now())
        return {p.value: counts.get(p.value, {"open": 0, "at_risk": 0, "breached": 0}) for p in Priority}

    # --- helpers -------------------------------------------------------------------------
    @staticmethod
    def _case(uow: Any, case_id: str, lock: bool = False) -> dict[str, Any]:
        canonical = canonical_uuid(case_id)
        case = uow.cases.get(canonical, lock=lock) if canonical else None
        if case is None:
            raise NotFound("no such case")
        return case

    @staticmethod
    def _order(uow: Any, order_id: str) -> str:
        canonical = canonical_uuid(order_id)
        if canonical is None or not uow.cases.order_exists(canonical):
            raise NotFound("no such order", field="order_id")
        return canonical

    @staticmethod
    def _assignee(uow: Any, user_id: str) -> str:
        canonical = canonical_uuid(user_id)
        if canonical is None or uow.cases.active_staff(canonical) is None:
            raise NotFound("no such active staff user", field="assignee_id")
        return canonical

    @staticmethod
    def _view(uow: Any, case_id: str, now: datetime) -> dict[str, Any]:
        case = uow.cases.get(case_id)
        return {**_public(case), "sla": sla_view(case, now),
                "messages": [{"id": m["id"], "kind": m["kind"], "author_type": m["author_type"],
                              "author_id": m["author_id"], "author_name": m["author_name"], "body": m["body"],
                              "created_at": m["created_at"]} for m in uow.cases.messages(case_id)]}


def _clock(case: dict[str, Any]) -> CaseClock:
    return CaseClock(opened_at=case["opened_at"], priority=Priority(case["priority"]),
                     status=CaseStatus(case["status"]), first_responded_at=case["first_responded_at"],
                     resolved_at=case["resolved_at"], closed_at=case["closed_at"],
                     waiting_since=case["waiting_since"], paused=timedelta(seconds=case["paused_seconds"]))


def _clock_columns(clock: CaseClock) -> dict[str, Any]:
    return {"status": clock.status.value, "priority": clock.priority.value,
            "first_responded_at": clock.first_responded_at, "resolved_at": clock.resolved_at,
            "closed_at": clock.closed_at, "waiting_since": clock.waiting_since,
            "paused_seconds": int(clock.paused.total_seconds())}


_PUBLIC = ("number", "subject", "channel", "priority", "status", "buyer_name", "buyer_email", "buyer_phone",
           "opened_at", "first_response_due", "first_responded_at", "resolution_due", "resolved_at", "closed_at",
           "created_by", "updated_at")


def _public(case: dict[str, Any]) -> dict[str, Any]:
    found = {k: case[k] for k in _PUBLIC}
    found.update(id=str(case["id"]), order_id=None if case["order_id"] is None else str(case["order_id"]),
                 assignee_id=None if case["assignee_id"] is None else str(case["assignee_id"]),
                 paused_seconds=case["paused_seconds"])
    return found


def _text(value: str, field: str, limit: int) -> str:
    found = (value or "").strip()
    if not found or len(found) > limit:
        raise InvalidInput(f"{field} must be 1-{limit} characters",
                           errors=[{"loc": [field], "type": "value_error", "msg": f"1-{limit} characters"}])
    return found


def _cursor(after: str | None) -> tuple[datetime | None, str] | None:
    if not after:
        return None
    due, sep, last_id = after.partition("~")
    try:
        when = None if due == "-" else datetime.fromisoformat(due)
    except ValueError:
        when = None
        sep = ""
    if not sep or canonical_uuid(last_id) is None or (when is not None and when.tzinfo is None):
        raise InvalidInput("not a cursor of this queue", errors=[{"loc": ["after"], "type": "value_error",
                                                                   "msg": "pass next_cursor as it came"}])
    return when, last_id
