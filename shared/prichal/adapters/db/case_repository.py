"""Support cases, their messages and the tenant's SLA policy in PostgreSQL (rows as dicts)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from .tables import case_messages, case_numbers, case_sla_policies, orders, staff_users, support_cases


class CaseRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    # --- the policy ----------------------------------------------------------------------
    def policy(self) -> dict[str, Any] | None:
        return self.conn.execute(select(case_sla_policies.c.policy)).scalar()

    def set_policy(self, policy: dict[str, Any], now: datetime) -> None:
        statement = insert(case_sla_policies).values(tenant_id=self.tenant_id, policy=policy, updated_at=now)
        self.conn.execute(statement.on_conflict_do_update(index_elements=[case_sla_policies.c.tenant_id],
                                                          set_={"policy": policy, "updated_at": now}))

    # --- references a case may hold --------------------------------------------------------
    def order_exists(self, order_id: str) -> bool:
        return self.conn.execute(select(orders.c.id).where(orders.c.id == order_id)).first() is not None

    def order_contact(self, order_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(orders.c.customer_name, orders.c.customer_email, orders.c.customer_phone,
                                       orders.c.number).where(orders.c.id == order_id)).first()
        return dict(row._mapping) if row else None

    def active_staff(self, user_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(staff_users.c.id, staff_users.c.name).where(
            staff_users.c.id == user_id, staff_users.c.active)).first()
        return dict(row._mapping) if row else None

    # --- cases ---------------------------------------------------------------------------
    def next_number(self) -> int:
        statement = insert(case_numbers).values(tenant_id=self.tenant_id, last_number=1)
        statement = statement.on_conflict_do_update(
            index_elements=[case_numbers.c.tenant_id], set_={"last_number": case_numbers.c.last_number + 1})
        return self.conn.execute(statement.returning(case_numbers.c.last_number)).scalar_one()

    def add(self, **values: Any) -> str:
        return self.conn.execute(support_cases.insert().values(tenant_id=self.tenant_id, **values)
                                 .returning(support_cases.c.id)).scalar_one()

    def get(self, case_id: str, lock: bool = False) -> dict[str, Any] | None:
        query = select(support_cases).where(support_cases.c.id == case_id)
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return dict(row._mapping) if row else None

    def update(self, case_id: str, **values: Any) -> None:
        self.conn.execute(update(support_cases).where(support_cases.c.id == case_id).values(**values))

    def queue(self, *, statuses: Iterable[str], now: datetime, priority: str | None = None,
              assignee_id: str | None = None, unassigned: bool = False, order_id: str | None = None,
              flag: str | None = None, after: tuple[datetime | None, str] | None = None,
              limit: int = 50) -> list[dict[str, Any]]:
        """Cases by the deadline they run against (soonest first, those without one last, then
        by id); keyset pages ``after`` the (next_due, id) of the last row of the page before."""
        c = support_cases
        query = select(c).where(c.c.status.in_(list(statuses)))
        if priority:
            query = query.where(c.c.priority == priority)
        if assignee_id:
            query = query.where(c.c.assignee_id == assignee_id)
        if unassigned:
            query = query.where(c.c.assignee_id.is_(None))
        if order_id:
            query = query.where(c.c.order_id == order_id)
        if flag == "breached":
            query = query.where(c.c.next_due < now)
        elif flag == "at_risk":
            query = query.where(c.c.next_risk_at <= now, c.c.next_due >= now)
        if after is not None:
            due, last_id = after
            if due is None:
                query = query.where(c.c.next_due.is_(None), c.c.id > last_id)
            else:
                query = query.where(or_(c.c.next_due > due, and_(c.c.next_due == due, c.c.id > last_id),
                                        c.c.next_due.is_(None)))
        query = query.order_by(c.c.next_due.asc().nulls_last(), c.c.id).limit(limit)
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def sla_counts(self, now: datetime) -> dict[str, dict[str, int]]:
        """Open cases per priority: how many, at risk, breached."""
        c = support_cases
        breached = c.c.next_due < now
        at_risk = and_(c.c.next_risk_at <= now, c.c.next_due >= now)
        rows = self.conn.execute(
            select(c.c.priority, func.count().label("open"),
                   func.count().filter(at_risk).label("at_risk"), func.count().filter(breached).label("breached"))
            .where(c.c.status.in_(["new", "in_progress", "waiting_for_buyer"])).group_by(c.c.priority))
        return {row.priority: {"open": row.open, "at_risk": row.at_risk, "breached": row.breached} for row in rows}

    # --- messages ------------------------------------------------------------------------
    def add_message(self, case_id: str, kind: str, author_type: str, author_id: str | None, author_name: str,
                    body: str, now: datetime) -> int:
        return self.conn.execute(case_messages.insert().values(
            tenant_id=self.tenant_id, case_id=case_id, kind=kind, author_type=author_type, author_id=author_id,
            author_name=author_name, body=body, created_at=now).returning(case_messages.c.id)).scalar_one()

    def messages(self, case_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(case_messages).where(case_messages.c.case_id == case_id)
                                 .order_by(case_messages.c.id))
        return [dict(row._mapping) for row in rows]
