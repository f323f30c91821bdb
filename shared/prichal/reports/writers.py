"""CSV and XLSX writers: rows in, bytes out to a sink, in constant memory.

**CSV** comes in two dialects: ``csv`` (RFC 4180: comma, CRLF, dot decimals, ISO dates)
and ``csv-excel`` ("Excel (RU)": UTF-8 with a BOM, semicolon, comma decimals,
``dd.mm.yyyy``). A report that is one SELECT (``SqlExporter``) is written by PostgreSQL
itself (``COPY (SELECT <formatted columns>) TO STDOUT``): the database formats, Python
only passes the bytes on. Other reports go through Python's csv module with the very same
formatting (tests compare both roads).

**XLSX** is written as its parts (a zip of a few XML files) with the sheet streamed: each
row is one string made by a function generated for the report's column types (no object
per cell, as openpyxl and xlsxwriter make), inline strings (no shared-string table to
keep in memory), dates and times as serial numbers with a date format, money as numbers
with a ruble format, a bold frozen header, column widths and a totals row of ``SUM``
formulas with their values cached. The zip is written to an unseekable sink with data
descriptors, so nothing but the current batch is ever held.
"""

from __future__ import annotations

import csv
import io
import queue
import re
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from prichal.domain.reports import DEFAULT_WIDTHS, Column, ColumnType, ReportFormat, excel_serial

from .base import Exporter, Snapshot, SqlExporter

PROGRESS_EVERY = 10_000
AHEAD = 4  # COPY blocks (1 MiB each) read ahead of the writer
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Written:
    rows: int
    totals: dict[str, Decimal | int]


def write_report(exporter: Exporter, db: Snapshot, params: Any, fmt: ReportFormat, sink: BinaryIO,
                 progress: Progress = lambda rows: None) -> Written:
    if isinstance(exporter, SqlExporter):
        if fmt is ReportFormat.XLSX:
            return copy_xlsx(exporter, db, params, sink, progress)
        return copy_csv(exporter, db, params, fmt, sink, progress)
    if fmt is ReportFormat.XLSX:
        return write_xlsx(exporter.columns, exporter.rows(db, params), sink, progress, title=exporter.title)
    return write_csv(exporter.columns, exporter.rows(db, params), fmt, sink, progress)


# --- CSV ----------------------------------------------------------------------------------

def _dialect(fmt: ReportFormat) -> tuple[str, bool]:
    """(delimiter, Russian conventions)"""
    return (";", True) if fmt is ReportFormat.CSV_EXCEL else (",", False)


