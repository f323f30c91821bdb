"""Which renderer draws a document: our built-in layouts, or a tenant's own templates.

- A tenant without document templates of its own gets our designs, drawn with ReportLab
  (``pdf_layouts``): ~5-8 ms a page instead of WeasyPrint's ~25-55 ms.
- A tenant that puts ``*.html`` or ``documents.css`` into its folder under
  ``DOCUMENT_TEMPLATES_DIR`` gets every document from its templates, through WeasyPrint
  (``pdf_html``): what it designed is what it gets, for all kinds alike (its templates
  may share partials, so the choice is per tenant, not per kind).
- ``DOCUMENT_RENDERER=html`` sends every tenant through WeasyPrint, our templates included
  (for comparing the two, or while editing ``templates/documents``).

WeasyPrint (and Pango under it) is imported only when a document needs it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal

from prichal.domain.documents import DocumentKind
from prichal.observability.metrics import DOCUMENT_RENDER

from .pdf_layouts import BuiltinLayouts
from .templates import Templates

if TYPE_CHECKING:
    from .pdf_html import HtmlPdfRenderer

RendererMode = Literal["auto", "html"]


class PdfRenderer:
    def __init__(self, templates: Templates, mode: RendererMode = "auto") -> None:
        self.templates = templates
        self.mode = mode
        self._builtin = BuiltinLayouts()
        self._html: HtmlPdfRenderer | None = None
        self._lock = threading.Lock()

    def uses_templates(self, slug: str) -> bool:
        """True when this tenant's documents come from HTML templates (WeasyPrint)."""
        return self.mode == "html" or self.templates.has_document_templates(slug)

    def render(self, slug: str, kind: DocumentKind, context: dict[str, Any]) -> bytes:
        templates = self.uses_templates(slug)
        with DOCUMENT_RENDER.labels(kind.value, "html" if templates else "builtin").time():
            if templates:
                return self.html.render(slug, kind, context)
            return self._builtin.render(kind, context)

    @property
    def html(self) -> HtmlPdfRenderer:
        if self._html is None:
            with self._lock:
                if self._html is None:
                    from .pdf_html import HtmlPdfRenderer

                    self._html = HtmlPdfRenderer(self.templates)
        return self._html
