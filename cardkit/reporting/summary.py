"""The figures a report shows: counts by provider x status, failures, retries, timings.

Everything here takes a results frame (`cardkit.columns.RESULT_COLUMNS`) and returns a new
frame or plain values; the exporters only lay them out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from cardkit.display import STATUS_COLOURS  # noqa: F401  (one palette for every view)

# Counting lives with the results frame (the engine can't import faces); reports reuse it.
from cardkit.engine.results import (  # noqa: F401
    NO_PROVIDER,
    Interruption,
    counts,
    interruption,
    nonzero_columns,
)

# "done" and "needs attention" are defined once, with the statuses (skipped needs attention)
from cardkit.vocabulary import DONE, NEEDS_ATTENTION  # noqa: E402,F401

#: The columns of the failures table, in the order people read them.
FAILURE_COLUMNS = ("row", "number", "provider", "status", "http_status", "error_code", "message", "attempts")


@dataclass(frozen=True)
class RunInfo:
    """Where a run came from. Every field may be unknown (None)."""

    run_id: str | None = None
    cardkit_version: str | None = None
    source: str | None = None          # the input file's name (never its folder)
    sha256: str | None = None          # the input file's hash
    started_at: str | None = None      # ISO 8601, UTC
    finished_at: str | None = None
    journal: str | None = None         # the run's journal (how to continue; a fed-back report finds it here)
    folder: str | None = None          # the input file's folder: photo paths as written resolve against it
    photo_root: str | None = None      # the folder photo files had to be in, when not `folder`

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Figures:
    """Timings and totals of one run."""

    cards: int                          # distinct input rows
    operations: int                     # card x provider rows
    done: int
    needs_attention: int
    retries: int                        # extra attempts beyond the first, summed
    retried_operations: int
    latency_median_ms: float | None
    latency_p95_ms: float | None
    duration_s: float | None
    throughput_per_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def failures(results: pd.DataFrame) -> pd.DataFrame:
    """The rows someone has to look at (failed, invalid, skipped), in input order."""
    chosen = results[results["status"].isin(NEEDS_ATTENTION)]
    return chosen.loc[:, list(FAILURE_COLUMNS)].reset_index(drop=True)


def _timestamps(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column, utc=True, errors="coerce", format="mixed")


def figures(results: pd.DataFrame) -> Figures:
    """Totals, retries, latency (median, p95 of operations that reached a provider) and speed."""
    status = results["status"]
    attempts = pd.to_numeric(results["attempts"], errors="coerce").fillna(0)
    elapsed = pd.to_numeric(results["elapsed_ms"], errors="coerce")
    reached = elapsed[(attempts > 0) & elapsed.notna()]
    started = _timestamps(results["started_at"]).dropna()
    finished = _timestamps(results["finished_at"]).dropna()
    duration = None
    if len(started) and len(finished):
        duration = max((finished.max() - started.min()).total_seconds(), 0.0)
    worked = int((attempts > 0).sum())
    return Figures(
        cards=int(results["row"].nunique()),
        operations=len(results),
        done=int(status.isin(DONE).sum()),
        needs_attention=int(status.isin(NEEDS_ATTENTION).sum()),
        retries=int((attempts - 1).clip(lower=0).sum()),
        retried_operations=int((attempts > 1).sum()),
        latency_median_ms=float(reached.median()) if len(reached) else None,
        latency_p95_ms=float(reached.quantile(0.95)) if len(reached) else None,
        duration_s=duration,
        throughput_per_s=(worked / duration) if duration else None,
    )


def run_window(results: pd.DataFrame) -> tuple[str | None, str | None]:
    """The first start and the last finish in the frame, as ISO 8601 text (or None)."""
    started = _timestamps(results["started_at"]).dropna()
    finished = _timestamps(results["finished_at"]).dropna()
    first = started.min().isoformat() if len(started) else None
    last = finished.max().isoformat() if len(finished) else None
    return first, last


def run_ids(results: pd.DataFrame) -> list[str]:
    """The run ids the frame holds, in order of appearance."""
    ids = results["run_id"].dropna().astype(str)
    return [i for i in dict.fromkeys(ids) if i]
