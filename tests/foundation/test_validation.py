"""validate / find_problems: row-by-row verdicts on the sample sheet and on focused frames."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import cardkit
from cardkit.columns import PROBLEM_COLUMNS
from cardkit.errors import ColumnError, InputError, ValidationFailed
from cardkit.validation import CHECKS, inspect_cards

# what the sample sheet is made to show: row -> (column header, check)
SAMPLE_FINDINGS = {
    4: ("Phone", "excel_float"),
    6: ("Photo", "photo_not_square"),
    7: ("Photo", "photo_cmyk"),
    9: ("Photo", "photo_transparent"),
    12: ("Photo", "photo_animated"),
    18: ("Phone", "double_zero_prefix"),
    20: ("First Name", "missing_name"),
    21: ("First Name", "control_character"),
    22: ("Phone", "missing_area_code"),
    23: ("Phone", "duplicate_number"),
    24: ("Phone", "scientific_notation"),
    25: ("Last Name", "name_too_long"),
    26: ("Photo", "photo_missing"),
    27: ("Photo", "photo_corrupt"),
    28: ("Photo", "photo_not_image"),
}


def _cards(**columns):
    return cardkit.read_cards(pd.DataFrame(columns))


def test_sample_sheet_shows_each_mistake_once_on_its_row(sample_csv):
    """Every planned finding appears on its row, and nothing else is reported."""
    problems = cardkit.find_problems(cardkit.read_cards(sample_csv))
    found = {row: (column, check) for row, column, check in problems[["row", "column", "check"]].itertuples(index=False)}
    assert found == SAMPLE_FINDINGS
    assert len(problems) == len(SAMPLE_FINDINGS)


def test_every_sample_row_gets_a_verdict_and_warnings_stay_valid(sample_csv):
    """27 rows in, 27 rows out; rows with only warnings are valid, rows with errors are not."""
    checked = cardkit.validate(cardkit.read_cards(sample_csv))
    assert len(checked) == 27 and checked["valid"].dtype == bool
    invalid = set(checked.loc[~checked["valid"], "row"])
    assert invalid == {row for row, (_, check) in SAMPLE_FINDINGS.items() if CHECKS[check] == "error"}
    assert (checked["problems"] == "").sum() == 27 - len(SAMPLE_FINDINGS)


def test_problems_frame_has_exactly_the_contract_columns_and_messages_name_everything(sample_csv):
    """row, column, check, severity, value, message — and each message names row, header and value."""
    problems = cardkit.find_problems(cardkit.read_cards(sample_csv))
    assert tuple(problems.columns) == PROBLEM_COLUMNS
    assert set(problems["severity"]) == {"error", "warning"}
    for item in problems.itertuples(index=False):
        assert item.message.startswith(f"row {item.row}, {item.column}: ")
        if item.value.strip():  # the value, or its start when it is long
            assert repr(item.value.strip())[:30] in item.message or repr(item.value) in item.message
        assert " — " in item.message  # the fix follows the dash


def test_validated_values_are_normalized(sample_csv):
    """E.164 numbers, canonical provider and sharing values, absolute photo paths, raw text kept when invalid."""
    checked = cardkit.validate(cardkit.read_cards(sample_csv)).set_index("row")
    assert checked.loc[2, "number"] == "+14155552671"
    assert checked.loc[18, "number"] == "+4915123456789"
    assert checked.loc[22, "number"] == "555-0100"  # unusable: the user's text stays
    assert checked.loc[8, "provider"] == "blooio" and checked.loc[17, "provider"] == "linq"
    assert checked.loc[2, ["sharing_enabled", "sharing_audience", "sharing_name_format"]].tolist() == ["true", "0", "0"]
    assert checked.loc[3, ["sharing_audience", "sharing_name_format"]].tolist() == ["1", "1"]
    assert os.path.isabs(checked.loc[2, "photo"]) and checked.loc[2, "photo"].endswith("ana.jpg")
    assert checked.loc[11, "photo"] == "https://example.com/photos/jade.jpg"


def test_photo_paths_resolve_against_the_sheets_folder_not_the_working_directory(sample_csv, tmp_path, monkeypatch):
    """Running from elsewhere still finds photos/ana.jpg beside the sheet."""
    monkeypatch.chdir(tmp_path)
    checked = cardkit.validate(cardkit.read_cards(sample_csv)).set_index("row")
    assert checked.loc[2, "valid"] and os.path.exists(checked.loc[2, "photo"])


def test_duplicate_is_flagged_on_the_later_row_naming_the_earlier(tmp_path):
    """Same number in two formats: the second row is an error that points at the first."""
    cards = _cards(Phone=["(415) 555-2671", "+1 212 555 0123", "+1 415 555 2671"], First=["A", "B", "C"])
    problems = cardkit.find_problems(cards.rename(columns={}), check_photos=False)
    assert problems[["row", "check"]].values.tolist() == [[4, "duplicate_number"]]
    assert "same number as row 2 (+14155552671)" in problems.loc[0, "message"]


def test_on_invalid_flag_drop_and_raise():
    """flag keeps all rows, drop keeps valid ones, raise carries the problems frame."""
    cards = _cards(number=["+14155552671", "555-0100"], first_name=["Ana", "Uma"])
    assert cardkit.validate(cards)["valid"].tolist() == [True, False]
    dropped = cardkit.validate(cards, on_invalid="drop")
    assert dropped["row"].tolist() == [2] and dropped.attrs["cardkit"]["region"] == "US"
    with pytest.raises(ValidationFailed) as caught:
        cardkit.validate(cards, on_invalid="raise")
    assert "1 of 2 rows are invalid" in str(caught.value) and "row 3" in str(caught.value)
    assert caught.value.problems["check"].tolist() == ["missing_area_code"]


def test_raise_is_silent_when_only_warnings():
    """A repaired number is a warning: on_invalid='raise' doesn't raise for it."""
    cards = _cards(number=["14155552671.0"], first_name=["Ana"])
    assert cardkit.validate(cards, on_invalid="raise")["valid"].tolist() == [True]


