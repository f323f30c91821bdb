"""admin: a tenant's back office for its catalog and seat maps, and the platform's tenant
onboarding. The routes live in the core package's ``prichal.entrypoints.admin_*`` modules;
this entry point only builds the app and registers them."""

from __future__ import annotations

from prichal.bootstrap import function_app
from prichal.entrypoints import admin_seatmaps

app = function_app("admin", "Admin", "A tenant's catalog and seat maps (staff tokens), tenant onboarding.")
admin_seatmaps.register(app)

handle = app.openfaas_handler
main = app.functions_framework_target
