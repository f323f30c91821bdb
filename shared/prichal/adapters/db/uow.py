"""Unit of work: one transaction, scoped to one tenant, with the repositories on it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine, text

from .case_repository import CaseRepository
from .catalog_admin_repository import CatalogAdminRepository
from .catalog_repository import CatalogRepository
from .crm_repository import ActionKeys, AttentionRepository, CardReader, NoteRepository
from .document_repository import DocumentRepository
from .hold_repository import HoldRepository
from .journal import Inbox, OrderLog, Outbox
from .order_repository import OrderRepository
from .order_search_repository import OrderSearchRepository
from .payment_repository import PaymentRepository
from .refund_repository import RefundRepository
from .report_repository import ReportJobRepository
from .seat_map_repository import SeatMapRepository
from .staff_repository import Audit, StaffRepository
from .supplier_repository import SupplierRepository

_SCOPE = text("SELECT set_config('app.tenant_id', :t, true), set_config('synchronous_commit', :sync, true)")


class UnitOfWork:
    """``with UnitOfWork(engine, tenant_id) as uow: ...; uow.commit()``.

    Sets ``app.tenant_id`` for the transaction only, so row-level security confines every
    statement to that tenant. Without ``commit()`` the transaction is rolled back.
    ``tenant_id=""`` is the platform's own scope: no tenant row is visible, the platform's
    staff and audit log are (``uow.platform_staff``, ``uow.audit``).
    """

    conn: Connection
    catalog: CatalogRepository
    catalog_admin: CatalogAdminRepository
    holds: HoldRepository
    orders: OrderRepository
    order_search: OrderSearchRepository
    attention: AttentionRepository
    notes: NoteRepository
    action_keys: ActionKeys
    card: CardReader
    payments: PaymentRepository
    refunds: RefundRepository
    documents: DocumentRepository
    seat_maps: SeatMapRepository
    suppliers: SupplierRepository
    log: OrderLog
    outbox: Outbox
    inbox: Inbox
    staff: StaffRepository  # the tenant's staff users and tokens
    platform_staff: StaffRepository  # platform admins (no tenant)
    audit: Audit
    cases: CaseRepository
    reports: ReportJobRepository

    def __init__(self, engine: Engine, tenant_id: str, durable: bool = True) -> None:
        self._engine = engine
        self.tenant_id = tenant_id
        self._durable = durable

    def __enter__(self) -> UnitOfWork:
        self.conn = self._engine.connect()
        self._tx = self.conn.begin()
        # One round trip: the tenant scope and, for ephemeral records only (holds), a commit
        # that does not wait for the WAL flush — a crash may forget the last moments of
        # holds, which Redis would have forgotten too. Money-moving writes stay durable.
        self.conn.execute(_SCOPE, {"t": self.tenant_id, "sync": "on" if self._durable else "off"})
        self.catalog = CatalogRepository(self.conn, self.tenant_id)
        self.catalog_admin = CatalogAdminRepository(self.conn, self.tenant_id)
        self.holds = HoldRepository(self.conn, self.tenant_id)
        self.orders = OrderRepository(self.conn, self.tenant_id)
        self.order_search = OrderSearchRepository(self.conn, self.tenant_id)
        self.attention = AttentionRepository(self.conn, self.tenant_id)
        self.notes = NoteRepository(self.conn, self.tenant_id)
        self.action_keys = ActionKeys(self.conn, self.tenant_id)
        self.card = CardReader(self.conn, self.tenant_id)
        self.payments = PaymentRepository(self.conn, self.tenant_id)
        self.refunds = RefundRepository(self.conn, self.tenant_id)
        self.documents = DocumentRepository(self.conn, self.tenant_id)
        self.seat_maps = SeatMapRepository(self.conn, self.tenant_id)
        self.suppliers = SupplierRepository(self.conn, self.tenant_id)
        self.log = OrderLog(self.conn, self.tenant_id)
        self.outbox = Outbox(self.conn, self.tenant_id)
        self.inbox = Inbox(self.conn, self.tenant_id)
        self.staff = StaffRepository(self.conn, self.tenant_id or "")
        self.platform_staff = StaffRepository(self.conn, None)
        self.audit = Audit(self.conn, self.tenant_id or None)
        self.cases = CaseRepository(self.conn, self.tenant_id)
        self.reports = ReportJobRepository(self.conn, self.tenant_id)
        return self

    def commit(self) -> None:
        self._tx.commit()

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.rollback()
        finally:
            self.conn.close()
