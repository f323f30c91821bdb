"""crm: the back office of agents, supervisors, finance and admins.

The routes live in the core package, one module per area, each adding its own with
``register(app)``: staff access (``crm_staff``: login, logout, me, staff users, API tokens,
audit log), support cases and SLAs (``crm_cases``), orders (``crm_orders``). Every route
but login asks ``require_staff`` for its permission.
"""

from __future__ import annotations

from prichal.bootstrap import function_app
from prichal.entrypoints import crm_cases, crm_orders, crm_staff

app = function_app("crm", "CRM", "The back office: staff access, orders, support cases and their SLAs.")
crm_staff.register(app)
crm_cases.register(app)
crm_orders.register(app)

handle = app.openfaas_handler
main = app.functions_framework_target
