"""How cardkit's frames look in a notebook: message first, readable in JupyterLab, VS Code and on a page.

The results frame, `find_problems`' frame and `validate`'s frame render as a small hand-made
HTML table: who (row, number, provider) and the status as compact badges, then the whole
message, wrapped and left-aligned, without the "row N, Column:" the row already says; empty
cells blank (never `<NA>`, `NaT`, `nan`); times as people read them. The frames stay plain
pandas underneath — `frame.to_pandas()` (or `pd.DataFrame(frame)`) is pandas' own table with
every column, and outside a notebook they print as pandas prints them.

Why hand-made and not itables/great-tables: it is a few kB of static HTML with no script, so it
shows the same in JupyterLab, VS Code, nbconvert exports, GitHub and offline, with no extra
dependency. The CSS is scoped to `div.ckv` with enough specificity to outrank JupyterLab's
`.jp-RenderedHTMLCommon` table rules (right-aligned, centred, fixed layout).

The results frame's view is `cardkit.engine.results_view` (built from these pieces), which also
holds `cardkit.show(frame)`: the view for any of these frames once pandas has made it a plain
DataFrame again (after `pd.concat`, say).
"""

from __future__ import annotations

import math
import re
from html import escape
from typing import Any

import pandas as pd

#: How each status is shown: (strong colour for text, charts and badges, light fill for cells).
STATUS_COLOURS = {
    "applied": ("#2e7d32", "#c8e6c9"),
    "unchanged": ("#66bb6a", "#e8f5e9"),
    "partial": ("#8e24aa", "#e1bee7"),
    "planned": ("#1e88e5", "#bbdefb"),
    "invalid": ("#ef6c00", "#ffe0b2"),
    "skipped": ("#757575", "#e0e0e0"),
    "failed": ("#c62828", "#ffcdd2"),
}
_SEVERITY_COLOURS = {"error": STATUS_COLOURS["failed"], "warning": STATUS_COLOURS["invalid"]}
#: Rows the view lists before "… and N more" (pandas' own `display.max_rows` when larger).
SHOWN_ROWS = 60

CSS = """
div.ckv{font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:100%;text-align:left}
div.ckv p.ckv-h{margin:0 0 6px;text-align:left}
div.ckv table.ckv-t{border-collapse:collapse;table-layout:auto;margin:4px 0 8px 0;width:auto;max-width:100%;
 font-size:13px;color:inherit}
div.ckv table.ckv-t th,div.ckv table.ckv-t td{text-align:left;vertical-align:top;padding:3px 8px;border:none;
 border-bottom:1px solid rgba(127,127,127,.25);white-space:normal;max-width:none;line-height:1.4}
div.ckv table.ckv-t th{font-weight:600}
div.ckv table.ckv-t td.ckv-m{min-width:18em;overflow-wrap:anywhere}
div.ckv table.ckv-t td.ckv-k,div.ckv table.ckv-t th.ckv-k{white-space:nowrap}
div.ckv table.ckv-t td.ckv-r{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
div.ckv table.ckv-t tr.ckv-bad>td{background:rgba(239,108,0,.12)}
div.ckv .ckv-b{display:inline-block;border-radius:9px;padding:0 7px;font-size:12px;white-space:nowrap;
 background:rgba(127,127,127,.14)}
div.ckv .ckv-mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
div.ckv .ckv-d{opacity:.72;font-size:12px}
div.ckv .ckv-stop{color:#c62828;font-weight:700}
"""


