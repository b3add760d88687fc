"""CSV that is safe to open in a spreadsheet.

Student ids come from folder names, so any text cell may be hostile. A text
cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
(or their full-width forms) would be read as a formula by Excel, LibreOffice
or Google Sheets; such a cell is neutralised by a leading single quote, the
OWASP rule. Numbers stay numbers: a number, or text that is exactly a decimal
number (``-2``, ``-1.5e3``), is written unchanged.

Files are written in UTF-8 with a byte-order mark (``utf-8-sig``), which Excel
needs to read non-ASCII names correctly; :func:`grader.batch.atomic_write`
does so for every ``.csv`` path.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

ENCODING = "utf-8-sig"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: object) -> object:
    """``value`` as it may go into a CSV cell: numbers as they are, text that could start a formula quoted."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(row: Iterable[object]) -> list[object]:
    return [safe_cell(cell) for cell in row]


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text (RFC 4180 line ends), every cell through :func:`safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(safe_row(row))
    return buffer.getvalue()


def write_csv(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """Write ``rows`` atomically to ``path``: safe cells, UTF-8 with a BOM."""
    from ..batch import atomic_write  # grader.batch imports the renderers' users; import late

    atomic_write(path, csv_text(rows), encoding=ENCODING)
