"""One options value checked once; the typed events a run emits; the public look-ups; one vocabulary."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

import cardkit
from cardkit.engine import Journal, RunOptions, apply, owners, plan, read_current, run
from cardkit.engine.events import Done, Finished, Retried, Started, Waiting
from cardkit.engine.retry_policy import testing as waits_scaled
from cardkit.errors import InputError
from cardkit.providers import Linq
from cardkit.providers.base import Limits
from cardkit.sandbox import Sandbox
from cardkit.vocabulary import DONE, NEEDS_ATTENTION, Status

from .conftest import BLOOIO, BLOOIO_2, LINQ, NOBODY, cards_of


@pytest.mark.parametrize("option, value", [
    ("max_at_once", 0), ("max_at_once", 2.5), ("max_per_second", -1.0), ("max_attempts", 0),
    ("timeout", 0), ("timeout", float("nan")), ("region", ""), ("cancel", object()), ("events", "print"),
    ("journal", 42),
])
def test_a_bad_option_is_an_input_error_that_names_it(option, value, sandbox, tmp_path):
    """Whoever builds the options (apply, plan, RunOptions), a bad value stops before any request."""
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}], tmp_path)
    for attempt in (lambda: apply(cards, sandbox=sandbox, **{option: value}),
                    lambda: plan(cards, sandbox=sandbox, **{option: value}),
                    lambda: RunOptions(**{option: value})):
        with pytest.raises(InputError, match=f"^{option}="):
            attempt()
    assert sandbox.state()["blooio"]["requests"] == 0


def test_an_unknown_option_is_refused_not_swallowed(sandbox, tmp_path):
    """apply's keywords are explicit: a misspelt option is a TypeError, not silently ignored."""
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}], tmp_path)
    with pytest.raises(TypeError, match="max_at_onec"):
        apply(cards, sandbox=sandbox, max_at_onec=3)      # type: ignore[call-arg]


def test_options_are_frozen_and_replace_checks_again():
    """A RunOptions can't be changed in place; `replace` gives a checked copy."""
    options = RunOptions(max_at_once=2)
    with pytest.raises(AttributeError):
        options.max_at_once = 3                               # type: ignore[misc]
    assert options.replace(max_at_once=3).max_at_once == 3 and options.max_at_once == 2
    with pytest.raises(InputError, match="max_at_once"):
        options.replace(max_at_once=-1)


def test_plan_is_a_dry_run_of_the_same_options(sandbox, tmp_path):
    """`plan(...)` and `run(cards, RunOptions(dry_run=True))` give the same frame, and write nothing."""
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": LINQ, "First Name": "Li"}], tmp_path)
    planned = plan(cards, sandbox=sandbox, progress=False)
    ran = run(cards, RunOptions(sandbox=sandbox, dry_run=True, progress=False))
    columns = ["row", "number", "provider", "action", "status", "changed"]
    assert planned[columns].equals(ran[columns])
    assert set(planned["status"]) == {"planned"}
    assert sum(sandbox.state()[p]["writes"] for p in ("blooio", "sendblue", "linq")) == 0


def test_a_run_says_started_finished_for_every_row_and_done(sandbox, tmp_path):
    """Started (counts) first, one Finished per result row carrying that row, Done (counts) last."""
    seen: list = []
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": NOBODY, "First Name": "X"},
                      {"Phone": BLOOIO_2, "First Name": "Bo"}], tmp_path)
    results = apply(cards, sandbox=sandbox, progress=False, events=seen.append)
    assert isinstance(seen[0], Started) and isinstance(seen[-1], Done)
    assert (seen[0].total, seen[0].pending, seen[0].write) == (3, 2, True)
    finished = [e for e in seen if isinstance(e, Finished)]
    assert sorted(e.result["row"] for e in finished) == sorted(results["row"])
    by_row = {e.result["row"]: e for e in finished}
    for row in results.itertuples():
        assert by_row[row.row].status == row.status and by_row[row.row].result["message"] == row.message
    assert dict(seen[-1].counts) == results["status"].value_counts().to_dict()
    assert seen[-1].cancelled is False and seen[-1].results is not None


def test_retries_are_told_with_attempt_reason_and_next_time(tmp_path):
    """Every failing attempt but the last gives Retried(attempt, why, next_at) and Waiting(backoff)."""
    box = Sandbox(fault_rate=1.0, fault_mix={"error": 1.0})
    seen: list = []
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}], tmp_path)
    before = dt.datetime.now(dt.UTC)
    results = apply(cards, "blooio", sandbox=box, progress=False, max_attempts=3, events=seen.append)
    assert results.loc[0, "status"] == "failed"
    retried = [e for e in seen if isinstance(e, Retried)]
    assert [e.attempt for e in retried] == [1, 2]
    assert all(e.provider == "blooio" and e.number == BLOOIO and e.why for e in retried)
    assert all(e.next_at >= before for e in retried)
    waits = [e for e in seen if isinstance(e, Waiting)]
    assert [w.reason for w in waits] == ["backoff", "backoff"]
    assert all(w.message.startswith("retrying after attempt") for w in waits)


