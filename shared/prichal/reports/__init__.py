"""Finance reports: one module per report on the exporter base (``base.py``)."""

from . import daily_summary, payments_refunds, sales_register, supplier_settlement, vat_summary  # noqa: F401
