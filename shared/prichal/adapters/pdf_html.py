"""PDFs with WeasyPrint from the Jinja2 templates of ``prichal.adapters.templates``, fonts embedded.

Used for a tenant's own templates (and for ours with ``DOCUMENT_RENDERER=html``); see
``prichal.adapters.pdf_renderer`` for which documents are drawn where.

Speed (see bench/documents.py): the stylesheet and its fonts are parsed once per process
(one ``FontConfiguration``, pre-parsed ``CSS``), and the font files are a small
Latin+Cyrillic subset of DejaVu, so WeasyPrint's per-document subsetting of the glyphs
actually used is cheap (subsetting the full DejaVu was most of the cost of a naive
render) — and it makes each PDF ~14 KB instead of ~73 KB with the fonts embedded whole.
Renders are serialised per process: they are CPU-bound under the GIL anyway, and
fontconfig/Pango state is safer not shared by threads.
"""

from __future__ import annotations

import threading
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from prichal.domain.documents import DocumentKind

from .templates import PACKAGE_TEMPLATES, Templates, qr_png


class HtmlPdfRenderer:
    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self._fonts = FontConfiguration()
        self._base_css = CSS(filename=str(PACKAGE_TEMPLATES / "documents" / "documents.css"),
                             font_config=self._fonts)
        self._tenant_css: dict[str, list[CSS]] = {}
        self._lock = threading.Lock()

    def _stylesheets(self, slug: str) -> list[CSS]:
        sheets = self._tenant_css.get(slug)
        if sheets is None:
            sheets = [self._base_css]
            own = self.templates.tenant_dir(slug)
            if own is not None and (own / "documents.css").is_file():
                sheets.append(CSS(filename=str(own / "documents.css"), font_config=self._fonts))
            self._tenant_css[slug] = sheets
        return sheets

    def render(self, slug: str, kind: DocumentKind, context: dict[str, Any]) -> bytes:
        if kind is DocumentKind.TICKET:  # templates show the code as an image
            context = {**context, "ticket": {**context["ticket"], "qr_png": qr_png(context["ticket"]["code"])}}
        html = self.templates.render(slug, "documents", f"{kind.value}.html", context)
        base = self.templates.tenant_dir(slug) or PACKAGE_TEMPLATES / "documents"
        with self._lock:
            return HTML(string=html, base_url=f"{base}/").write_pdf(
                stylesheets=self._stylesheets(slug), font_config=self._fonts)
