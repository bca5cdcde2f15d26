"""Formula-injection safety for what spreadsheets open: one rule shared by CSV and XLSX.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return may be run
as a formula by Excel or LibreOffice (OWASP "CSV Injection"). Values in cardkit's reports
come from the user's spreadsheet and from providers' answers, so every text cell passes
through here.

The one exception is a phone number. E.164 numbers start with `+`, and prefixing every
number with `'` would make the column unreadable and change the number when the file is
fed back. A value made only of a leading `+`/`-`, digits, spaces, dots, dashes and
parentheses cannot name a function, a cell or a DDE server, so the worst Excel can do
with it is arithmetic; it is left as written.

- CSV: a dangerous value gets OWASP's prefix `'` (visible, but never executed), and reading a
  CSV takes that prefix off again (`without_csv_quote`), so a pulled or reported sheet fed back
  means what it said: the name `=Bob` round-trips as `=Bob`, not `'=Bob`.
- XLSX: every text cell is written as a *string* cell (never a formula), and a dangerous
  value gets Excel's own "quote prefix" flag — the same thing Excel stores when a person
  types `'=x` — so it stays text even when someone edits the cell; the value itself is
  unchanged and reads back exactly.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PHONE_SHAPED = re.compile(r"[+-]?[0-9][0-9 ().\-]*")


def is_dangerous(value: Any) -> bool:
    """True when a spreadsheet could take this text for a formula."""
    if not isinstance(value, str) or not value.startswith(FORMULA_TRIGGERS):
        return False
    return _PHONE_SHAPED.fullmatch(value) is None


def csv_safe(value: Any) -> Any:
    """The value as a CSV cell that no spreadsheet will run (OWASP: prefix `'`)."""
    return "'" + value if is_dangerous(value) else value


def without_csv_quote(column: pd.Series) -> pd.Series:
    """A text column with OWASP's `'` taken off the cells `csv_safe` put it on (`'` followed by
    what `is_dangerous` calls a formula). Excel never saves a typed `'` prefix into a CSV, so in a
    CSV such a cell is this rule's own mark, not the person's text."""
    quoted = column.str.startswith("'", na=False)
    if not quoted.any():
        return column
    rest = column[quoted].str.slice(1)
    marked = rest.map(is_dangerous).astype(bool)
    return column.mask(quoted & marked.reindex(column.index, fill_value=False), rest.reindex(column.index))


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with every text cell and every header made CSV-safe (numbers are
    left alone). Headers too: the Failed/split files carry the user's own column names."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(csv_safe)
    out.columns = [csv_safe(column) for column in out.columns]
    return out
