"""What an agent does to an order: resend the tickets, correct the contact, note, flag, refund.

Every action runs in one transaction that changes the state, writes the order log, the
staff audit row (``uow.audit.record``) and, where others must react, the outbox event.
Each is idempotent: with an ``Idempotency-Key`` the first answer is replayed for every retry
(a different request under the same key is refused); without one, repeating it converges
on the same state (setting a contact or a flag twice changes nothing the second time),
except a note, which is why the API asks for a key there. Permissions are checked at the
door (``require_staff``) and again here, so a service call can never skip them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol

from prichal.domain import events
from prichal.domain.contacts import BadAddress, BadPhone, control_character, e164_phone, normalize_email
from prichal.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from prichal.domain.order_search import canonical_uuid
from prichal.observability.tracing import inject_context

ORDERS_EDIT = "orders.edit"
ORDERS_REFUND = "orders.refund"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


class Actor(Protocol):
    """``prichal.domain.staff.StaffActor``."""

    principal: Any
    address: str | None

    @property
    def user_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    def can(self, permission: Any) -> bool: ...


class IdempotencyKeyReused(Conflict):
    code = "idempotency-key-reused"
    title = "This Idempotency-Key was used for another request"


class RefundsUnavailable(Unavailable):
    code = "refunds-unavailable"
    title = "Refunds are not available here"


def _invalid(loc: list[str], msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[{"loc": loc, "type": "value_error", "msg": msg}])


def _text(value: str, field: str, max_length: int) -> str:
    cleaned = " ".join(value.split()) if field == "name" else value.strip()
    if not cleaned:
        raise _invalid(["body", field], f"{field} is empty")
    if len(cleaned) > max_length:
        raise _invalid(["body", field], f"{field} is longer than {max_length} characters")
    if field == "name" and (bad := control_character(cleaned)) is not None:
        raise _invalid(["body", field], f"{field} contains the control character {bad}")
    if "\x00" in cleaned:
        raise _invalid(["body", field], f"{field} contains NUL")
    return cleaned


def checked_key(key: str | None, required: bool = False) -> str | None:
    if key is None or key == "":
        if required:
            raise _invalid(["header", "Idempotency-Key"], "send an Idempotency-Key header with this request")
        return None
    if not _KEY.match(key):
        raise _invalid(["header", "Idempotency-Key"], "1 to 200 printable ASCII characters")
    return key


class OrderActions:
    def __init__(self, *, uow: Callable[[str], AbstractContextManager[Any]], relay: Any,
                 refunds: Callable[[], Any] | None, clock: Callable[[], datetime]) -> None:
        """``refunds``: gives the refund service (``container.refunds``), None where there is none."""
        self._uow = uow
        self._relay = relay
        self._refunds = refunds
        self._now = clock

    # --- the common frame -----------------------------------------------------------------
    def _once(self, tenant_id: str, order_id: str, actor: Actor, permission: str, action: str, key: str | None,
              request: dict[str, Any], change: Callable[[Any, Any], dict[str, Any]]) -> dict[str, Any]:
        if not actor.can(permission):
            raise Forbidden(f"{permission} is needed", permission=permission)
        canonical = canonical_uuid(order_id)
        if canonical is None:
            raise NotFound("order not found", order_id=order_id)
        fingerprint = hashlib.sha256(json.dumps([action, canonical, request], sort_keys=True, default=str)
                                     .encode()).hexdigest()
        with self._uow(tenant_id) as uow:
            if key is not None:
                uow.action_keys.lock(key)
                prior = uow.action_keys.get(key)
                if prior is not None:
                    if prior.request_hash != fingerprint:
                        raise IdempotencyKeyReused("send a new key for a new request", action=prior.action)
                    return {**prior.result, "replayed": True}
            order = uow.card.order(canonical, for_update=True)
            if order is None:
                raise NotFound("order not found", order_id=order_id)
            result = json.loads(json.dumps(change(uow, order), default=str))
            uow.audit.record(actor, action, "order", canonical, number=order.number, **request)
            if key is not None:
                uow.action_keys.put(key, action, canonical, fingerprint, result)
            uow.commit()
        return {**result, "replayed": False}

    @staticmethod
    def _who(actor: Actor) -> str:
        return f"agent:{actor.user_id}"

    # --- actions ---------------------------------------------------------------------------
    def resend_tickets(self, tenant_id: str, order_id: str, actor: Actor, key: str | None) -> dict[str, Any]:
        """Email the tickets again, to the order's current address (correct it first if wrong)."""
        def change(uow: Any, order: Any) -> dict[str, Any]:
            if order.paid_at is None:
                raise Conflict(f"order {order.number} is {order.status}: it has no tickets to send")
            if not order.customer_email:
                raise Conflict("the order has no e-mail address; correct the contact first")
            if not uow.card.documents(order.id):
                raise Conflict("the tickets are not issued yet; they are emailed as soon as they are")
            uow.card.reset_email(order.id, order.customer_email)
            uow.log.record("email.resend_requested", "order", order.id, self._who(actor), order.id,
                           recipient=order.customer_email)
            uow.outbox.add_event(events.TicketsResendRequested(
                order_id=order.id, number=order.number, recipient=order.customer_email,
                requested_by=self._who(actor)), headers=dict(inject_context({})))
            return {"order_id": order.id, "status": "queued", "recipient": order.customer_email}

        result = self._once(tenant_id, order_id, actor, ORDERS_EDIT, "order.tickets_resend", checked_key(key), {},
                            change)
        if not result["replayed"]:
            self._relay.publish_pending(tenant_id)
        return result

    def correct_contact(self, tenant_id: str, order_id: str, actor: Actor, key: str | None, *,
                        name: str | None = None, email: str | None = None,
                        phone: str | None = None) -> dict[str, Any]:
        wanted: dict[str, str] = {}
        if name is not None:
            wanted["customer_name"] = _text(name, "name", 200)
        if email is not None:
            try:
                wanted["customer_email"] = normalize_email(email.strip())
            except BadAddress as exc:
                raise _invalid(["body", "email"], str(exc)) from exc
        if phone is not None:
            try:
                wanted["customer_phone"] = e164_phone(phone)
            except BadPhone as exc:
                raise _invalid(["body", "phone"], str(exc)) from exc
        if not wanted:
            raise _invalid(["body"], "send the name, email or phone to correct")

        def change(uow: Any, order: Any) -> dict[str, Any]:
            before = {field: getattr(order, field) for field in wanted}
            changed = {field: {"from": before[field], "to": value} for field, value in wanted.items()
                       if before[field] != value}
            if changed:
                uow.card.update_contact(order.id, {field: c["to"] for field, c in changed.items()})
                uow.log.record("order.contact_corrected", "order", order.id, self._who(actor), order.id,
                               changes=changed)
            after = {**before, **wanted}
            return {"order_id": order.id, "changed": sorted(f.removeprefix("customer_") for f in changed),
                    "customer": {"name": after.get("customer_name", order.customer_name),
                                 "email": after.get("customer_email", order.customer_email),
                                 "phone": after.get("customer_phone", order.customer_phone)}}

        return self._once(tenant_id, order_id, actor, ORDERS_EDIT, "order.contact_corrected", checked_key(key),
                          {k.removeprefix("customer_"): v for k, v in wanted.items()}, change)

    def add_note(self, tenant_id: str, order_id: str, actor: Actor, key: str | None, text: str) -> dict[str, Any]:
        body = _text(text, "text", 4000)

        def change(uow: Any, order: Any) -> dict[str, Any]:
            note = uow.notes.add(order.id, actor.user_id, actor.name, body)
            uow.log.record("order.note_added", "order", order.id, self._who(actor), order.id, note_id=note["id"])
            return {"order_id": order.id, "note": note}

        return self._once(tenant_id, order_id, actor, ORDERS_EDIT, "order.note_added", checked_key(key),
                          {"length": len(body), "sha256": hashlib.sha256(body.encode()).hexdigest()}, change)

    def set_attention(self, tenant_id: str, order_id: str, actor: Actor, key: str | None, detail: str,
                      follow_up_on: date | None) -> dict[str, Any]:
        text = _text(detail, "detail", 1000)

        def change(uow: Any, order: Any) -> dict[str, Any]:
            uow.attention.flag(order.id, "manual", text, raised_by=self._who(actor), follow_up_on=follow_up_on)
            return {"order_id": order.id, "flags": [
                {"reason": f.reason, "detail": f.detail, "follow_up_on": f.follow_up_on}
                for f in uow.attention.open_for(order.id)]}

        return self._once(tenant_id, order_id, actor, ORDERS_EDIT, "order.attention_set", checked_key(key),
                          {"detail": text, "follow_up_on": follow_up_on}, change)

    def clear_attention(self, tenant_id: str, order_id: str, actor: Actor, key: str | None,
                        reason: str | None = None) -> dict[str, Any]:
        if reason is not None and not re.fullmatch(r"[a-z0-9_]{1,64}", reason):
            raise _invalid(["query", "reason"], "a reason code: lower-case letters, digits, underscores")

        def change(uow: Any, order: Any) -> dict[str, Any]:
            cleared = uow.attention.clear(order.id, self._who(actor), self._now(), reason)
            left = uow.attention.open_for(order.id)
            return {"order_id": order.id, "cleared": cleared, "flags": [
                {"reason": f.reason, "detail": f.detail, "follow_up_on": f.follow_up_on} for f in left]}

        return self._once(tenant_id, order_id, actor, ORDERS_EDIT, "order.attention_cleared", checked_key(key),
                          {"reason": reason}, change)

    def refund(self, tenant: Any, order_id: str, actor: Actor, key: str | None, *, ticket_ids: list[str] | None,
               reason: str, amount_override: Any = None) -> Any:
        """Through the refund service (its own idempotency, audit and permission rules)."""
        if not actor.can(ORDERS_REFUND):
            raise Forbidden(f"{ORDERS_REFUND} is needed", permission=ORDERS_REFUND)
        if self._refunds is None:
            raise RefundsUnavailable("no refund service is wired into this function")
        checked = checked_key(key, required=True)
        assert checked is not None
        return self._refunds().refund(tenant, order_id, ticket_ids, checked, actor,
                                      amount_override=amount_override, reason=reason)
