"""Jinja2 templates of documents and emails, per tenant, and the QR codes they show.

Templates live in ``prichal/templates/{documents,email}``. A tenant overrides any of them by
putting a file of the same name under ``<DOCUMENT_TEMPLATES_DIR>/<tenant slug>/`` (documents;
``email/`` below it for the email), and may add a ``documents.css`` there that is applied
after ours. Files were chosen over a database column because templates are reviewed,
versioned and deployed like code, and WeasyPrint resolves a tenant's logo or font next to them.
Nothing here imports WeasyPrint: the ``documents`` API renders no PDF.

A tenant's template is not trusted code: every template (ours too) runs in Jinja's immutable
sandbox, which refuses ``__class__``/``__globals__``-style attributes and calls that change
data. Such an attempt fails the render with ``TemplateBroken`` (permanent, 422), it does not
quietly print nothing, so the tenant learns that the template is wrong.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import segno
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from prichal.domain.documents import TemplateBroken
from prichal.domain.vat import VatRate

PACKAGE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def rub(amount: Decimal) -> str:
    """``1 500,00``: Russian grouping (no-break space) and a decimal comma."""
    return f"{amount:,.2f}".replace(",", "\u00a0").replace(".", ",")


def vat_rate(rate: VatRate) -> str:
    return "Без НДС" if rate is VatRate.NONE else f"{rate.value}%"


def qr_png(payload: str) -> str:
    """A PNG data URI, one pixel per module: WeasyPrint draws a bitmap much faster than an SVG
    of many squares, and a tiny PNG is cheap to encode. The stylesheet scales it up with
    ``image-rendering: pixelated`` (no interpolation in the PDF), so the edges stay sharp.

    The mask pattern is fixed: choosing the best of eight (the penalty scoring) is ~80% of
    the encoding time, and any mask decodes; the quiet zone and error level "M" keep it
    robust on paper and screens."""
    return segno.make(payload, error="m", micro=False, mask=QR_MASK).png_data_uri(scale=1, border=2)


QR_MASK = 0


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, failing loudly: Jinja's own answers an unsafe attribute with an
    undefined value, which our ``ChainableUndefined`` would render as an empty string."""

    intercepted_binops = frozenset({"**"})  # 9**9**9 would keep a worker busy for good

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} object is unsafe")

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and not (isinstance(right, int | float) and abs(right) <= MAX_EXPONENT):
            raise SecurityError(f"a power with the exponent {right!r} is not allowed in templates")
        return super().call_binop(context, operator, left, right)


MAX_EXPONENT = 64


class Templates:
    """One Jinja environment per tenant and family (documents, email), built once."""

    def __init__(self, override_dir: Path | None) -> None:
        self.override_dir = override_dir
        self._environments: dict[tuple[str, str], jinja2.Environment] = {}
        self._own_documents: dict[str, bool] = {}
        self._lock = threading.Lock()

    def tenant_dir(self, slug: str) -> Path | None:
        if self.override_dir is None:
            return None
        folder = self.override_dir / slug
        return folder if folder.is_dir() else None

    def has_document_templates(self, slug: str) -> bool:
        """Whether the tenant brings document templates or a stylesheet of its own (read once
        per process, like the templates themselves: they are deployed, not edited live)."""
        found = self._own_documents.get(slug)
        if found is None:
            own = self.tenant_dir(slug)
            found = own is not None and ((own / "documents.css").is_file() or any(own.glob("*.html")))
            self._own_documents[slug] = found
        return found

    def environment(self, slug: str, family: str) -> jinja2.Environment:
        key = (slug, family)
        found = self._environments.get(key)
        if found is None:
            with self._lock:
                found = self._environments.get(key)
                if found is None:
                    loaders: list[jinja2.BaseLoader] = []
                    own = self.tenant_dir(slug)
                    if own is not None:
                        loaders.append(jinja2.FileSystemLoader(own if family == "documents" else own / family))
                    loaders.append(jinja2.FileSystemLoader(PACKAGE_TEMPLATES / family))
                    found = TemplateSandbox(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.ChainableUndefined,
                                            autoescape=jinja2.select_autoescape(["html"]),
                                            trim_blocks=True, lstrip_blocks=True)
                    found.filters.update(rub=rub, vat_rate=vat_rate)
                    self._environments[key] = found
        return found

    def render(self, slug: str, family: str, name: str, context: dict[str, Any]) -> str:
        try:
            return self.environment(slug, family).get_template(name).render(context)
        except Exception as exc:  # a template that fails is broken, whatever it raised (1/0, a bad filter)
            line = getattr(exc, "lineno", None)  # syntax and runtime errors know where they are
            where = f"{getattr(exc, 'name', None) or name}, line {line}" if line else name
            raise TemplateBroken(f"the {family} template {where} of tenant {slug} cannot be rendered: "
                                 f"{type(exc).__name__}: {exc}", template=name) from exc
