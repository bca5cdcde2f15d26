"""The results frame: one row per card × provider, exactly `RESULT_COLUMNS`, in input order.

`ResultsFrame` *is* a `pandas.DataFrame` (filter it, save it, hand it to `cardkit.report`); the
subclass only adds a notebook rendering with the counts by status and provider above the table,
and `summary()` for the command line. Anything pandas derives from it (a filter, a copy) stays a
`ResultsFrame`; outside Jupyter it prints as a plain frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cardkit.columns import RESULT_COLUMNS
from cardkit.display import need_attention
from cardkit.vocabulary import NEEDS_ATTENTION, STATUSES

_INT_COLUMNS = ("row", "attempts")
_NULLABLE_INT_COLUMNS = ("http_status",)
_TIME_COLUMNS = ("started_at", "finished_at")
_TEXT_COLUMNS = ("number", "provider", "action", "status", "error_code", "message", "changed", "run_id")
#: how counts show rows that could not be routed to any provider
NO_PROVIDER = "(no provider)"
#: the messages an interrupted run leaves on the operations it did not finish (status `skipped`)
NOT_STARTED = "cancelled before it ran"
CANCELLED_IN_FLIGHT = ("cancelled while it was being sent — run again with the same journal "
                       "to check whether it landed")


class ResultsFrame(pd.DataFrame):
    """A results frame that renders its counts above the table in a notebook."""

    _metadata: list[str] = []

    @property
    def _constructor(self):  # noqa: D401 - pandas protocol
        return ResultsFrame

    def to_json(self, path_or_buf=None, **kwargs):
        """`DataFrame.to_json`, with times as ISO-8601 text unless `date_format` says otherwise
        (pandas' coming default; epoch numbers would lose the UTC marker)."""
        kwargs.setdefault("date_format", "iso")
        return super().to_json(path_or_buf, **kwargs)

    def counts(self) -> pd.DataFrame:
        """Rows per provider × status (statuses that occur, in their fixed order; totals included)."""
        return shown_counts(self)

    def to_pandas(self) -> pd.DataFrame:
        """The same rows as a plain DataFrame (pandas' own notebook table, every column)."""
        return pd.DataFrame(self)

    def _repr_html_(self) -> str | None:
        if not set(RESULT_COLUMNS) <= set(self.columns):
            return pd.DataFrame._repr_html_(self)
        from cardkit.engine.results_view import results_html

        return results_html(self)

    def summary(self, *, limit: int = 20) -> str:
        """Counts by provider × status, then the rows that need attention with their messages."""
        return summary(self, limit=limit)


def results_frame(records: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> ResultsFrame:
    """Build a results frame with the fixed columns and dtypes from result records, or from
    columns (`{column: list or array}`)."""
    if isinstance(records, Mapping):
        frame = pd.DataFrame(dict(records), columns=list(RESULT_COLUMNS))
    else:
        frame = pd.DataFrame.from_records(list(records), columns=list(RESULT_COLUMNS))
    for column in RESULT_COLUMNS:
        frame[column] = _typed(column, frame[column])
    return ResultsFrame(frame)


def results_frame_of(columns: Iterable[tuple[str, Any]], length: int) -> ResultsFrame:
    """Build a results frame from `(column, values)` pairs given one at a time, in any order
    — what a run passes: each column is converted to its dtype and let go before the next is
    read, so 100,000 rows never hold all the columns' lists (nor a record dict per row) at once
    beside the frame. Values are a list, an array or a Series of `length` rows."""
    if not length:      # no rows: the dtypes pandas infers for empty columns, as ever
        return results_frame(dict(columns))
    typed: dict[str, Any] = {}
    for column, values in columns:
        if not isinstance(values, pd.Series):   # text is read as objects: converting it is the one copy
            values = pd.Series(values, dtype=object if column in _TEXT_COLUMNS or column == "changes" else None)
        typed[column] = _typed(column, values)
        del values
    assert set(typed) == set(RESULT_COLUMNS), f"results columns {sorted(set(typed) ^ set(RESULT_COLUMNS))}"
    return ResultsFrame({column: typed.pop(column) for column in RESULT_COLUMNS}, index=pd.RangeIndex(length),
                        copy=False)


def _typed(column: str, values: pd.Series) -> Any:
    """One results column in its fixed dtype (what every results frame has)."""
    if column in _INT_COLUMNS:
        return pd.to_numeric(values).fillna(0).astype("int64")
    if column in _NULLABLE_INT_COLUMNS:
        return pd.to_numeric(values).astype("Int64")
    if column == "elapsed_ms":
        return pd.to_numeric(values).astype("float64").round(1)
    if column in _TIME_COLUMNS:
        return pd.to_datetime(values, utc=True, format="ISO8601")
    if column == "changes":
        changes = [_changes(c) for c in values]
        return pd.Series(changes, index=values.index, dtype=object) if changes else changes
    if column in _TEXT_COLUMNS:
        # as object first: an all-missing column comes in as float64, which "" can't fill
        return values.astype(object).fillna("").astype(str)
    return values


def _changes(value: Any) -> dict[str, Any]:
    """A `changes` cell as a dict (the journal keeps JSON text; missing → {})."""
    if isinstance(value, dict):
        return value            # a run's own (its operations are done with it): not copied
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.startswith("{"):
        import json

        try:
            loaded = json.loads(value)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {}


def counts(results: pd.DataFrame, *, total_row: bool = False) -> pd.DataFrame:
    """Provider × status counts: every status a column (in `STATUSES` order), plus `total`.

    The one count every view uses (ResultsFrame, reports, CLI); "(no provider)" sorts last.
    `total_row` adds a `total` row under the providers.
    """
    provider = results["provider"].astype(object).where(results["provider"].notna(), "")
    frame = pd.DataFrame({"provider": provider.map(lambda p: p if p else NO_PROVIDER),
                          "status": results["status"].astype(object)})
    table = pd.crosstab(frame["provider"], frame["status"]) if len(frame) else pd.DataFrame()
    extra = [s for s in table.columns if s not in STATUSES]
    table = table.reindex(columns=list(STATUSES) + extra, fill_value=0)
    table = table.loc[sorted(table.index, key=lambda p: (p == NO_PROVIDER, p))]
    table["total"] = table.sum(axis=1)
    if total_row:
        table.loc["total"] = table.sum(axis=0)
    table.index.name = "provider"
    table.columns.name = None
    return table.astype("int64")


def nonzero_columns(counts: pd.DataFrame) -> list[str]:
    """The statuses that occur, and `total`: what a counts table shows."""
    return [c for c in counts.columns if c == "total" or counts[c].any()]


def shown_counts(results: pd.DataFrame) -> pd.DataFrame:
    """`counts` with a total row and only the statuses that occur: the table people read."""
    table = counts(results, total_row=True)
    return table[nonzero_columns(table)]


@dataclass(frozen=True)
class Interruption:
    """What an interrupted run (Ctrl-C, a kernel interrupt, `cancel`) got done, and how to go on."""

    applied: int          # written this run
    unchanged: int        # already as wanted
    not_started: int      # never sent
    in_doubt: int         # cut off while being sent: may have landed
    other: int            # failed / invalid / skipped for reasons of their own
    journal: str | None   # where the run kept its journal, None if it kept none

    def headline(self) -> str:
        """`interrupted — 3 applied, 12 not started, 1 cut off while being sent`."""
        parts = [f"{self.applied} applied"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        parts.append(f"{self.not_started} not started")
        if self.in_doubt:
            parts.append(f"{self.in_doubt} cut off while being sent")
        if self.other:
            parts.append(need_attention(self.other))
        return "interrupted — " + ", ".join(parts)

    def how_to_continue(self) -> str:
        """The next step: the same run again with this journal (or, without one, from the start)."""
        if self.journal:
            return (f"to continue, run it again with the journal {self.journal} "
                    f"(cardkit apply FILE --journal {self.journal}): what was applied is not sent again")
        return ("this run kept no journal: to continue, run it again from the start — each card is "
                "read first, so what was applied comes back unchanged")


def interruption(results: pd.DataFrame, journal: str | None = None) -> Interruption | None:
    """How far an interrupted run got, or None when the run was not interrupted.

    A run was interrupted when some operation carries one of the messages the wind-down leaves
    (`NOT_STARTED`, `CANCELLED_IN_FLIGHT`); `journal` defaults to the frame's `attrs`.
    """
    if results.empty or "message" not in results.columns:
        return None
    message = results["message"].astype(object)
    not_started = int((message == NOT_STARTED).sum())
    in_doubt = int((message == CANCELLED_IN_FLIGHT).sum())
    if not (not_started or in_doubt):
        return None
    status = results["status"].astype(object)
    if journal is None:
        journal = (results.attrs.get("cardkit") or {}).get("journal")
    return Interruption(
        applied=int((status == "applied").sum()), unchanged=int((status == "unchanged").sum()),
        not_started=not_started, in_doubt=in_doubt,
        other=int(status.isin(["failed", "invalid", "skipped"]).sum()) - not_started - in_doubt,
        journal=str(journal) if journal else None)


def headline(results: pd.DataFrame) -> str:
    """`7 card × provider rows — 2 applied, …` (or the interruption's headline first)."""
    stopped = interruption(results)
    parts = [f"{n} {s}" for s, n in results["status"].value_counts().reindex(STATUSES).dropna()
             .astype(int).items() if n]
    counted = f"{len(results)} card × provider rows — " + (", ".join(parts) or "nothing to do")
    return counted if stopped is None else f"{stopped.headline()} ({counted})"


def summary(results: pd.DataFrame, *, limit: int = 20) -> str:
    """A few lines for a terminal: the headline, counts, then each row that needs attention
    (failed, invalid, skipped — `cardkit.vocabulary.NEEDS_ATTENTION`)."""
    if results.empty:
        return "nothing to do: no rows"
    lines = [headline(results)]
    stopped = interruption(results)
    if stopped is not None:
        lines.append(stopped.how_to_continue())
    lines += ["", shown_counts(results).to_string(), ""]
    bad = results[results["status"].isin(NEEDS_ATTENTION)]
    for record in bad.head(limit).itertuples(index=False):
        where = f" → {record.provider}" if record.provider else ""
        lines.append(f"row {record.row} {record.number}{where}: {record.status}: {record.message}")
    if len(bad) > limit:
        lines.append(f"… and {len(bad) - limit} more rows that need attention (see the report)")
    return "\n".join(lines).rstrip()