def test_bad_arguments_are_input_errors():
    """An unknown on_invalid or region is reported as the caller's mistake."""
    cards = _cards(number=["+14155552671"], first_name=["Ana"])
    with pytest.raises(InputError, match="on_invalid='ignore'"):
        cardkit.validate(cards, on_invalid="ignore")
    with pytest.raises(InputError, match="unknown region"):
        cardkit.find_problems(cards, region="Atlantis")


def test_region_applies_to_numbers_without_country_code():
    """With region DE a German national number is valid and gets +49."""
    cards = _cards(number=["0151 23456789"], first_name=["Sven"])
    assert cardkit.validate(cards, region="DE")["number"].tolist() == ["+4915123456789"]


def test_find_problems_reports_a_missing_column_instead_of_raising():
    """No first-name column: one problem on the header line; validate raises ColumnError."""
    frame = pd.DataFrame({"Phone": ["+14155552671"], "Name": ["Ana Ruiz"]})
    problems = cardkit.find_problems(frame)
    assert problems[["row", "check", "severity"]].values.tolist() == [[1, "missing_column", "error"]]
    assert problems.loc[0, "message"].startswith("row 1, (headers): no 'first_name' column found")
    assert "'Phone', 'Name'" in problems.loc[0, "message"] and problems.loc[0, "value"] == "Phone, Name"
    with pytest.raises(ColumnError):
        cardkit.validate(frame)


def test_raw_dataframe_with_user_headers_is_read_first():
    """validate accepts a plain DataFrame and maps its headers like read_cards would."""
    frame = pd.DataFrame({"Mobile": [14155552671.0], "Vorname": ["Ana"]})
    checked = cardkit.validate(frame)
    assert checked.loc[0, ["number", "first_name", "valid"]].tolist() == ["+14155552671", "Ana", True]
    assert cardkit.find_problems(frame)["check"].tolist() == ["excel_float"]