def _text(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def csv_cell(kind: ColumnType, value: Any, russian: bool) -> str:
    """One value as the CSV writers print it (the SQL road prints the same: ``_sql_cell``)."""
    if value is None:
        return ""
    if kind is ColumnType.TEXT:
        return _text(str(value))
    if kind in (ColumnType.MONEY, ColumnType.PERCENT):
        return str(value).replace(".", ",") if russian else str(value)
    if kind is ColumnType.DATETIME:
        if russian:
            return (f"{value.day:02d}.{value.month:02d}.{value.year:04d} "
                    f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
        return value.isoformat(" ", "seconds")
    if kind is ColumnType.DATE:
        return f"{value.day:02d}.{value.month:02d}.{value.year:04d}" if russian else value.isoformat()
    return str(value)


def _sql_cell(kind: ColumnType, column: str, russian: bool) -> str:
    if kind is ColumnType.TEXT:
        return f"translate({column}::text, E'\\r\\n', '  ')"
    if kind in (ColumnType.MONEY, ColumnType.PERCENT):
        return f"replace({column}::text, '.', ',')" if russian else f"{column}::text"
    # ISO text of a timestamp (DateStyle ISO, set by the snapshot), cut and put together: far
    # cheaper than to_char() on a million rows. Times are whole seconds (lines.py).
    if kind in (ColumnType.DATETIME, ColumnType.DATE):
        if not russian:
            return f"{column}::text"
        iso = f"{column}::text"
        day = f"substr({iso}, 9, 2) || '.' || substr({iso}, 6, 2) || '.' || substr({iso}, 1, 4)"
        return f"{day} || substr({iso}, 11)" if kind is ColumnType.DATETIME else day
    return f"{column}::text"


def _header(columns: tuple[Column, ...], fmt: ReportFormat) -> bytes:
    delimiter, russian = _dialect(fmt)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerow([c.title for c in columns])
    return ("\ufeff" if russian else "").encode() + buffer.getvalue().encode()


def write_csv(columns: tuple[Column, ...], rows: Iterable[tuple[Any, ...]], fmt: ReportFormat, sink: BinaryIO,
              progress: Progress = lambda rows: None) -> Written:
    delimiter, russian = _dialect(fmt)
    sink.write(_header(columns, fmt))
    kinds = [c.type for c in columns]
    totals = _Totals(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    count = 0
    for row in rows:
        totals.add(row)
        writer.writerow([csv_cell(kind, value, russian) for kind, value in zip(kinds, row, strict=True)])
        count += 1
        if count % PROGRESS_EVERY == 0:
            sink.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
            progress(count)
    sink.write(buffer.getvalue().encode())
    progress(count)
    return Written(count, totals.values())


def copy_csv(exporter: SqlExporter, db: Snapshot, params: Any, fmt: ReportFormat, sink: BinaryIO,
             progress: Progress = lambda rows: None, totals: bool = False) -> Written:
    """The SQL road: PostgreSQL formats the rows (``COPY ... CSV``), Python passes bytes on.

    A CSV file has no totals row; ``totals`` asks for them anyway (a second SELECT in the
    same snapshot, so over the same rows)."""
    delimiter, russian = _dialect(fmt)
    sql, args = exporter.query(db, params)
    cells = ", ".join(_sql_cell(c.type, f'q."{c.key}"', russian) for c in exporter.columns)
    sink.write(_header(exporter.columns, fmt))
    count = 0
    for block, lines in _copy_blocks(db, f"COPY (SELECT {cells} FROM ({sql}) AS q) TO STDOUT "
                                         f"WITH (FORMAT csv, DELIMITER '{delimiter}')", args):
        sink.write(block.replace(b"\n", b"\r\n"))  # text cells carry no line breaks (_sql_cell)
        count += lines
        progress(count)
    return Written(count, _sql_totals(exporter, db, sql, args) if totals else {})


def _copy_blocks(db: Snapshot, copy: str, args: dict[str, Any], size: int = 1 << 20,
                 ) -> Iterator[tuple[bytes, int]]:
    """COPY's output (one row per line, a message per row) in blocks of about ``size`` bytes,
    read ahead by a thread: PostgreSQL keeps formatting while this thread compresses and
    uploads (zlib and the socket release the GIL), so both cores work. At most ``AHEAD``
    blocks wait in between: memory stays flat."""
    blocks: queue.Queue[tuple[bytes, int] | BaseException | None] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def read() -> None:
        try:
            for item in _blocks(db, copy, args, size):
                while not stop.is_set():
                    try:
                        blocks.put(item, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            blocks.put(None)
        except BaseException as exc:  # handed to the consumer, raised there
            blocks.put(exc)

    reader = threading.Thread(target=read, name="report-copy", daemon=True)
    reader.start()
    try:
        while (item := blocks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _blocks(db: Snapshot, copy: str, args: dict[str, Any], size: int) -> Iterator[tuple[bytes, int]]:
    parts: list[bytes] = []
    length = 0
    for chunk in db.copy_out(copy, args):
        parts.append(chunk)
        length += len(chunk)
        if length >= size:
            block = b"".join(parts)
            yield block, block.count(b"\n")
            parts, length = [], 0
    if parts:
        block = b"".join(parts)
        yield block, block.count(b"\n")


def _sql_totals(exporter: SqlExporter, db: Snapshot, sql: str, args: dict[str, Any]) -> dict[str, Decimal | int]:
    """The totals columns' sums, from the same snapshot as the rows (so the same rows)."""
    summed = [c for c in exporter.columns if c.total]
    if not summed:
        return {}
    values = next(db.rows(f"SELECT {', '.join(f'coalesce(sum(q.{c.key}), 0)' for c in summed)} "
                          f"FROM ({sql}) AS q", args))
    return {c.key: v for c, v in zip(summed, values, strict=True)}


class _Totals:
    def __init__(self, columns: tuple[Column, ...]) -> None:
        self._indexes = [(i, c.key) for i, c in enumerate(columns) if c.total]
        self._sums: dict[str, Decimal | int] = {key: (0 if columns[i].type is ColumnType.INT else Decimal("0.00"))
                                                for i, key in self._indexes}

    def add(self, row: tuple[Any, ...]) -> None:
        for index, key in self._indexes:
            value = row[index]
            if value is not None:
                self._sums[key] += value

    def values(self) -> dict[str, Decimal | int]:
        return dict(self._sums)


# --- XLSX ---------------------------------------------------------------------------------

# cellXfs indexes in STYLES
S_HEADER, S_MONEY, S_DATE, S_DATETIME, S_PERCENT, S_INT, S_TOTAL_MONEY, S_TOTAL_TEXT, S_TOTAL_INT = range(1, 10)
MONEY_FORMAT = '#,##0.00\\ "₽"'
DATE_FORMAT = "dd.mm.yyyy"
DATETIME_FORMAT = "dd.mm.yyyy hh:mm"
_STYLE = {ColumnType.MONEY: S_MONEY, ColumnType.DATE: S_DATE, ColumnType.DATETIME: S_DATETIME,
          ColumnType.PERCENT: S_PERCENT, ColumnType.INT: S_INT}

STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="3"><numFmt numFmtId="164" formatCode="{MONEY_FORMAT.replace('"', '&quot;')}"/>\
<numFmt numFmtId="165" formatCode="{DATE_FORMAT}"/><numFmt numFmtId="166" formatCode="{DATETIME_FORMAT}"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="10"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="9" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="164" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="1" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""

ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""

WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _NOT_XML.sub("", value) if not value.isprintable() else value


def _workbook(title: str) -> str:
    name = xml_text(re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Report").replace('"', "&quot;")
    return ("""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"""
            f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _row_function(columns: tuple[Column, ...]) -> Callable[[tuple[Any, ...], int], str]:
    """Generate ``row(values, number) -> '<row ...>...</row>'`` for these column types: one
    expression per cell, no loop and no call per cell beyond the conversion itself."""
    cells = []
    for index, column in enumerate(columns):
        v = f"r[{index}]"
        kind = column.type
        if kind is ColumnType.TEXT:
            cell = f"""('<c t="inlineStr"><is><t>' + esc(text(str({v}))) + '</t></is></c>')"""
        elif kind in (ColumnType.DATE, ColumnType.DATETIME):
            cell = f"""('<c s="{_STYLE[kind]}"><v>' + repr(serial({v})) + '</v></c>')"""
        elif kind is ColumnType.PERCENT:
            cell = f"""('<c s="{S_PERCENT}"><v>' + str({v} / 100) + '</v></c>')"""
        else:
            cell = f"""('<c s="{_STYLE[kind]}"><v>' + str({v}) + '</v></c>')"""
        cells.append(f"({cell} if {v} is not None else '<c/>')")
    source = "def row(r, n):\n    return '<row r=\"' + str(n) + '\">' + " + " + ".join(cells) + " + '</row>'\n"
    namespace: dict[str, Any] = {"esc": xml_text, "serial": excel_serial, "text": _text}
    exec(compile(source, "<xlsx row>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace["row"]


def _sheet_head(columns: tuple[Column, ...]) -> str:
    widths = "".join(f'<col min="{i}" max="{i}" width="{c.width or DEFAULT_WIDTHS[c.type]}" customWidth="1"/>'
                     for i, c in enumerate(columns, start=1))
    header = "".join(f'<c t="inlineStr" s="{S_HEADER}"><is><t>{xml_text(c.title)}</t></is></c>' for c in columns)
    return ("""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"""
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols><sheetData>'
            f'<row r="1">{header}</row>')


def _totals_row(columns: tuple[Column, ...], totals: dict[str, Decimal | int], last: int) -> str:
    cells = []
    for index, column in enumerate(columns):
        letter = column_letter(index)
        if column.total:
            style = S_TOTAL_INT if column.type is ColumnType.INT else S_TOTAL_MONEY
            formula = f"SUM({letter}2:{letter}{last})" if last >= 2 else "0"
            cells.append(f'<c s="{style}"><f>{formula}</f><v>{totals[column.key]}</v></c>')
        elif index == 0:
            cells.append(f'<c t="inlineStr" s="{S_TOTAL_TEXT}"><is><t>Итого</t></is></c>')
        else:
            cells.append("<c/>")
    return f'<row r="{last + 1}">{"".join(cells)}</row>'


class _Tell:
    """Gives zipfile a position on a sink that has none; zipfile then writes data descriptors."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._position = 0

    def write(self, data: bytes) -> int:
        self._sink.write(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass


def _workbook_zip(columns: tuple[Column, ...], title: str, sink: BinaryIO, body: Iterator[bytes],
                  totals: Callable[[int], dict[str, Decimal | int] | None], counted: list[int]) -> None:
    """The XLSX parts around a streamed sheet body; ``totals(last_row)`` gives the totals row."""
    with zipfile.ZipFile(_Tell(sink), "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", _workbook(title))
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_sheet_head(columns).encode())
            for block in body:
                sheet.write(block)
            rows = counted[0]
            sums = totals(rows)
            if sums is not None:
                sheet.write(_totals_row(columns, sums, rows + 1).encode())
            sheet.write(b"</sheetData></worksheet>")


def write_xlsx(columns: tuple[Column, ...], rows: Iterable[tuple[Any, ...]], sink: BinaryIO,
               progress: Progress = lambda rows: None, title: str = "Report", batch: int = 2000) -> Written:
    """The Python road: one generated function call per row (any exporter)."""
    row = _row_function(columns)
    summer = _Totals(columns)
    any_totals = any(c.total for c in columns)
    counted = [0]

    def body() -> Iterator[bytes]:
        for chunk in _batches(rows, batch):
            if any_totals:
                for values in chunk:
                    summer.add(values)
            yield "".join([row(values, number) for number, values in
                           enumerate(chunk, start=counted[0] + 2)]).encode()
            counted[0] += len(chunk)
            progress(counted[0])

    _workbook_zip(columns, title, sink, body(), lambda last: summer.values() if any_totals else None,
                  counted)
    return Written(counted[0], summer.values())


def copy_xlsx(exporter: SqlExporter, db: Snapshot, params: Any, sink: BinaryIO,
              progress: Progress = lambda rows: None) -> Written:
    """The SQL road: PostgreSQL writes each row's XML (``COPY``), Python only zips the bytes.

    COPY's text format escapes backslashes and line breaks; the cells never contain any
    (``_sql_xlsx_cell`` turns them into character references or spaces), so each output
    line is one ``<row>`` verbatim. Rows carry no ``r`` (optional in SpreadsheetML). The
    totals row is the last line of the same statement: the report's rows are materialised
    once and summed from there, not computed a second time."""
    sql, args = exporter.query(db, params)
    cells = " || ".join(_sql_xlsx_cell(c.type, f'q."{c.key}"') for c in exporter.columns)
    summed = any(c.total for c in exporter.columns)
    lines = f"SELECT '<row>' || {cells} || '</row>' AS line FROM q"
    if summed:
        lines += f" UNION ALL SELECT '<row>' || {_sql_totals_row(exporter.columns)} || '</row>' FROM q"
    counted = [0]

    def body() -> Iterator[bytes]:
        for block, lines_in_block in _copy_blocks(db, f"COPY (WITH q AS MATERIALIZED ({sql}) "
                                                      f"SELECT line FROM ({lines}) AS sheet) TO STDOUT", args):
            yield block
            counted[0] += lines_in_block
            progress(counted[0])
        if summed:
            counted[0] -= 1  # the totals row

    _workbook_zip(exporter.columns, exporter.title, sink, body(), lambda last: None, counted)
    return Written(counted[0], {})


def _sql_totals_row(columns: tuple[Column, ...]) -> str:
    """The totals row as ``_totals_row`` writes it, as one SQL aggregate over ``q``."""
    cells = []
    for index, column in enumerate(columns):
        letter = column_letter(index)
        if column.total:
            style = S_TOTAL_INT if column.type is ColumnType.INT else S_TOTAL_MONEY
            formula = f"CASE WHEN count(*) >= 1 THEN 'SUM({letter}2:{letter}' || (count(*) + 1) || ')' ELSE '0' END"
            cells.append(f"""'<c s="{style}"><f>' || {formula} || '</f><v>' || """
                         f"""coalesce(sum(q."{column.key}"), 0)::text || '</v></c>'""")
        elif index == 0:
            cells.append(f"""'<c t="inlineStr" s="{S_TOTAL_TEXT}"><is><t>Итого</t></is></c>'""")
        else:
            cells.append("'<c/>'")
    return " || ".join(cells)


# characters XML 1.0 refuses (NUL never reaches here: PostgreSQL text cannot hold it)
_SQL_CONTROLS = "".join(f"\\x{code:02x}" for code in (*range(1, 9), 11, 12, *range(14, 32)))


def _sql_xlsx_cell(kind: ColumnType, column: str) -> str:
    if kind is ColumnType.TEXT:
        # Most cells need no escaping; a regular expression says which do (far cheaper than
        # six replace() calls on every cell of a million rows).
        flat = f"translate({column}::text, E'\\r\\n{_SQL_CONTROLS}', '  ')"  # line breaks to spaces, controls out
        escaped = (f"replace(replace(replace(replace(replace({flat}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), "
                   f"E'\\\\', '&#92;'), E'\\t', '&#9;')")
        start, end = """'<c t="inlineStr"><is><t>' || """, " || '</t></is></c>'"
        return (f"(CASE WHEN {column} IS NULL THEN '<c/>' "
                f"WHEN {column}::text !~ '[&<>\\\\\\t\\r\\n\\x01-\\x1f]' THEN {start}{column}::text{end} "
                f"ELSE {start}{escaped}{end} END)")
    elif kind is ColumnType.DATE:
        cell = f"""'<c s="{S_DATE}"><v>' || ({column} - date '1899-12-30')::text || '</v></c>'"""
    elif kind is ColumnType.DATETIME:
        serial = f"trim_scale(round(extract(epoch from {column}) / 86400 + 25569, 10))::text"
        cell = f"""'<c s="{S_DATETIME}"><v>' || {serial} || '</v></c>'"""
    elif kind is ColumnType.PERCENT:
        cell = f"""'<c s="{S_PERCENT}"><v>' || trim_scale({column} / 100)::text || '</v></c>'"""
    else:
        cell = f"""'<c s="{_STYLE[kind]}"><v>' || {column}::text || '</v></c>'"""
    return f"(CASE WHEN {column} IS NULL THEN '<c/>' ELSE {cell} END)"


def _batches(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for values in rows:
        chunk.append(values)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def serial_value(value: date | datetime) -> float | int:
    """What an XLSX cell of this date holds (re-exported for tests)."""
    return excel_serial(value)
