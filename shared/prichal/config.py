"""Every setting of the system, read in one place.

Values come from environment variables and, for credentials, from secret files as
OpenFaaS mounts them (``/var/openfaas/secrets/<name>``; the folder is configurable with
``SECRETS_DIR``). A secret file WINS over an environment variable of the same setting: in a
cluster the mounted secret is the truth, and a stale or leaked variable cannot replace it.
Without secret files (a developer machine, the tests) the environment and the defaults
apply. ``read_secret`` is the one reader of secrets by name (settings and provider keys).
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRETS_DIR = "/var/openfaas/secrets"
# What a secret's name may be (as Kubernetes names secrets): never a path.
_SECRET_NAME = re.compile(r"[a-z0-9]([a-z0-9._-]{0,251}[a-z0-9])?")


def secrets_dir() -> Path:
    return Path(os.environ.get("SECRETS_DIR", DEFAULT_SECRETS_DIR))
# What a function keeps of its exec_timeout for everything but provider calls (database,
# tenant lookup, a cold start's imports): see ``payment_call_budget_seconds``.
PROVIDER_MARGIN_SECONDS = 5.0


def read_secret_files(directory: str | None = None) -> dict[str, str]:
    """Secrets as OpenFaaS mounts them: one file per secret, named like ``database-url``.

    Returns ``{"database_url": "..."}`` for every file whose name matches a setting; passed
    to ``Settings`` as init values, they win over the environment.
    """
    folder = Path(directory) if directory else secrets_dir()
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.iterdir():
        name = path.name.replace("-", "_").lower()
        if name in Settings.model_fields and (value := _file(path)) is not None:
            found[name] = value
    return found


def read_secret(name: str, bundle: str | None = None) -> str | None:
    """The secret ``name`` (e.g. ``yookassa-demo``): files first, then the environment.

    1. the file ``SECRETS_DIR/<name>``;
    2. the entry ``<name>`` of the file ``SECRETS_DIR/<bundle>`` (one secret holding many,
       e.g. ``yookassa-keys``: a JSON object ``{"yookassa-demo": "..."}`` or ``name=value``
       lines), so that adding a tenant needs no new mount;
    3. the environment variable ``NAME`` (``YOOKASSA_DEMO``), then the entry in the
       variable ``BUNDLE`` — for a developer machine or a single-tenant install.
    """
    if not _SECRET_NAME.fullmatch(name or "") or (bundle and not _SECRET_NAME.fullmatch(bundle)):
        return None
    folder = secrets_dir()
    found = _file(folder / name)
    if found is None and bundle:
        found = _bundle_entry(_file(folder / bundle), name)
    if found is None:
        found = os.environ.get(_env_name(name)) or None
    if found is None and bundle:
        found = _bundle_entry(os.environ.get(_env_name(bundle)), name)
    return found


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _file(path: Path) -> str | None:
    try:
        text = path.read_text().strip() if path.is_file() else ""
    except OSError:
        return None
    return text or None


def _bundle_entry(text: str | None, name: str) -> str | None:
    """``name``'s value in a bundle: a JSON object of strings, or ``name=value`` lines."""
    if not text:
        return None
    if text.lstrip().startswith("{"):
        try:
            entries = json.loads(text)
        except ValueError:
            return None
        value = entries.get(name) if isinstance(entries, dict) else None
        return (value.strip() or None) if isinstance(value, str) else None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name and not key.lstrip().startswith("#"):
            return value.strip() or None
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=False,
        extra="ignore",
    )

    # --- mode ----------------------------------------------------------------------
    # "production" refuses to start on any development default (see prichal.production).
    prichal_env: Literal["development", "production"] = "development"
    # The sandbox provider ``mock`` (whose public page marks any order paid) is accepted only
    # in sandbox mode. Unset: on in development, off in production.
    payments_sandbox: bool | None = None

    # --- data services (credentials: secrets database-url, rabbitmq-url) -----------------
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/prichal"
    # Role every application session switches to, so that row-level security applies
    # even when the login role owns the tables. Empty = do not switch.
    db_app_role: str = "prichal_app"
    db_pool_size: int = 8
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Prefix of every Redis key; tests give each run its own.
    redis_prefix: str = "prichal:"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    events_exchange: str = "prichal.events"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "prichal"
    s3_access_key: str = "prichal"
    s3_secret_key: str = "prichal-secret"  # noqa: S105 - the local S3 server's; production uses a secret file
    s3_region: str = "us-east-1"
    # Where buyers reach the object store, when not at S3_ENDPOINT_URL (presigned URLs carry the host).
    s3_public_endpoint_url: str | None = None

    # --- documents and email -------------------------------------------------------------
    # Ed25519 private key signing the e-tickets' QR codes: PEM (PKCS#8) or base64 of the raw
    # 32 bytes; production mounts the ``ticket-signing-key`` secret. Empty: a development key
    # derived from a public constant (logged loudly), never acceptable in production.
    ticket_signing_key: str | None = None
    # Tenant template overrides: <dir>/<tenant slug>/{ticket,invoice,act}.html, documents.css, email/.
    document_templates_dir: str | None = None
    # "auto": our designs drawn with ReportLab, a tenant's own templates with WeasyPrint;
    # "html": every document from the HTML templates with WeasyPrint (see adapters/pdf_renderer.py).
    document_renderer: Literal["auto", "html"] = "auto"
    # Presigned download links: in API answers (short) and in the buyer's email (SigV4: <= 7 days).
    document_url_expiry_seconds: int = 600
    email_link_expiry_seconds: int = 7 * 24 * 3600
    # An email attempt older than this that never recorded its outcome was interrupted.
    email_lease_seconds: int = 300
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "tickets@prichal.local"
    smtp_timeout_seconds: float = 20.0

    # --- finance reports (report-export) -------------------------------------------------
    # Jobs of one tenant queued or running at once; one more request is refused (429).
    report_max_concurrent_jobs: int = 3
    # The longest period one report may cover, in days.
    report_max_period_days: int = 366
    # Download links of finished reports, in API answers and in the scheduled e-mails (<= 7 days).
    report_url_expiry_seconds: int = 900
    report_email_link_expiry_seconds: int = 7 * 24 * 3600
    # A running job that reported no progress for this long is taken over by a redelivery;
    # a job older than this no longer counts against the concurrency cap.
    report_job_lease_seconds: int = 900
    # Attempts of a job when storage is down before it is marked failed.
    report_max_attempts: int = 3
    # Local hour of each tenant at which the nightly and monthly reports are requested.
    report_schedule_hour: int = 3
    report_mail_from: str = "reports@prichal.local"
    # PostgreSQL's work_mem in a report's transaction (server memory per sort, not the
    # function's): the sales register's sort of a million lines stays in memory.
    report_db_work_mem: str = "512MB"

    # --- holds ---------------------------------------------------------------------
    hold_ttl_seconds: int = 15 * 60
    # A hold can be extended, but never to live longer than this from its creation.
    hold_max_lifetime_seconds: int = 30 * 60
    hold_max_seats: int = 10
    # Redis keeps a copy of the seats with live tickets for the hold script; it is rebuilt
    # from PostgreSQL at least this often (and at once after a Redis restart).
    taken_seats_ttl_seconds: int = 600
    # Hold creations per minute per client (the storefront's X-Client-Id session, else the
    # address) and per client address (behind trusted proxies: X-Forwarded-For).
    hold_rate_limit_per_minute: int = 30
    hold_rate_limit_per_address_per_minute: int = 120
    # Seats (or free-seating places) one buyer may hold on one sailing at a time, over all its
    # holds; a buyer is a client id signed with the tenant's storefront key, else the address.
    # 0 = no cap.
    hold_max_seats_per_client: int = 20
    # Orders created per minute per buyer (as above) and per client address; 0 = no limit.
    order_rate_limit_per_minute: int = 10
    order_rate_limit_per_address_per_minute: int = 30

    # --- checkout and payments -----------------------------------------------------
    yookassa_api_url: str = "https://api.yookassa.ru/v3"
    # Every provider call of one request or cron run (attempts, and the waits between
    # them) ends within this many seconds, all calls together. It must leave
    # PROVIDER_MARGIN_SECONDS of the function's time for the rest: budget + margin <=
    # exec_timeout (stack.yml) of each function that calls a provider (create-order,
    # payment-webhook, expire-holds); tests/unit/test_stack_yml.py checks it.
    payment_call_budget_seconds: float = Field(default=10.0, gt=0)
    # A refund the provider has not accepted for this long counts in the
    # prichal_refunds_stuck gauge (expire-holds' /metrics); alert when it is above 0.
    refund_stuck_after_seconds: int = 900
    # Refunds (issue #9): a sailing cancellation refunds this many orders per batch; the
    # cron re-sends unsent refunds and re-reads pending ones untouched for this long.
    refund_batch_size: int = Field(default=50, ge=1, le=1000)
    refund_recheck_after_seconds: int = Field(default=120, ge=0)
    # CRM orders (issue #10): a refund requested or pending at the provider for longer than
    # this goes to the attention queue.
    crm_refund_pending_alert_minutes: int = Field(default=60, ge=1)
    # The sandbox provider (the mock-payments function) speaks the same API.
    mock_payments_api_url: str = "http://127.0.0.1:8080/function/mock-payments/v3"
    # Where notifications may come from, per provider (CIDRs, comma separated). YooKassa
    # publishes its ranges; the sandbox runs inside the cluster or on this machine.
    yookassa_webhook_allowlist: str = (
        "185.71.76.0/27,185.71.77.0/27,77.75.153.0/25,77.75.156.11/32,77.75.156.35/32,"
        "77.75.154.128/25,2a02:5180::/32")
    mock_webhook_allowlist: str = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
    # Where the buyer lands after paying when the storefront gives no return_url.
    default_return_url: str = "http://127.0.0.1:8080/function/create-order/paid"
    # Signs the buyer's order access tokens (an OpenFaaS secret in production).
    order_token_secret: str = "dev-order-token-secret"  # noqa: S105 - development default only
    # Publish outbox events right after the transaction that wrote them (the relay's
    # cron run catches up with whatever this misses).
    publish_inline: bool = True

    # --- tenancy and HTTP ----------------------------------------------------------
    tenant_header: str = "X-Tenant"
    client_id_header: str = "X-Client-Id"
    # How many proxies of ours stand in front of the function, each adding its peer to
    # X-Forwarded-For: the client is that many entries from the right (0: the connection's
    # peer). stack.yml sets 1 (an edge that replaces a client's header, then the OpenFaaS
    # gateway); what to set elsewhere is in README.md "Client addresses and proxies".
    trusted_proxy_hops: int = 0
    # Where those proxies connect from, when the runtime knows the peer (functions-framework):
    # a peer outside these is the client itself, and its X-Forwarded-* / tenant header are not
    # believed (CIDRs, comma separated).
    trusted_proxies: str = "127.0.0.1/32,::1/128"
    # The largest request body a function reads (413 beyond).
    max_body_bytes: int = 1024 * 1024
    # The credential of internal routes (cron and event functions, /metrics): callers send
    # ``Authorization: Bearer <it>``; production mounts the ``internal-token`` secret.
    internal_token: str = "dev-internal-token"  # noqa: S105 - development default only
    # True where the network itself keeps outsiders from internal routes (cluster-local
    # Knative services + NetworkPolicy), because PingSource and Triggers cannot add headers.
    internal_network_guarded: bool = False
    # Key of the per-tenant token in webhook URLs (/<provider>/<tenant>/<token>); production
    # mounts the ``webhook-url-key`` secret. Changing it changes every tenant's webhook URL.
    webhook_url_key: str = "dev-webhook-url-key"
    # Where providers reach payment-webhook (the admin CLI prints each tenant's URL under it).
    payment_webhook_url: str = "http://127.0.0.1:8080/function/payment-webhook"
    tenant_cache_seconds: float = 30.0
    catalog_cache_seconds: float = 10.0
    seat_status_cache_seconds: float = 5.0
    # --- seat-map editor (admin function) ------------------------------------------
    # The largest seat-map file imported (bytes; the edge's MAX_BODY_BYTES caps uploads too).
    seatmap_import_max_bytes: int = 1024 * 1024

    # --- payments: the sandbox provider (the mock-payments function) -----------------
    # The secret every caller of the sandbox must present as the Basic auth password (any
    # shop id); production mounts it from the ``mock-payments-secret`` secret file.
    mock_payments_secret: str = "sandbox-secret"  # noqa: S105 - a sandbox's well-known default
    # Where buyers reach the sandbox: confirmation URLs are ``<this>/pay/<payment id>``.
    mock_payments_public_url: str = "http://127.0.0.1:8080/function/mock-payments"
    # Where the sandbox posts its notifications; ``{shop_id}`` becomes the payment's shop id,
    # ``{webhook_token}`` that shop's webhook token (``webhook_url_key``).
    mock_payments_notify_url: str = (
        "http://127.0.0.1:8080/function/payment-webhook/mock/{shop_id}/{webhook_token}")

    # --- boat operators (supplier-sync, supplier-orders) ------------------------------
    # Every call to an operator: this long per attempt, this many attempts with doubling
    # waits, then the circuit counts a failure; that many in a row open it for a while.
    supplier_timeout_seconds: float = Field(default=5.0, gt=0)
    supplier_attempts: int = Field(default=3, ge=1)
    supplier_backoff_seconds: float = Field(default=0.2, ge=0)
    supplier_circuit_failures: int = Field(default=5, ge=1)
    supplier_circuit_open_seconds: float = Field(default=30.0, gt=0)
    # Catalog sync: the next days at every cron run, the season horizon at most this often.
    supplier_near_days: int = Field(default=3, ge=1)
    supplier_season_days: int = Field(default=120, ge=1)
    supplier_season_interval_seconds: int = 3600
    supplier_reconcile_interval_seconds: int = 24 * 3600
    # A sale the operator has not taken after this many deliveries of order.paid is refunded.
    supplier_push_max_attempts: int = Field(default=5, ge=1)
    # Defaults of accounts that name no URL (real mode: the operators' APIs; stub mode: the
    # sandbox's stub servers, see prichal_sandbox.suppliers). ASTRA_USE_STUB / NEVA_USE_STUB
    # choose the mode of accounts created without one (``admin suppliers``).
    astra_use_stub: bool = True
    astra_base_url: str = "https://api.astra-marine.ru/api"
    astra_stub_url: str = "http://127.0.0.1:8091/astra"
    neva_use_stub: bool = True
    neva_base_url: str = "https://api.neva.travel/v1"
    neva_stub_url: str = "http://127.0.0.1:8092/neva"
    # --- staff of the back offices (prichal.services.staff_auth) --------------------------
    # A login session's bearer token lives at most this long, and ends sooner when unused
    # for the idle time (the check is accurate to a minute: last use is written once a minute).
    staff_session_ttl_seconds: int = Field(default=8 * 3600, gt=0)
    staff_session_idle_seconds: int = Field(default=30 * 60, gt=0)
    # API tokens (machines): their lifetime when the issuer names none, and the longest allowed.
    staff_api_token_days: int = Field(default=90, gt=0)
    staff_api_token_max_days: int = Field(default=366, gt=0)
    # This many failed logins in a row lock the user for the lockout time (429 with Retry-After).
    staff_login_max_failures: int = Field(default=5, gt=0)
    staff_login_lockout_seconds: int = Field(default=15 * 60, gt=0)
    staff_password_min_length: int = Field(default=12, ge=8)
    # Login attempts per minute from one client address, whatever the e-mail (password
    # spraying over many users, which the per-user lockout does not see); 0 = no limit.
    staff_login_rate_limit_per_address_per_minute: int = Field(default=30, ge=0)
    # argon2id cost (RFC 9106's second recommendation: 64 MiB, 3 passes); tests lower it.
    staff_argon2_time_cost: int = Field(default=3, ge=1)
    staff_argon2_memory_kib: int = Field(default=64 * 1024, ge=8)
    staff_argon2_parallelism: int = Field(default=1, ge=1)

    # --- the CRM ---------------------------------------------------------------------------
    # Its SLO (DESIGN.md): GET /function/crm/sla compares its own latency percentiles with them.
    crm_slo_p95_ms: float = Field(default=800.0, gt=0)
    crm_slo_p99_ms: float = Field(default=1500.0, gt=0)
    # The Prometheus server that scrapes the functions (http://host:9090): /sla then reports
    # every instance's latency over the window; unset, this instance's since it started.
    crm_sla_prometheus_url: str | None = None
    crm_sla_window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    crm_sla_prometheus_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    # --- observability -------------------------------------------------------------
    log_level: str = "INFO"
    otel_exporter: Literal["none", "console", "otlp"] = Field(
        default="none", description="none | console | otlp (OTLP over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT)")
    # Share of new traces recorded; unset: all when exporting, none otherwise. A caller's
    # sampled traceparent is always followed.
    otel_sample_ratio: float | None = None
    service_name: str = "prichal"

    @property
    def production(self) -> bool:
        return self.prichal_env == "production"

    @property
    def sandbox(self) -> bool:
        """Is the ``mock`` provider accepted here?"""
        return not self.production if self.payments_sandbox is None else self.payments_sandbox

    @property
    def hold_ttl(self) -> timedelta:
        return timedelta(seconds=self.hold_ttl_seconds)

    @property
    def hold_max_lifetime(self) -> timedelta:
        return timedelta(seconds=self.hold_max_lifetime_seconds)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests build their own ``Settings``)."""
    return Settings(**read_secret_files())
