"""The notebook views as HTML text: message first, blanks for missing, the frame still pandas underneath."""

from __future__ import annotations

import pandas as pd

import cardkit
from cardkit.display import CardsFrame, ProblemsFrame, counted, human_time, problem_and_remedy, without_row
from cardkit.engine.results import CANCELLED_IN_FLIGHT, NOT_STARTED, ResultsFrame, interruption, results_frame

from .conftest import result


def frame_of(*rows) -> ResultsFrame:
    return results_frame(rows)


def test_messages_lose_the_row_the_row_cell_already_says_and_split_into_problem_and_remedy():
    """`row 4, Phone: x — add the area code` → `Phone: x` / `add the area code`; other rows' prefixes stay."""
    message = "row 4, Phone: '555' is short — add the area code; row 4, First Name: empty — fill it in"
    assert without_row(message, 4).startswith("Phone: '555' is short — add")
    assert without_row("row 9, Phone: x", 4) == "row 9, Phone: x"
    assert without_row("row 4, Phone: x", 4, "Phone") == "x"
    assert problem_and_remedy(message, 4) == ("Phone: '555' is short; First Name: empty", "add the area code; fill it in")
    assert problem_and_remedy("server error after 4 attempts") == ("server error after 4 attempts", "")


def test_counts_and_times_read_as_people_say_them():
    """1 attempt / 3 attempts; `24 Nov 2026 06:00:01 UTC`; missing is empty."""
    assert (counted(1, "attempt"), counted(3, "attempt")) == ("1 attempt", "3 attempts")
    assert human_time("2026-11-24T06:00:01+00:00") == "24 Nov 2026 06:00:01 UTC"
    assert human_time(pd.Timestamp("2026-11-24T06:00:01Z"), date=False) == "06:00:01 UTC"
    assert human_time(pd.NaT) == human_time(None) == ""


def test_results_view_has_no_na_nat_or_nan_and_says_1_attempt(results):
    """Empty cells are blank in the view; pandas' own table (to_pandas) still shows every column."""
    frame = results_frame(results.to_dict("records"))
    view = frame._repr_html_().replace("\u00a0", " ")     # details keep "1 attempt" on one line
    assert "<NA>" not in view and "NaT" not in view and ">nan<" not in view
    assert "1 attempt ·" in view and "1 attempts" not in view
    assert "server error after 4 attempts" in view
    assert "Phone: &#x27;555&#x27; is not a complete number" in view and "row 4, Phone" not in view
    plain = frame.to_pandas()
    assert type(plain) is pd.DataFrame and list(plain.columns) == list(frame.columns)
    assert "NaT" in plain._repr_html_()                # pandas' view is one call away, unchanged


def test_outside_a_notebook_the_frames_print_as_pandas_prints_them(results):
    """repr of a ResultsFrame, ProblemsFrame and CardsFrame is pandas' text."""
    frame = results_frame(results.to_dict("records"))
    assert repr(frame) == repr(pd.DataFrame(frame))
    cards = cardkit.read_cards(pd.DataFrame({"Phone": ["555"], "First Name": ["Ann"]}))
    problems, checked = cardkit.find_problems(cards), cardkit.validate(cards)
    assert isinstance(problems, ProblemsFrame) and isinstance(checked, CardsFrame)
    assert repr(problems) == repr(pd.DataFrame(problems)) and repr(checked) == repr(pd.DataFrame(checked))
    assert checked.attrs["cardkit"]["headers"]["number"] == "Phone"      # attrs kept
    assert isinstance(checked[checked["valid"]], CardsFrame)             # filters keep the view


def test_validated_view_tints_invalid_rows_and_shows_their_problems_whole():
    """An invalid row is marked and its whole problem text is in the view, without 'row N, '."""
    cards = cardkit.read_cards(pd.DataFrame({"Phone": ["+14155552671", "555"], "First Name": ["Ann", "Bob"]}))
    view = cardkit.validate(cards)._repr_html_()
    assert view.count('class="ckv-bad"') == 1
    assert "check for missing digits" in view and "row 3, " not in view


def test_show_gives_the_view_back_to_a_plain_frame(results):
    """After pd.concat the frame is plain pandas; cardkit.show renders it with the cardkit view again."""
    cards = cardkit.read_cards(pd.DataFrame({"Phone": ["555"], "First Name": [""]}))
    problems = pd.DataFrame(cardkit.find_problems(cards))
    assert "ckv-t" not in (problems._repr_html_() or "")
    assert "ckv-t" in cardkit.show(problems)._repr_html_()
    assert "ckv-t" in cardkit.show(pd.concat([results, results]))._repr_html_()


def test_a_long_frame_lists_the_rows_needing_attention_first_and_says_how_many_it_shows():
    """Past the limit the view shows failures first and says 'showing N of M'."""
    rows = [result(i + 2, f"+1415555{i:04d}", "blooio", "applied") for i in range(100)]
    rows.append(result(200, "+14155559999", "blooio", "failed", message="the last row failed"))
    view = frame_of(*rows)._repr_html_()
    assert "showing 60 of 101 rows (those needing attention first)" in view
    assert "the last row failed" in view


def test_interruption_counts_applied_not_started_and_in_doubt_and_names_the_journal():
    """Recognised from the wind-down's messages; without a journal it says to run again from the start."""
    frame = frame_of(
        result(2, "+14155552671", "blooio", "applied"),
        result(3, "+14155552672", "blooio", "skipped", message=NOT_STARTED),
        result(4, "+14155552673", "blooio", "skipped", message=CANCELLED_IN_FLIGHT),
        result(5, "555", "", "invalid", message="row 5, Phone: bad"),
    )
    stopped = interruption(frame)
    assert stopped.headline() == "interrupted — 1 applied, 1 not started, 1 cut off while being sent, 1 needs attention"
    assert "kept no journal" in stopped.how_to_continue()
    frame.attrs["cardkit"] = {"journal": "/data/j.sqlite"}
    assert "--journal /data/j.sqlite" in interruption(frame).how_to_continue()
    assert interruption(frame_of(result(2, "+14155552671", "blooio", "failed", message="x"))) is None