def test_providers_are_normalized_and_unknown_ones_are_errors():
    """'Blooio, LINQ' → 'blooio,linq'; 'auto' and blank mean routing; 'iMessage' is refused."""
    cards = _cards(number=["+14155552671", "+14155552672", "+14155552673", "+14155552674"],
                   first_name=["A", "B", "C", "D"], last_name=["x"] * 4,
                   provider=["Blooio, LINQ", "auto", "", "iMessage"])
    checked = cardkit.validate(cards, check_photos=False)
    assert checked["provider"].tolist() == ["blooio,linq", "", "", "iMessage"]
    assert checked["valid"].tolist() == [True, True, True, False]
    assert "'imessage' is not a provider" in checked.loc[3, "problems"]


def test_photo_urls_follow_the_providers_rule_http_only_on_loopback():
    """Validation accepts https and loopback http (the sandbox's media) and refuses public http with the providers' words."""
    from cardkit.providers import url_problem

    urls = ["https://cdn.example.com/a.jpg", "http://127.0.0.1:8787/_sandbox/media/x",
            "http://localhost/a.jpg", "http://[::1]/a.jpg", "http://10.0.0.5/a.jpg"]
    cards = _cards(number=[f"+1415555267{i}" for i in range(len(urls))], first_name=["A"] * len(urls),
                   last_name=["x"] * len(urls), photo=urls)
    checked = cardkit.validate(cards)
    assert checked["valid"].tolist() == [True, True, True, True, False]
    problems = cardkit.find_problems(cards)
    assert problems[["row", "column", "check"]].values.tolist() == [[6, "photo", "photo_url"]]
    rule = url_problem(urls[-1]).split("' ", 1)[1]   # the provider face's wording after the URL
    assert problems.loc[0, "message"] == f"row 6, photo: '{urls[-1]}' {rule}"


def test_explicit_sendblue_rows_need_a_last_name_and_a_photo():
    """Sendblue replaces the whole profile: a card routed there must have both."""
    cards = _cards(number=["+13125550182"], first_name=["Hana"], last_name=[""], photo=[""], provider=["sendblue"])
    problems = cardkit.find_problems(cards)
    assert problems[["column", "check"]].values.tolist() == [
        ["last_name", "provider_needs_field"], ["photo", "provider_needs_field"],
    ]


def test_sharing_values_accept_common_words_and_refuse_others():
    """yes/No/Always ask/First only are understood; 'maybe' is an error naming the choices."""
    cards = _cards(number=["+14155552671", "+14155552672"], first_name=["A", "B"],
                   sharing=["yes", "maybe"], audience=["Always ask", "contacts only"],
                   name_format=["First only", "First & Last"])
    checked = cardkit.validate(cards, check_photos=False)
    assert checked[["sharing_enabled", "sharing_audience", "sharing_name_format"]].values.tolist() == [
        ["true", "1", "1"], ["maybe", "0", "0"],
    ]
    assert "'maybe' is not a setting" in checked.loc[1, "problems"] and "yes or no" in checked.loc[1, "problems"]


def test_a_row_giving_only_sharing_settings_needs_no_name_where_it_may_go_to_blooio():
    """Sharing alone (what a Blooio number on a non-Dedicated plan can set) is a whole row: no
    first name needed when the row may go to Blooio; a row for Sendblue still needs its names;
    a row without sharing or with a last name is not 'sharing only'."""
    cards = _cards(number=["+12025550147", "+14155552671", "+14155552674", "+13125550182", "+14085550111",
                           "+14155552672", "+14155552673"],
                   first_name=[""] * 7, last_name=["", "", "", "", "", "", "Lee"],
                   sharing=["yes", "", "yes", "no", "no", "", "yes"], audience=["", "always ask", "", "", "", "", ""],
                   provider=["", "blooio", "east", "sendblue", "linq,sendblue", "", ""])
    checked = cardkit.validate(cards, check_photos=False, accounts=["east"])   # an account: maybe Blooio's
    assert checked["valid"].tolist() == [True, True, True, False, False, False, False]
    assert all("first name is empty" in text for text in checked.loc[3:, "problems"])


