"""normalize_number: national formats, spreadsheet damage, and errors with their reasons."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from cardkit.errors import InputError
from cardkit.phones import NUMBER_ERRORS, NUMBER_REPAIRS, normalize_number


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(415) 555-2671", "+14155552671"),
        ("415.555.2672", "+14155552672"),
        ("+1 212 555 0123", "+12125550123"),
        ("1 (617) 555-0199", "+16175550199"),
        ("  +1-312-555-0182 ", "+13125550182"),
        ("+49 151 23456789", "+4915123456789"),
        ("011 49 151 23456789", "+4915123456789"),  # the US international prefix
        ("＋１ ４１５ ５５５ ２６７１", "+14155552671"),  # full-width digits from a CJK keyboard
    ],
)
def test_national_and_international_formats_become_e164_without_warnings(raw, e164):
    """Usual ways of writing a number normalize silently."""
    result = normalize_number(raw)
    assert (result.e164, result.error, result.repair) == (e164, "", "")


def test_region_decides_numbers_without_a_country_code():
    """'030 1234567' is a Berlin number for region DE and not a US one."""
    assert normalize_number("030 12345678", region="DE").e164 == "+493012345678"
    assert normalize_number("030 12345678", region="us").error != ""


@pytest.mark.parametrize(
    ("raw", "e164", "repair", "says"),
    [
        ("14155552673.0", "+14155552673", "excel_float", "trailing .0"),
        ("1.4155552671E+10", "+14155552671", "excel_float", "scientific notation"),
        ("4915123456789", "+4915123456789", "lost_plus", "leading +"),
        ("0049 151 23456789", "+4915123456789", "double_zero_prefix", "instead of 00"),
        ("+1 415 555 2671 ext. 12", "+14155552671", "extension_dropped", "extension (12)"),
    ],
)
def test_spreadsheet_damage_is_repaired_with_a_warning_that_names_the_result(raw, e164, repair, says):
    """Repairs are usable numbers, and the message says what was assumed and how to fix the sheet."""
    result = normalize_number(raw)
    assert result.ok and result.repaired
    assert (result.e164, result.repair) == (e164, repair)
    assert says in result.message and e164 in result.message and repr(raw.strip()) in result.message


@pytest.mark.parametrize(
    ("raw", "error", "says"),
    [
        ("", "missing_number", "empty"),
        ("   ", "missing_number", "empty"),
        ("n/a", "not_a_number", "no digits"),
        ("1.41555E+10", "scientific_notation", "digits are lost"),
        ("555-0100", "missing_area_code", "add the area code"),
        ("12", "too_short", "too short"),
        ("+1 415 555 2671 2345 6789", "too_long", "too long"),
        ("+999 1234 5678", "invalid_country_code", "country code"),
        ("+1 415 123 4567", "invalid_number", "not a valid number"),
    ],
)
def test_unusable_numbers_are_errors_with_the_reason_and_the_fix(raw, error, says):
    """Each kind of bad number gets its own stable code and a message naming the value."""
    result = normalize_number(raw)
    assert not result.ok and result.e164 == ""
    assert result.error == error and error in NUMBER_ERRORS
    assert says in result.message
    if raw.strip():
        assert repr(raw.strip()) in result.message


def test_scientific_notation_is_never_guessed():
    """Digits Excel dropped are not invented: 1.41555E+10 is refused, not read as 14155500000."""
    result = normalize_number("1.41555E+10")
    assert result.e164 == "" and "14155500000" not in result.message


def test_results_are_cached_per_unique_value():
    """The same raw value gives the very same result object (computed once)."""
    assert normalize_number("(415) 555-2671") is normalize_number("(415) 555-2671")


def test_non_text_values_are_read_as_their_text():
    """An int from a DataFrame is handled like the digits it prints as."""
    assert normalize_number(14155552671).e164 == "+14155552671"
    assert normalize_number(None).error == "missing_number"


def test_unknown_region_is_an_input_error():
    """A region phonenumbers doesn't know is the caller's mistake, reported once, clearly."""
    with pytest.raises(InputError, match="unknown region 'XX'"):
        normalize_number("+14155552671", region="XX")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_normalizing_never_raises_and_is_idempotent_on_any_text(raw):
    """Arbitrary text never raises; an E.164 result normalizes to itself with no repair."""
    result = normalize_number(raw)
    assert result.ok == (result.e164 != "")
    assert result.error in ("", *NUMBER_ERRORS) and result.repair in ("", *NUMBER_REPAIRS)
    if result.ok:
        again = normalize_number(result.e164)
        assert (again.e164, again.error, again.repair) == (result.e164, "", "")
    else:
        assert result.message


phone_like = st.builds(
    lambda prefix, digits, seps: prefix + "".join(d + s for d, s in zip(digits, seps)),
    st.sampled_from(["", "+", "+1 ", "1-", "00", "011 ", "("]),
    st.text(alphabet="0123456789", min_size=3, max_size=15),
    st.lists(st.sampled_from(["", "", " ", "-", ".", ")"]), min_size=15, max_size=15),
)


@settings(max_examples=300, deadline=None)
@given(phone_like)
def test_phone_like_strings_normalize_idempotently(raw):
    """Digits with the usual punctuation: normalizing the result again changes nothing."""
    result = normalize_number(raw)
    if result.ok:
        assert result.e164.startswith("+") and result.e164[1:].isdigit()
        assert normalize_number(result.e164).e164 == result.e164


@settings(max_examples=300, deadline=None)
@given(phone_like)
def test_fast_paths_agree_with_phonenumbers_used_plainly(raw):
    """Punctuation stripping and the default-region shortcut never change phonenumbers' answer."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, "US")
        plain = phonenumbers.format_number(number, 0) if phonenumbers.is_valid_number(number) else ""
    except phonenumbers.NumberParseException:
        plain = ""
    result = normalize_number(raw)
    if plain:
        assert result.e164 == plain and result.repair in ("", "extension_dropped")
    else:
        assert result.error or result.repair  # refused, or repaired with a warning


nanp_like = st.builds(
    lambda prefix, digits, region: (prefix + digits, region),
    st.sampled_from(["", "1", "+1", "+1 ", "1 ", "+"]),
    st.from_regex(r"[2-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["US", "CA", "GB", "DE"]),
)


@settings(max_examples=500, deadline=None)
@given(nanp_like)
def test_north_american_fast_path_gives_phonenumbers_answer(case):
    """Ten-digit NANP numbers (the fast path) get exactly what phonenumbers' parser says, in any region."""
    import phonenumbers

    raw, region = case
    try:
        number = phonenumbers.parse(raw, region)
        plain = phonenumbers.format_number(number, 0) if phonenumbers.is_valid_number(number) else ""
    except phonenumbers.NumberParseException:
        plain = ""
    result = normalize_number(raw, region)
    if plain:
        assert result.e164 == plain
    else:
        assert result.error or result.repair
