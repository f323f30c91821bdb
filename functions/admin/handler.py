"""admin: the seller's back office for its catalog, and the platform's tenant onboarding.

Routes live in the core package (``prichal.entrypoints.admin_*``), each module adding its
own with ``register(app)``: tenants (platform staff), the catalog (a tenant's admins) and
the seat-map editor. Every route takes a staff token (``prichal.entrypoints.staff``).
"""

from __future__ import annotations

from prichal.bootstrap import function_app
from prichal.entrypoints import admin_catalog, admin_seatmaps, admin_tenants

app = function_app("admin", "Admin", "Tenant onboarding, the catalog (piers, vessels, programs, tariffs, "
                                     "sailings and seasons) and the seat-map editor.")
admin_tenants.register(app)
admin_catalog.register(app)
admin_seatmaps.register(app)

handle = app.openfaas_handler
main = app.functions_framework_target