def test_one_bad_row_never_stops_the_others():
    """A row with every kind of problem still lets the good rows through as valid."""
    cards = _cards(number=["1.41555E+10", "+14155552671"], first_name=["\x07" * 70, "Ana"],
                   photo=["/no/such/photo.jpg", ""], provider=["carrier pigeon", ""])
    checked = cardkit.validate(cards)
    assert checked["valid"].tolist() == [False, True]
    assert cardkit.find_problems(cards)["row"].tolist() == [2, 2, 2, 2]


def test_inspect_cards_returns_both_frames_from_one_pass(sample_csv):
    """The faces' entry point: the same flags and problems as validate and find_problems."""
    cards = cardkit.read_cards(sample_csv)
    inspection = inspect_cards(cards)
    pd.testing.assert_frame_equal(inspection.cards, cardkit.validate(cards))
    pd.testing.assert_frame_equal(inspection.problems, cardkit.find_problems(cards))


def test_input_frame_is_not_modified(sample_csv):
    """validate returns a new frame; the one passed in is untouched."""
    cards = cardkit.read_cards(sample_csv)
    before = cards.copy()
    cardkit.validate(cards)
    pd.testing.assert_frame_equal(cards, before)


def test_no_rows_gives_empty_frames_with_the_right_columns():
    """A header-only sheet validates to zero rows and an empty problems frame."""
    cards = _cards(number=pd.Series([], dtype=str), first_name=pd.Series([], dtype=str))
    assert len(cardkit.validate(cards)) == 0
    assert tuple(cardkit.find_problems(cards).columns) == PROBLEM_COLUMNS


def test_validating_a_validated_frame_changes_nothing(sample_csv):
    """Normalized values are fixed points: validate(validate(x)) == validate(x) (minus repairs' warnings)."""
    once = cardkit.validate(cardkit.read_cards(sample_csv))
    twice = cardkit.validate(once)
    columns = ["row", "number", "first_name", "last_name", "photo", "provider",
               "sharing_enabled", "sharing_audience", "sharing_name_format", "valid"]
    pd.testing.assert_frame_equal(twice[columns], once[columns])


def test_every_check_code_has_a_severity():
    """Codes from numbers, names and photos are all known to find_problems."""
    from cardkit.names import NAME_ERRORS
    from cardkit.phones import NUMBER_ERRORS, NUMBER_REPAIRS
    from cardkit.photos import PHOTO_ERRORS, PHOTO_WARNINGS

    for code in (*NUMBER_ERRORS, *NAME_ERRORS, *PHOTO_ERRORS):
        assert CHECKS[code] == "error"
    for code in (*NUMBER_REPAIRS, *PHOTO_WARNINGS):
        assert CHECKS[code] == "warning"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.text(max_size=20)] * 6), min_size=1, max_size=10))
def test_any_text_in_any_card_column_gets_a_verdict_and_never_raises(rows):
    """Arbitrary text in every card column: one verdict per row, problems only in known codes."""
    frame = pd.DataFrame(rows, columns=["number", "first_name", "last_name", "provider",
                                        "sharing_enabled", "sharing_audience"])
    cards = cardkit.read_cards(frame)
    problems = cardkit.find_problems(cards, check_photos=False)
    checked = cardkit.validate(cards, check_photos=False)
    assert len(checked) == len(rows) and checked["valid"].dtype == bool
    assert set(problems["check"]) <= set(CHECKS)
    errors = set(problems.loc[problems["severity"] == "error", "row"])
    assert set(checked.loc[~checked["valid"], "row"]) == errors
