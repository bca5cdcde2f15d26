"""The results frame: one row per card × provider, exactly `RESULT_COLUMNS`, in input order.

`ResultsFrame` *is* a `pandas.DataFrame` (filter it, save it, hand it to `cardkit.report`); the
subclass only adds a notebook rendering with the counts by status and provider above the table,
and `summary()` for the command line. Anything pandas derives from it (a filter, a copy) stays a
`ResultsFrame`; outside Jupyter it prints as a plain frame.
"""

from __future__ import annotations

import html
from typing import Any, Iterable, Mapping

import pandas as pd

from cardkit.columns import RESULT_COLUMNS, STATUSES

_INT_COLUMNS = ("row", "attempts")
_NULLABLE_INT_COLUMNS = ("http_status",)
_TIME_COLUMNS = ("started_at", "finished_at")
#: how counts show rows that could not be routed to any provider
NO_PROVIDER = "(no provider)"


class ResultsFrame(pd.DataFrame):
    """A results frame that renders its counts above the table in a notebook."""

    _metadata: list[str] = []

    @property
    def _constructor(self):  # noqa: D401 - pandas protocol
        return ResultsFrame

    def counts(self) -> pd.DataFrame:
        """Rows per provider × status (statuses in their fixed order, totals included)."""
        return counts(self)

    def _repr_html_(self) -> str | None:
        if not set(RESULT_COLUMNS) <= set(self.columns):
            return pd.DataFrame._repr_html_(self)
        table = counts(self)
        heading = "<p><b>cardkit results</b>: " + html.escape(_headline(self)) + "</p>"
        return heading + table.to_html() + pd.DataFrame(self)._repr_html_()

    def summary(self, *, limit: int = 20) -> str:
        """Counts by provider × status, then the failed/invalid rows with their messages."""
        return summary(self, limit=limit)


def results_frame(records: Iterable[Mapping[str, Any]]) -> ResultsFrame:
    """Build a results frame with the fixed columns and dtypes from result records."""
    frame = pd.DataFrame.from_records(list(records), columns=list(RESULT_COLUMNS))
    for column in _INT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column]).fillna(0).astype("int64")
    for column in _NULLABLE_INT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    frame["elapsed_ms"] = pd.to_numeric(frame["elapsed_ms"]).astype("float64").round(1)
    for column in _TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    for column in ("number", "provider", "action", "status", "error_code", "message", "changed", "run_id"):
        frame[column] = frame[column].fillna("").astype(str)
    return ResultsFrame(frame)


def counts(results: pd.DataFrame) -> pd.DataFrame:
    """Rows per provider × status, with totals; statuses in their fixed order."""
    providers = results["provider"].replace("", NO_PROVIDER)
    table = pd.crosstab(providers, results["status"], margins=True, margins_name="total")
    order = [s for s in STATUSES if s in table.columns] + ["total"]
    table = table.reindex(columns=order, fill_value=0)
    table.columns.name = None
    table.index.name = "provider"
    return table


def _headline(results: pd.DataFrame) -> str:
    parts = [f"{n} {s}" for s, n in results["status"].value_counts().reindex(STATUSES).dropna()
             .astype(int).items() if n]
    return f"{len(results)} card × provider rows — " + (", ".join(parts) or "nothing to do")


def summary(results: pd.DataFrame, *, limit: int = 20) -> str:
    """A few lines for a terminal: the headline, counts, then each failed/invalid row."""
    if results.empty:
        return "nothing to do: no rows"
    lines = [_headline(results), "", counts(results).to_string(), ""]
    bad = results[results["status"].isin(["failed", "invalid"])]
    for record in bad.head(limit).itertuples(index=False):
        where = f" → {record.provider}" if record.provider else ""
        lines.append(f"row {record.row} {record.number}{where}: {record.status}: {record.message}")
    if len(bad) > limit:
        lines.append(f"… and {len(bad) - limit} more failed/invalid rows (see the report)")
    return "\n".join(lines).rstrip()
