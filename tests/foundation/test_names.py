"""clean_name: trimming, Unicode normalization, control characters, the length cap."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from cardkit.names import NAME_ERRORS, NAME_MAX_LENGTH, clean_name


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("  Ana ", "Ana"),
        ("Mary   Jane", "Mary Jane"),
        ("Ana\u00a0Lucía", "Ana Lucía"),            # no-break space from a web page
        ("Chloe\u0301", "Chlo\u00e9"),              # decomposed é (macOS) → composed
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("李小龍", "李小龍"),
        ("👩\u200d💻 Dev", "👩\u200d💻 Dev"),       # ZWJ emoji sequence is allowed
        ("\tAna\n", "Ana"),                          # outer whitespace of any kind is trimmed
    ],
)
def test_names_are_trimmed_and_normalized(raw, value):
    """Whitespace is trimmed/collapsed and Unicode is NFC; real names pass untouched otherwise."""
    result = clean_name(raw, required=True)
    assert result.ok and result.value == value


@pytest.mark.parametrize("raw", ["Rosa\x07", "Ro\tsa", "Ana\nRuiz", "Ro\u200bsa", "Ana\u202eziuR", "A\x00"])
def test_control_and_invisible_characters_are_errors_naming_the_code_point(raw):
    """Bell, tab or line break inside a name, zero-width space, bidi override: refused, U+ shown."""
    result = clean_name(raw, label="first name")
    assert result.error == "control_character"
    assert "U+" in result.message and repr(raw) in result.message and "first name" in result.message


def test_empty_required_name_is_an_error_and_optional_one_is_fine():
    """An empty first name is an error; an empty last name is just empty."""
    assert clean_name("  ", required=True, label="first name").error == "missing_name"
    assert clean_name("", required=False) .ok


def test_length_cap_is_inclusive():
    """NAME_MAX_LENGTH characters pass; one more is an error that says the length and the cap."""
    assert clean_name("a" * NAME_MAX_LENGTH).ok
    result = clean_name("a" * (NAME_MAX_LENGTH + 1), label="last name")
    assert result.error == "name_too_long"
    assert f"{NAME_MAX_LENGTH + 1} characters" in result.message and str(NAME_MAX_LENGTH) in result.message


@given(st.text(max_size=80))
def test_cleaning_never_raises_and_is_idempotent(raw):
    """Any text gets a verdict; a clean value cleans to itself."""
    result = clean_name(raw, required=True)
    assert result.error in ("", *NAME_ERRORS)
    if result.ok:
        again = clean_name(result.value, required=True)
        assert again.ok and again.value == result.value
