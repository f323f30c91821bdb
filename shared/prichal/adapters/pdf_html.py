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

What a template may load (images, stylesheets, fonts, attachments) goes through
``LocalFetcher``: ``data:`` URLs and files under our template folder or the tenant's own,
nothing else — no ``file:///etc/...``, no secret mounted beside the function, no network.
A refused resource is left out of the PDF (WeasyPrint logs a warning) and the render goes on.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from prichal.domain.documents import DocumentKind

from .templates import PACKAGE_TEMPLATES, Templates, qr_png

log = logging.getLogger("prichal.documents")


class LocalFetcher(URLFetcher):
    """WeasyPrint's fetcher limited to ``data:`` URLs and files below ``roots`` (symlinks and
    ``..`` resolved before the check, so neither leads out)."""

    def __init__(self, *roots: Path) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self.roots = tuple(root.resolve() for root in roots)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file" and parts.netloc in ("", "localhost"):
            path = Path(url2pathname(parts.path)).resolve()
            if any(path.is_relative_to(root) for root in self.roots):
                return super().fetch(path.as_uri(), headers)
        elif scheme == "data":
            return super().fetch(url, headers)
        log.warning("a document template asked for %.200s: refused (only data: URLs and files of the templates)",
                    url)
        raise ValueError(f"{url[:200]} is not allowed in documents: only data: URLs and the templates' own files")


class HtmlPdfRenderer:
    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self._fonts = FontConfiguration()
        self._base_css = CSS(filename=str(PACKAGE_TEMPLATES / "documents" / "documents.css"),
                             font_config=self._fonts, url_fetcher=LocalFetcher(PACKAGE_TEMPLATES))
        self._fetchers: dict[str, LocalFetcher] = {}
        self._tenant_css: dict[str, list[CSS]] = {}
        self._lock = threading.Lock()

    def _stylesheets(self, slug: str) -> list[CSS]:
        sheets = self._tenant_css.get(slug)
        if sheets is None:
            sheets = [self._base_css]
            own = self.templates.tenant_dir(slug)
            if own is not None and (own / "documents.css").is_file():
                sheets.append(CSS(filename=str(own / "documents.css"), font_config=self._fonts,
                                  url_fetcher=self._fetcher(slug)))
            self._tenant_css[slug] = sheets
        return sheets

    def _fetcher(self, slug: str) -> LocalFetcher:
        fetcher = self._fetchers.get(slug)
        if fetcher is None:
            own = self.templates.tenant_dir(slug)
            fetcher = self._fetchers[slug] = LocalFetcher(PACKAGE_TEMPLATES, *([own] if own is not None else []))
        return fetcher

    def render(self, slug: str, kind: DocumentKind, context: dict[str, Any]) -> bytes:
        if kind is DocumentKind.TICKET:  # templates show the code as an image
            context = {**context, "ticket": {**context["ticket"], "qr_png": qr_png(context["ticket"]["code"])}}
        html = self.templates.render(slug, "documents", f"{kind.value}.html", context)
        base = self.templates.tenant_dir(slug) or PACKAGE_TEMPLATES / "documents"
        with self._lock:
            return HTML(string=html, base_url=f"{base}/", url_fetcher=self._fetcher(slug)).write_pdf(
                stylesheets=self._stylesheets(slug), font_config=self._fonts)
