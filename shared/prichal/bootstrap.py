"""Wires settings to real adapters, once per process (cosmicpython's ``bootstrap``).

Entry points ask for ``container()``; tests build a ``Container`` from their own
``Settings`` (own database, own Redis prefix) and install it with ``use_container``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from sqlalchemy import Connection, Engine

from prichal.adapters.db.engine import make_app_engine, make_owner_engine
from prichal.adapters.db.staff_repository import Audit
from prichal.adapters.db.tenant_admin_repository import TenantAdminUnit
from prichal.adapters.db.tenant_directory import TenantDirectory
from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.object_storage import ObjectStorage
from prichal.adapters.passwords import Argon2Passwords
from prichal.adapters.payments.base import PaymentProvider
from prichal.adapters.payments.registry import (
    YOOKASSA_KEYS,
    accepted_providers,
    account_for,
    client_for,
    webhook_allowlist,
)
from prichal.adapters.rabbitmq import EventPublisher
from prichal.adapters.redis_catalog import CatalogGenerations
from prichal.adapters.redis_holds import RedisHoldStore, epoch_ms
from prichal.adapters.smtp_mailer import SmtpMailer
from prichal.adapters.templates import Templates
from prichal.config import Settings, get_settings, read_secret
from prichal.domain.errors import Unavailable
from prichal.domain.holds import HoldPolicy
from prichal.domain.orders import PaymentAccount
from prichal.domain.suppliers import SupplierAccount
from prichal.domain.tenants import Tenant
from prichal.domain.ticket_codes import InvalidTicketCode, TicketClaims, TicketSigner, parse_private_key, verify
from prichal.entrypoints.app import FunctionApp
from prichal.entrypoints.edge import EdgePolicy
from prichal.entrypoints.tenancy import TenantResolver
from prichal.observability.logging import configure_logging
from prichal.observability.tracing import configure_tracing
from prichal.production import refuse_unsafe_start
from prichal.services.attention_queue import AttentionQueue
from prichal.services.boarding import Boarding
from prichal.services.cases import CaseService
from prichal.services.catalog import CatalogService
from prichal.services.catalog_admin import CatalogAdmin
from prichal.services.catalog_reader import CatalogReader
from prichal.services.checkout import CheckoutService
from prichal.services.crm_sla import CrmSla
from prichal.services.documents import DocumentService, DocumentSettings
from prichal.services.holds import HoldService
from prichal.services.inventory import Inventory
from prichal.services.order_actions import OrderActions
from prichal.services.order_card import OrderCard
from prichal.services.order_search import OrderSearch
from prichal.services.outbox import OutboxRelay
from prichal.services.payments import PaymentService
from prichal.services.refund_notices import RefundNotices
from prichal.services.refunds import RefundService
from prichal.services.reports import ReportService, ReportSettings
from prichal.services.request_limits import RequestLimit
from prichal.services.seat_maps import SeatMapService
from prichal.services.staff_auth import StaffAuth, StaffAuthPolicy
from prichal.services.staff_users import StaffUsers
from prichal.services.supplier_orders import SupplierOrders
from prichal.services.supplier_port import SaleReversal, SupplierClient
from prichal.services.supplier_reconciliation import SupplierReconciliation
from prichal.services.supplier_refunds import RefundsBridge
from prichal.services.supplier_sync import SupplierSync, SyncPolicy
from prichal.services.tenant_onboarding import TenantOnboarding

if TYPE_CHECKING:
    from prichal.adapters.pdf_renderer import PdfRenderer

log = logging.getLogger("prichal.bootstrap")

# Seed of the development ticket key: public, so tickets it signs prove nothing.
DEV_TICKET_KEY_SEED = hashlib.sha256(b"prichal development ticket signing key - not for production").digest()


class MailNotConfigured(Unavailable):
    code = "mail-not-configured"
    title = "No SMTP server is configured"


def utc_now() -> datetime:
    return datetime.now(UTC)


def audit_log(conn: Connection, tenant_id: str | None) -> Audit:
    """The staff audit log of a tenant on ``conn`` (the staff module's, the one audit log)."""
    return Audit(conn, tenant_id)


@dataclass
class Container:
    settings: Settings
    clock: object = field(default=utc_now)  # () -> aware datetime; tests may freeze it

    @cached_property
    def engine(self) -> Engine:
        return make_app_engine(self.settings.database_url, self.settings.db_app_role, self.settings.db_pool_size)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url, health_check_interval=30,
                                    socket_timeout=2, socket_connect_timeout=2)

    @cached_property
    def tenants(self) -> TenantDirectory:
        return TenantDirectory(self.engine)

    @cached_property
    def edge_policy(self) -> EdgePolicy:
        return EdgePolicy.from_settings(self.settings)

    @cached_property
    def tenant_resolver(self) -> TenantResolver:
        return TenantResolver(self.tenants, self.settings.tenant_header, self.settings.tenant_cache_seconds)

    def uow(self, tenant_id: str, durable: bool = True) -> UnitOfWork:
        return UnitOfWork(self.engine, tenant_id, durable)

    @cached_property
    def hold_store(self) -> RedisHoldStore:
        return RedisHoldStore(self.redis, self.settings.redis_prefix, self.settings.taken_seats_ttl_seconds * 1000)

    @cached_property
    def hold_policy(self) -> HoldPolicy:
        s = self.settings
        return HoldPolicy(ttl=s.hold_ttl, max_lifetime=s.hold_max_lifetime, max_seats=s.hold_max_seats,
                          max_seats_per_client=s.hold_max_seats_per_client)

    @cached_property
    def catalog_reader(self) -> CatalogReader:
        return CatalogReader(self.uow, self.settings.catalog_cache_seconds, self.catalog_generations.current)

    @cached_property
    def catalog_generations(self) -> CatalogGenerations:
        return CatalogGenerations(self.redis, self.settings.redis_prefix)

    @cached_property
    def holds(self) -> HoldService:
        return HoldService(self.uow, self.hold_store, self.catalog_reader, self.hold_policy,
                           (self.settings.hold_rate_limit_per_minute,
                            self.settings.hold_rate_limit_per_address_per_minute), self.now)

    @cached_property
    def seat_maps(self) -> SeatMapService:
        return SeatMapService(uow=self.uow, store=self.hold_store, inventory=self.inventory, holds=self.holds,
                              catalog=self.catalog_reader, clock=self.now,
                              import_max_bytes=self.settings.seatmap_import_max_bytes,
                              catalog_changed=self.catalog_generations.bump)

    @cached_property
    def order_limit(self) -> RequestLimit:
        s = self.settings
        return RequestLimit(self.hold_store, "order", s.order_rate_limit_per_minute,
                            s.order_rate_limit_per_address_per_minute)

    @cached_property
    def catalog(self) -> CatalogService:
        return CatalogService(self.uow, self.hold_store, self.catalog_reader, self.now,
                              self.settings.seat_status_cache_seconds)

    def payment_client(self, account: PaymentAccount) -> PaymentProvider:
        """A client for a payment's account, kept per process for its connection pool."""
        client = self._payment_clients.get(account)
        if client is None:
            client = self._payment_clients[account] = client_for(account, self.settings)
        return client

    @cached_property
    def _payment_clients(self) -> dict[PaymentAccount, PaymentProvider]:
        return {}

    @cached_property
    def publisher(self) -> EventPublisher:
        return EventPublisher(self.settings.rabbitmq_url, self.settings.events_exchange)

    @cached_property
    def relay(self) -> OutboxRelay:
        return OutboxRelay(self.uow, lambda: self.publisher, self.now, inline=self.settings.publish_inline)

    @cached_property
    def payments(self) -> PaymentService:
        return PaymentService(self.uow, lambda tenant: account_for(tenant, self.settings), self.payment_client,
                              self.hold_store, self.relay,
                              lambda provider: webhook_allowlist(provider, self.settings),
                              self.settings.default_return_url, self.now,
                              call_budget=self.settings.payment_call_budget_seconds)

    @cached_property
    def checkout(self) -> CheckoutService:
        return CheckoutService(self.uow, self.catalog_reader, self.holds, self.hold_store, self.hold_policy,
                               self.payments,
                               self.settings.order_token_secret, self.now,
                               local_return_urls=not self.settings.production)

    @cached_property
    def inventory(self) -> Inventory:
        return Inventory(self.hold_store)

    @cached_property
    def refunds(self) -> RefundService:
        return RefundService(self.uow, self.catalog_reader, self.inventory, self.payments, self.relay,
                             RefundNotices(self.uow, self.mailer, self.settings.smtp_from, self.now), self.now,
                             batch=self.settings.refund_batch_size, catalog_changed=self.catalog_generations.bump)

    @cached_property
    def ticket_signer(self) -> TicketSigner:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if self.settings.ticket_signing_key:
            return TicketSigner(parse_private_key(self.settings.ticket_signing_key))
        signer = TicketSigner(Ed25519PrivateKey.from_private_bytes(DEV_TICKET_KEY_SEED))
        log.warning("!!! TICKET_SIGNING_KEY is not set: e-tickets are signed with the PUBLIC development key "
                    "(kid %s). Anyone can forge such tickets. Set the ticket-signing-key secret in production. !!!",
                    signer.kid)
        return signer

    @cached_property
    def storage(self) -> ObjectStorage:
        s = self.settings
        return ObjectStorage(s.s3_endpoint_url, s.s3_bucket, s.s3_access_key, s.s3_secret_key, s.s3_region,
                             s.s3_public_endpoint_url)

    @cached_property
    def templates(self) -> Templates:
        folder = self.settings.document_templates_dir
        return Templates(Path(folder) if folder else None)

    @cached_property
    def pdf_renderer(self) -> PdfRenderer:
        """ReportLab (and, for templates, WeasyPrint) is imported only by the function that renders."""
        from prichal.adapters.pdf_renderer import PdfRenderer

        return PdfRenderer(self.templates, self.settings.document_renderer)

    def mailer(self) -> SmtpMailer:
        s = self.settings
        if not s.smtp_host:
            raise MailNotConfigured("SMTP_HOST is not set; the email waits until it is")
        return SmtpMailer(s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password, s.smtp_starttls,
                          s.smtp_timeout_seconds)

    @cached_property
    def documents(self) -> DocumentService:
        s = self.settings
        return DocumentService(
            self.uow, self.tenants, self.catalog_reader, lambda: self.pdf_renderer, self.templates, self.storage,
            self.ticket_signer, self.mailer,
            DocumentSettings(sender=s.smtp_from, link_expiry=timedelta(seconds=s.document_url_expiry_seconds),
                             email_link_expiry=timedelta(seconds=s.email_link_expiry_seconds),
                             email_lease=timedelta(seconds=s.email_lease_seconds)),
            self.now)

    # --- boat operators ------------------------------------------------------------------
    def supplier_client(self, account: SupplierAccount) -> SupplierClient:
        """A client per account, kept per process (its connection pool; breakers are shared anyway)."""
        from prichal.adapters.suppliers.registry import client_for

        client = self._supplier_clients.get(account)
        if client is None:
            client = self._supplier_clients[account] = client_for(account, self.settings)
        return client

    @cached_property
    def _supplier_clients(self) -> dict[SupplierAccount, SupplierClient]:
        return {}

    @cached_property
    def supplier_reversal(self) -> SaleReversal:
        return RefundsBridge(self)

    @cached_property
    def supplier_sync(self) -> SupplierSync:
        s = self.settings
        return SupplierSync(self.uow, self.supplier_client, self.supplier_reversal, self.now,
                            SyncPolicy(s.supplier_near_days, s.supplier_season_days,
                                       timedelta(seconds=s.supplier_season_interval_seconds)),
                            inventory=self.inventory, held_seats=self._held_seats,
                            catalog_changed=self.catalog_generations.bump)

    def _held_seats(self, tenant_id: str, sailing_id: str) -> set[str]:
        return set(self.hold_store.seat_claims(tenant_id, sailing_id, epoch_ms(self.now())))

    @cached_property
    def supplier_orders(self) -> SupplierOrders:
        return SupplierOrders(self.uow, self.supplier_client, self.supplier_reversal, self.now,
                              self.settings.supplier_push_max_attempts)

    @cached_property
    def supplier_reconciliation(self) -> SupplierReconciliation:
        return SupplierReconciliation(self.uow, self.supplier_client, self.now)
    @cached_property
    def order_search(self) -> OrderSearch:
        return OrderSearch(uow=self.uow, ticket_id_of_code=self._ticket_id_of_code)

    @cached_property
    def order_card(self) -> OrderCard:
        return OrderCard(uow=self.uow, link=self.storage.presigned_get,
                         link_seconds=self.settings.document_url_expiry_seconds)

    @cached_property
    def order_actions(self) -> OrderActions:
        return OrderActions(uow=self.uow, relay=self.relay, refunds=lambda: self.refunds, clock=self.now)

    @cached_property
    def boarding(self) -> Boarding:
        return Boarding(uow=self.uow, verify=self.ticket_claims, clock=self.now)

    @cached_property
    def attention_queue(self) -> AttentionQueue:
        return AttentionQueue(uow=self.uow, clock=self.now,
                              refund_pending_alert=timedelta(minutes=self.settings.crm_refund_pending_alert_minutes))

    def ticket_claims(self, code: str) -> TicketClaims:
        """A ticket code's claims, verified with our key; ``InvalidTicketCode`` otherwise."""
        return verify(code, self.ticket_signer.public_key)

    def _ticket_id_of_code(self, code: str) -> str | None:
        try:
            return self.ticket_claims(code).ticket
        except InvalidTicketCode:
            return None

    @cached_property
    def passwords(self) -> Argon2Passwords:
        s = self.settings
        return Argon2Passwords(s.staff_argon2_time_cost, s.staff_argon2_memory_kib, s.staff_argon2_parallelism)

    @cached_property
    def staff_policy(self) -> StaffAuthPolicy:
        s = self.settings
        return StaffAuthPolicy(
            session_ttl=timedelta(seconds=s.staff_session_ttl_seconds),
            session_idle=timedelta(seconds=s.staff_session_idle_seconds),
            api_token_days=s.staff_api_token_days, api_token_max_days=s.staff_api_token_max_days,
            max_failures=s.staff_login_max_failures, lockout=timedelta(seconds=s.staff_login_lockout_seconds),
            password_min_length=s.staff_password_min_length)

    @cached_property
    def staff_login_limit(self) -> RequestLimit:
        per_address = self.settings.staff_login_rate_limit_per_address_per_minute
        return RequestLimit(self.hold_store, "staff-login", per_address, per_address)

    @cached_property
    def staff_auth(self) -> StaffAuth:
        return StaffAuth(uow=self.uow, passwords=self.passwords, policy=self.staff_policy, now=self.now)

    @cached_property
    def cases(self) -> CaseService:
        return CaseService(uow=self.uow, now=self.now)

    @cached_property
    def crm_sla(self) -> CrmSla:
        fleet = None
        if self.settings.crm_sla_prometheus_url:
            from prichal.adapters.prometheus_api import PrometheusLatency

            fleet = PrometheusLatency(self.settings.crm_sla_prometheus_url, self.settings.crm_sla_window_minutes,
                                      self.settings.crm_sla_prometheus_timeout_seconds)
        return CrmSla(cases=self.cases, attention=self.attention_queue, p95_ms=self.settings.crm_slo_p95_ms,
                      p99_ms=self.settings.crm_slo_p99_ms, now=self.now, fleet=fleet)

    @cached_property
    def staff_users(self) -> StaffUsers:
        return StaffUsers(uow=self.uow, passwords=self.passwords, policy=self.staff_policy, now=self.now)

    @cached_property
    def owner_engine(self) -> Engine:
        """The schema owner's engine: tenants and their hosts are written only by onboarding."""
        return make_owner_engine(self.settings.database_url)

    @cached_property
    def tenant_onboarding(self) -> TenantOnboarding:
        return TenantOnboarding(
            unit=lambda: TenantAdminUnit(self.owner_engine, audit_log),
            secret_found=lambda name: read_secret(name, bundle=YOOKASSA_KEYS) is not None,
            accepted_providers=accepted_providers(self.settings),
            forget=lambda tenant: self.tenant_resolver.forget())

    @cached_property
    def catalog_admin(self) -> CatalogAdmin:
        return CatalogAdmin(uow=self.uow, invalidate=lambda tenant_id, sailing_ids: self.catalog_generations.bump(
            tenant_id), cancel_sailing=self._cancel_sailing, held_seats=self._held_seats, clock=self.now)

    def _held_seats(self, tenant_id: str, sailing_id: str) -> set[str]:
        return set(self.hold_store.held_seats(tenant_id, sailing_id, epoch_ms(self.now())))

    def _cancel_sailing(self, tenant: Tenant, sailing_id: str, actor: Any, reason: str) -> Any:
        """The refund service's cancellation path (built only when a sailing is cancelled)."""
        return self.refunds.cancel_sailing(tenant, sailing_id, actor, reason)

    @cached_property
    def reports(self) -> ReportService:
        from prichal.adapters.db.report_snapshot import report_snapshot

        s = self.settings
        return ReportService(
            self.uow, self.tenants, lambda tenant_id: report_snapshot(self.engine, tenant_id, s.report_db_work_mem),
            self.storage,
            self.relay, self.mailer,
            ReportSettings(max_concurrent=s.report_max_concurrent_jobs, max_period_days=s.report_max_period_days,
                           link_expiry=timedelta(seconds=s.report_url_expiry_seconds),
                           email_link_expiry=timedelta(seconds=s.report_email_link_expiry_seconds),
                           lease=timedelta(seconds=s.report_job_lease_seconds),
                           max_attempts=s.report_max_attempts, schedule_hour=s.report_schedule_hour,
                           mail_from=s.report_mail_from),
            self.now)

    def now(self) -> datetime:
        return self.clock()  # type: ignore[operator]

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "owner_engine" in self.__dict__:
            self.owner_engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()
        if "publisher" in self.__dict__:
            self.publisher.close()


_lock = threading.Lock()
_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                _container = Container(get_settings())
    return _container


def use_container(new: Container | None) -> None:
    """Replace the process-wide container (tests; ``None`` resets to settings from env)."""
    global _container
    with _lock:
        _container = new


def function_app(name: str, title: str, description: str = "", database: bool = True,
                 internal: bool = False) -> FunctionApp:
    """A ``FunctionApp`` wired to the process container: tenancy, proxies, internal routes, logs, traces.

    Called when a handler module is imported, i.e. when either runtime starts the function:
    in production mode an unsafe configuration ends the process here, before it serves
    (``prichal.production``; ``database=False`` for a function that never opens it).
    ``internal``: a function only the platform calls (cron, events); see ``entrypoints/edge.py``.
    """
    settings = get_settings()
    configure_logging(name, settings.log_level)
    refuse_unsafe_start(name, settings, database)
    configure_tracing(name, settings.otel_exporter, settings.otel_sample_ratio)
    return FunctionApp(name, title, description,
                       tenant_resolver=lambda request: container().tenant_resolver(request),
                       edge=lambda: container().edge_policy, internal=internal)