# --------------------------------------------------------------------------- words and values


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 attempt`, `3 attempts`: a number with its noun in the right number."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def need_attention(n: int) -> str:
    """`1 needs attention`, `4 need attention`."""
    return f"{n} {'needs' if n == 1 else 'need'} attention"


def blank(value: Any) -> str:
    """A cell as people read it: empty for None/NA/NaT/NaN, `403` rather than `403.0`."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value)


def human_time(value: Any, *, date: bool = True) -> str:
    """`24 Nov 2026 06:00:01 UTC` (or `06:00:01 UTC` without the date); empty when missing."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    stamp = pd.Timestamp(value) if not isinstance(value, pd.Timestamp) else value
    if pd.isna(stamp):
        return ""
    zone = "UTC"
    if stamp.tzinfo is None:
        zone = ""
    else:
        stamp = stamp.tz_convert("UTC")
    text = stamp.strftime("%H:%M:%S")
    if date:
        text = f"{stamp.day} {stamp.strftime('%b %Y')} {text}"
    return f"{text} {zone}".rstrip()


_ROW_PREFIX = re.compile(r"(^|;\s*)row (\d+), ")


def without_row(message: Any, row: Any, column: str | None = None) -> str:
    """The message without the `row N, ` the row's own cell already says (and `Column: ` too
    when the column is shown beside it): `row 4, Phone: '555' is …` → `Phone: '555' is …`."""
    text = blank(message)
    if not text:
        return ""
    row_text = blank(row)
    text = _ROW_PREFIX.sub(lambda m: m.group(1) if m.group(2) == row_text else m.group(0), text)
    if column and text.startswith(f"{column}: "):
        text = text[len(column) + 2:]
    return text


_PARTS = re.compile(r";\s*(?=row \d+, )")


def problem_and_remedy(message: Any, row: Any = None) -> tuple[str, str]:
    """`row 4, Phone: '555' is short — add the area code` → (`Phone: '555' is short`, `add the area code`).

    cardkit's messages say the problem, then ` — ` what to do; several joined with `; ` are
    split each; the `row N, ` the row's own cell says is dropped. No ` — `: all of it is the problem.
    """
    problems, remedies = [], []
    for part in _PARTS.split(blank(message)):
        problem, dash, remedy = without_row(part, row).rpartition(" — ")
        if not dash:
            problem, remedy = remedy, ""
        problems.append(problem)
        if remedy:
            remedies.append(remedy)
    return "; ".join(p for p in problems if p), "; ".join(dict.fromkeys(remedies))


# --------------------------------------------------------------------------- pieces


def badge(text: str, colours: tuple[str, str] | None = None, *, mono: bool = False) -> str:
    if not text:
        return ""
    style = f' style="background:{colours[1]};color:{colours[0]}"' if colours else ""
    cls = "ckv-b ckv-mono" if mono else "ckv-b"
    return f'<span class="{cls}"{style}>{escape(text)}</span>'


def status_badge(status: str) -> str:
    return badge(status, STATUS_COLOURS.get(status, ("#57606a", "#eaeef2")))


def table(head: list[tuple[str, str]], rows: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """`head`: (class, label); `rows`: (row class, [(cell class, inner HTML)])."""
    th = "".join(f'<th class="{c}">{escape(label)}</th>' for c, label in head)
    body = "".join(
        f'<tr class="{rc}">' + "".join(f'<td class="{c}">{inner}</td>' for c, inner in cells) + "</tr>"
        for rc, cells in rows
    )
    return f'<table class="ckv-t"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def wrap(heading: str, *parts: str) -> str:
    return f'<div class="ckv"><style>{CSS}</style><p class="ckv-h">{heading}</p>{"".join(parts)}</div>'


def _limit() -> int:
    return max(SHOWN_ROWS, int(pd.get_option("display.max_rows") or 0))


def chosen(frame: pd.DataFrame, attention: pd.Series) -> tuple[pd.DataFrame, str]:
    """The rows to list: all of them, or — past the limit — those needing attention first."""
    limit = _limit()
    if len(frame) <= limit:
        return frame, ""
    order = attention.astype(bool).to_numpy()
    first = frame[order].head(limit)
    rest = frame[~order].head(limit - len(first))
    shown = pd.concat([first, rest]) if len(rest) else first
    note = (f'<p class="ckv-d">showing {len(shown)} of {len(frame)} rows'
            f'{" (those needing attention first)" if order.any() else ""}; '
            "every row and column: <code>frame.to_pandas()</code></p>")
    return shown, note


# --------------------------------------------------------------------------- the three views


def problems_html(problems: pd.DataFrame) -> str:
    """`find_problems`' frame: row, severity and column as badges, then the whole message."""
    if problems.empty:
        return wrap("<b>No problems</b> — every row is ready to apply.")
    errors = int((problems["severity"] == "error").sum())
    rows_hit = problems["row"].nunique()
    heading = (f"<b>{escape(counted(len(problems), 'problem'))}</b> on {escape(counted(rows_hit, 'row'))}"
               f" — {escape(counted(errors, 'error'))}, {escape(counted(len(problems) - errors, 'warning'))}")
    shown, note = chosen(problems, problems["severity"] == "error")
    rows = []
    for record in shown.to_dict("records"):
        severity = blank(record.get("severity"))
        column = blank(record.get("column"))
        value = blank(record.get("value"))
        rows.append(("ckv-bad" if severity == "error" else "", [
            ("ckv-k", badge(blank(record.get("row")))),
            ("ckv-k", badge(severity, _SEVERITY_COLOURS.get(severity))),
            ("ckv-k", escape(column)),
            ("ckv-m", escape(without_row(record.get("message"), record.get("row"), column))),
            ("ckv-d", f'<span class="ckv-mono">{escape(value)}</span>' if value else ""),
        ]))
    head = [("ckv-k", "row"), ("ckv-k", "severity"), ("ckv-k", "column"), ("", "problem / what to do"),
            ("", "value as written")]
    return wrap(heading, table(head, rows), note)


def cards_html(cards: pd.DataFrame) -> str:
    """`validate`'s frame: row and verdict, the problems (whole), then the card's cells; invalid rows tinted."""
    valid = cards["valid"].astype(bool)
    invalid = int((~valid).sum())
    heading = (f"<b>{escape(counted(len(cards), 'card'))}</b> — {int(valid.sum())} valid, {invalid} invalid")
    if invalid:
        heading += ' <span class="ckv-d">(invalid rows are tinted; <code>cardkit.find_problems</code> lists each problem)</span>'
    others = [c for c in cards.columns if c not in ("row", "valid", "problems")]
    shown, note = chosen(cards, ~valid)
    rows = []
    for record in shown.to_dict("records"):
        ok = bool(record.get("valid"))
        cells = [
            ("ckv-k", badge(blank(record.get("row")))),
            ("ckv-k", badge("valid", STATUS_COLOURS["applied"]) if ok else status_badge("invalid")),
            ("ckv-m", escape(without_row(record.get("problems"), record.get("row")))),
        ]
        for column in others:
            value = blank(record.get(column))
            cells.append(("ckv-k" if column == "number" else "",
                          f'<span class="ckv-mono">{escape(value)}</span>' if column == "number" else escape(value)))
        rows.append(("" if ok else "ckv-bad", cells))
    head = [("ckv-k", "row"), ("ckv-k", "valid"), ("", "problems")] + [("ckv-k", str(c)) for c in others]
    return wrap(heading, table(head, rows), note)


# --------------------------------------------------------------------------- frames that render so


class _ViewFrame(pd.DataFrame):
    """A DataFrame that renders with a cardkit view in a notebook while it has the columns it needs."""

    _metadata: list[str] = []
    _needs: tuple[str, ...] = ()

    @classmethod
    def of(cls, frame: pd.DataFrame):
        """`frame` as this kind, its `attrs` (source file, headers, journal) kept."""
        made = cls(frame)
        made.attrs = frame.attrs
        return made

    def to_pandas(self) -> pd.DataFrame:
        """The same rows as a plain DataFrame (pandas' own notebook table, every column)."""
        return pd.DataFrame(self)

    def _view(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _repr_html_(self) -> str | None:
        if not set(self._needs) <= set(self.columns):
            return pd.DataFrame(self)._repr_html_()  # type: ignore[operator]  # not in pandas-stubs
        return self._view()


class ProblemsFrame(_ViewFrame):
    """What `find_problems` returns: a DataFrame (PROBLEM_COLUMNS) that reads message-first in a notebook."""

    _needs = ("row", "column", "severity", "message")

    @property
    def _constructor(self):  # pandas protocol: derived frames keep the view
        return ProblemsFrame

    def _view(self) -> str:
        return problems_html(self)


class CardsFrame(_ViewFrame):
    """What `validate` returns: a DataFrame whose notebook view puts each row's verdict and problems first."""

    _needs = ("row", "valid", "problems")

    @property
    def _constructor(self):  # pandas protocol: derived frames keep the view
        return CardsFrame

    def _view(self) -> str:
        return cards_html(self)
