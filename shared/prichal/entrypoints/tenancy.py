"""Which tenant a request is for, decided before anything else happens.

In order: the tenant header (``X-Tenant``, set by a proxy of ours or a storefront server
behind one), then the host the buyer typed (``X-Forwarded-Host`` from our edge, else
``Host``) looked up among the tenants' domains. The tenant header and ``X-Forwarded-Host``
count only when the request came through our trusted proxies (``request.forwarded_trusted``,
see ``client_address``): anyone else could claim any tenant or host with them; the edge
(ingress, the local gateway) drops a client's own. Answers are cached in-process for a
short while.
"""

from __future__ import annotations

from prichal.adapters.db.tenant_directory import TenantDirectory
from prichal.adapters.memory_cache import TtlCache
from prichal.domain.errors import TenantMissing, TenantUnknown
from prichal.domain.tenants import Tenant

from .app import Request


class TenantResolver:
    def __init__(self, directory: TenantDirectory, header: str, cache_seconds: float) -> None:
        self._directory = directory
        self._header = header
        self._by_slug: TtlCache[Tenant | None] = TtlCache(cache_seconds)
        self._by_host: TtlCache[Tenant | None] = TtlCache(cache_seconds)

    def __call__(self, request: Request) -> Tenant:
        trusted = request.forwarded_trusted
        slug = (request.header(self._header) or "").strip() if trusted else ""
        if slug:
            tenant = self._by_slug.get_or_load(slug, lambda: self._directory.by_slug(slug))
            if tenant is None:
                raise TenantUnknown(f"no tenant {slug!r}", tenant=slug)
            return tenant
        forwarded = request.header("X-Forwarded-Host") if trusted else None
        host = (forwarded or request.header("Host") or "").split(",")[0].strip()
        host = host.rsplit(":", 1)[0].lower() if host and not host.endswith("]") else host.lower()
        if host:
            tenant = self._by_host.get_or_load(host, lambda: self._directory.by_host(host))
            if tenant is not None:
                return tenant
        raise TenantMissing(f"say which tenant: send the {self._header} header or use a tenant's host name",
                            host=host or None)

    def forget(self) -> None:
        """Drop every cached tenant of this process (after onboarding changed one)."""
        self._by_slug.clear()
        self._by_host.clear()