def test_a_retry_after_is_told_as_the_reason_to_wait(tmp_path):
    """Linq's 429 with Retry-After: the wait is reported as `retry-after`, with its end time."""
    box = Sandbox()
    for i in range(3):     # spend the number's 3 writes in runs without a journal
        apply(cards_of([{"Phone": LINQ, "First Name": f"W{i}"}], tmp_path, f"w{i}.csv"), "linq",
              sandbox=box, progress=False, journal=False)
    seen: list = []
    apply(cards_of([{"Phone": LINQ, "First Name": "Next"}], tmp_path, "next.csv"), "linq", sandbox=box,
          progress=False, journal=False, max_attempts=2, events=seen.append)
    waits = [e for e in seen if isinstance(e, Waiting)]
    assert waits and waits[0].reason == "retry-after" and "429" in waits[0].message


def test_waiting_for_linqs_budget_is_told_as_such(tmp_path):
    """With 3 recent writes in the journal, the 4th write waits for the budget: Waiting(budget)."""
    window = 2.0
    start = time.monotonic()
    box = Sandbox(clock=lambda: (time.monotonic() - start) * 600 / window)   # 600 s → 2 s
    linq = Linq(api_key=box.credentials["linq"]["api_key"], base_url=box.base_urls()["linq"])
    linq.limits = Limits(max_at_once=4, max_per_second=20.0, writes_per_window=3, window_seconds=600)
    journal = tmp_path / "cards.journal.sqlite"
    seen: list = []
    with waits_scaled(wait_scale=window / 600):
        for i in range(4):
            apply(cards_of([{"Phone": LINQ, "First Name": f"W{i}"}], tmp_path, f"w{i}.csv"), [linq],
                  sandbox=box, progress=False, journal=journal, events=seen.append)
    budget = [e for e in seen if isinstance(e, Waiting) and e.reason == "budget"]
    assert budget and budget[0].until > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=window + 5)
    assert "budget" in budget[0].message


def test_a_cancelled_run_says_done_cancelled_with_its_partial_results(tmp_path):
    """Cancel before the run starts sending: Done(cancelled=True) carries the skipped rows."""
    cancel = threading.Event()
    cancel.set()
    seen: list = []
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}], tmp_path)
    results = apply(cards, sandbox=Sandbox(latency_ms=50), progress=False, cancel=cancel, events=seen.append)
    done = seen[-1]
    assert isinstance(done, Done) and done.cancelled
    assert done.results["status"].tolist() == results["status"].tolist() == ["skipped"]


def test_read_current_and_owners_are_public_engine_lookups(sandbox, tmp_path):
    """`cardkit.read_current` reads a number's card at a provider; `cardkit.owners` says who owns which number."""
    apply(cards_of([{"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Lima"}], tmp_path), sandbox=sandbox,
          progress=False)
    current = cardkit.read_current(BLOOIO, "blooio", sandbox=sandbox)
    assert current.known and current.exists and current.fields["first_name"] == "Ana"
    found = owners([BLOOIO, LINQ, NOBODY], sandbox=sandbox)
    assert found.of(BLOOIO) == ("blooio",) and found.of(LINQ) == ("linq",) and found.of(NOBODY) == ()
    assert cardkit.owners is owners and cardkit.read_current is read_current
    with pytest.raises(InputError, match="exactly one provider"):
        read_current(BLOOIO, "blooio,linq", sandbox=sandbox)


def test_statuses_are_enums_that_keep_their_text_in_frames_and_journals(tmp_path):
    """Status.APPLIED == "applied"; the results frame and the journal hold plain text."""
    assert Status.APPLIED == "applied" and str(Status.SKIPPED) == "skipped" and f"{Status.FAILED}" == "failed"
    journal = tmp_path / "j.sqlite"
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}], tmp_path)
    results = apply(cards, sandbox=Sandbox(), progress=False, journal=journal)
    assert type(results.loc[0, "status"]) is str and results.loc[0, "status"] == Status.APPLIED
    with Journal(journal) as opened:
        assert opened.results()["status"].tolist() == ["applied"]
    assert results.to_json().count('"applied"') == 1


def test_done_and_needs_attention_are_one_definition_everywhere(tmp_path):
    """A skipped row (cancelled before it ran) needs attention in the summary, the report and `ok`."""
    cancel = threading.Event()
    cancel.set()
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}], tmp_path)
    results = apply(cards, "blooio", sandbox=Sandbox(), progress=False, cancel=cancel)
    assert results["status"].tolist() == ["skipped"]
    assert Status.SKIPPED in NEEDS_ATTENTION and Status.SKIPPED not in DONE
    assert "row 2" in results.summary()
    report = cardkit.report(results)
    assert report.failures["row"].tolist() == [2] and not report.ok
    assert "row 2" in report.summary_text()
