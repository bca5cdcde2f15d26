"""The results frame's notebook view, and `cardkit.show` for any of cardkit's frames.

Built from `cardkit.display`'s pieces (badges, scoped CSS, blanks, human times); it lives in the
engine because it reads the results frame's own figures (headline, counts, interruption).
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from cardkit.columns import RESULT_COLUMNS
from cardkit.display import (
    CardsFrame,
    ProblemsFrame,
    badge,
    blank,
    cards_html,
    chosen,
    counted,
    human_time,
    problems_html,
    status_badge,
    table,
    without_row,
    wrap,
)
from cardkit.engine.results import headline, interruption, shown_counts
from cardkit.vocabulary import NEEDS_ATTENTION


def _details(record: dict[Any, Any], same_day: bool) -> str:
    parts = []
    action = blank(record.get("action"))
    if action and action not in ("none", "unchanged"):
        parts.append(action)
    http = blank(record.get("http_status"))
    if http:
        parts.append(f"HTTP {http}")
    code = blank(record.get("error_code"))
    if code:
        parts.append(code)
    attempts = record.get("attempts")
    if attempts is not None and not pd.isna(attempts) and int(attempts) > 0:
        parts.append(counted(int(attempts), "attempt"))
    elapsed = record.get("elapsed_ms")
    if elapsed is not None and not pd.isna(elapsed) and int(attempts or 0) > 0:
        parts.append(f"{float(elapsed) / 1000:.2f} s" if elapsed >= 1000 else f"{float(elapsed):.0f} ms")
    when = human_time(record.get("finished_at"), date=not same_day)
    if when:
        parts.append(when)
    return escape(" · ".join(p.replace(" ", "\u00a0") for p in parts))     # "1 attempt" never split


def results_html(results: pd.DataFrame) -> str:
    """The results frame: the outcome (or interruption) first, counts, then one line per operation."""
    stopped = interruption(results)
    if stopped is not None:
        heading = f'<b class="ckv-stop">Interrupted</b> — {escape(stopped.headline().split(" — ", 1)[1])}'
    else:
        heading = f"<b>cardkit results</b> — {escape(headline(results))}"
    finished = pd.to_datetime(results["finished_at"], utc=True, errors="coerce").dropna()
    same_day = len(finished) > 0 and finished.dt.date.nunique() == 1
    if same_day:
        heading += f' <span class="ckv-d">· {escape(human_time(finished.min()).rsplit(" ", 2)[0])}, times UTC</span>'
    if stopped is not None:
        heading += f"<br><span>{escape(stopped.how_to_continue())}</span>"
    counts = shown_counts(results) if len(results) else None
    counts_html = ""
    if counts is not None:
        head = [("ckv-k", "provider")] + [("ckv-k", str(c)) for c in counts.columns]
        counts_html = table(head, [("", [("ckv-k", escape(str(p)))] + [("ckv-r", str(int(v))) for v in row])
                                    for p, row in counts.iterrows()])
    attention = results["status"].isin(NEEDS_ATTENTION)
    shown, note = chosen(results, attention)
    rows = []
    for record in shown.to_dict("records"):
        message = without_row(record.get("message"), record.get("row"))
        if not message and blank(record.get("changed")):
            message = f"changed {blank(record.get('changed')).replace(',', ', ')}"
        status = blank(record.get("status"))
        rows.append(("ckv-bad" if status in ("failed", "invalid") else "", [
            ("ckv-k", badge(blank(record.get("row")))),
            ("ckv-k", badge(blank(record.get("number")), mono=True)),
            ("ckv-k", badge(blank(record.get("provider")))),
            ("ckv-k", status_badge(status)),
            ("ckv-m", escape(message)),
            ("ckv-d", _details(record, same_day)),
        ]))
    head = [("ckv-k", "row"), ("ckv-k", "number"), ("ckv-k", "provider"), ("ckv-k", "status"),
            ("", "what happened / what to do"), ("", "details")]
    return wrap(heading, counts_html, table(head, rows), note)


class _Shown:
    """What `show` returns: an object a notebook displays as HTML (and a terminal as the frame)."""

    def __init__(self, html: str, frame: pd.DataFrame) -> None:
        self._html, self._frame = html, frame

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return repr(pd.DataFrame(self._frame))


def show(frame: pd.DataFrame) -> _Shown:
    """The cardkit view of a results, problems or validated frame, even after pandas made it plain.

    `cardkit.show(pd.concat([a, b]))` in a notebook; anything else renders as pandas' table.
    """
    columns = set(frame.columns)
    if set(RESULT_COLUMNS) <= columns:
        view = results_html(frame)
    elif set(ProblemsFrame._needs) <= columns:
        view = problems_html(frame)
    elif set(CardsFrame._needs) <= columns:
        view = cards_html(frame)
    else:
        view = pd.DataFrame(frame)._repr_html_() or ""  # type: ignore[operator]  # not in pandas-stubs
    return _Shown(view, frame)
