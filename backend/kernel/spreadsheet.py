"""CSV that opens right in the spreadsheets our users have: pure, standard library only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# Excel opens a UTF-8 CSV as the local code page (GBK in China) unless it starts with a BOM.
BOM = "\ufeff".encode()
# Spreadsheets run a cell that starts with one of these as a formula ("CSV injection");
# names come from store owners, so such text gets a leading apostrophe, as OWASP advises.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def csv_lines(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()
