"""The figures a report states: counts, retries, latency, duration, throughput, and its text/notebook views."""

from __future__ import annotations

import pandas as pd
import pytest

from cardkit.columns import RESULT_COLUMNS
from cardkit.errors import InputError
from cardkit.reporting import Report, report


def test_counts_are_provider_by_status_with_totals_and_no_provider_last(rep):
    """Each provider's statuses add up to its total; rows that reached no provider come last."""
    counts = rep.counts
    assert list(counts.index) == ["blooio", "linq", "sendblue", "(no provider)"]
    assert counts.loc["blooio", ["applied", "failed", "total"]].tolist() == [1, 1, 2]
    assert counts.loc["(no provider)", ["invalid", "skipped", "total"]].tolist() == [1, 1, 2]
    assert int(counts["total"].sum()) == 7


def test_figures_state_retries_latency_duration_and_throughput(rep):
    """Retries count extra attempts; latency covers operations that reached a provider; speed is ops/duration."""
    f = rep.figures
    assert (f.cards, f.operations, f.done, f.needs_attention) == (6, 7, 3, 4)
    assert (f.retries, f.retried_operations) == (2 + 3, 2)
    assert f.latency_median_ms == 50.0                    # of 50, 40, 1200, 900, 30
    assert f.latency_p95_ms == pytest.approx(pd.Series([50, 40, 1200, 900, 30]).quantile(0.95))
    assert f.duration_s == pytest.approx(1.53)
    assert f.throughput_per_s == pytest.approx(5 / 1.53)


def test_failures_list_failed_invalid_and_skipped_with_codes(rep):
    """The failures table holds every row needing attention with HTTP status, provider code and message."""
    failures = rep.failures
    assert failures["row"].tolist() == [3, 4, 5, 7]
    assert failures.loc[0, "http_status"] == 403 and failures.loc[0, "error_code"] == "forbidden"


def test_summary_text_names_run_outcome_table_and_failures(rep):
    """The terminal text has the run, the outcome line, the provider table and each failure with its row."""
    text = str(rep)
    assert "run run-1 · input cards.csv (sha256 abababababab…)" in text
    assert "6 cards → 7 operations: 2 applied, 1 unchanged, 1 invalid, 1 skipped, 2 failed" in text
    assert "row 3 +12025550147 blooio failed 403 forbidden:" in text
    assert "row 5 +14085550111 sendblue failed 500 E500: server error after 4 attempts" in text
    assert "latency median 50 ms" in text


def test_summary_text_caps_a_long_failure_list(results):
    """Beyond the cap the text says how many more there are instead of flooding the terminal."""
    many = pd.concat([results[results["status"] == "failed"]] * 30, ignore_index=True)
    text = Report(many).summary_text(shown_failures=5)
    assert "… and 55 more" in text


def test_notebook_view_is_a_compact_summary_plus_failures(rep):
    """_repr_html_ holds the outcome line, the counts table and the failures, not the whole page."""
    fragment = rep._repr_html_()
    assert "2 applied, 1 unchanged" in fragment and "server error after 4 attempts" in fragment
    assert "<html" not in fragment and "<svg" not in fragment


def test_a_frame_that_is_not_results_is_refused_with_the_remedy():
    """Passing, say, a cards frame names the missing columns and what to pass instead."""
    with pytest.raises(InputError, match="not a results frame: it lacks .*cardkit.apply"):
        report(pd.DataFrame({"row": [2], "number": ["+14155552671"]}))


def test_report_needs_results_or_a_journal():
    """report() with nothing says what to give it."""
    with pytest.raises(InputError, match="nothing to report"):
        report()


def test_an_empty_run_reports_nothing_to_do(tmp_path):
    """A run with no operations still writes every format and says so."""
    rep = Report(pd.DataFrame(columns=list(RESULT_COLUMNS)))
    assert "0 cards → 0 operations: nothing to do" in str(rep)
    for ext in ("xlsx", "csv", "html", "json"):
        assert rep.to_file(tmp_path / f"empty.{ext}")[0].stat().st_size > 0


def test_cardkit_report_is_the_function_even_after_the_package_was_imported(results):
    """`cardkit.report` stays the plain function after `import cardkit.reporting` (no callable-module trick)."""
    import types

    import cardkit
    import cardkit.reporting
    import cardkit.reporting.xlsx  # noqa: F401
    from cardkit.reporting import report

    assert cardkit.report is report and isinstance(cardkit.report, types.FunctionType)
    assert isinstance(cardkit.report(results), Report)
    assert cardkit.Report is Report is cardkit.reporting.Report
