"""Phone numbers: whatever a spreadsheet holds → E.164, or a reason a person can act on.

`normalize_number(raw, region="US")` never raises for a row's value; it returns a frozen
`NumberResult` saying the E.164 form, or an error code and message, and whether it had to
repair the text (Excel damage, a lost `+`, `00` as the international prefix). Results are
cached per unique (raw, region): a sheet repeats itself, and phonenumbers costs ≈ 20 µs.

Messages name the value and the fix; the row and the column are added by `validation`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from cardkit.errors import InputError

#: Error codes `normalize_number` can return (stable: tests, reports and users rely on them).
NUMBER_ERRORS = (
    "missing_number",
    "scientific_notation",
    "not_a_number",
    "invalid_country_code",
    "too_short",
    "too_long",
    "missing_area_code",
    "invalid_number",
)
#: Warning codes: the number was repaired and is usable, but the sheet should be fixed.
NUMBER_REPAIRS = ("excel_float", "lost_plus", "double_zero_prefix", "extension_dropped")

_EXCEL_FLOAT = re.compile(r"^\s*(\+?\d+)\.0+\s*$")
_SCIENTIFIC = re.compile(r"^\s*\+?(\d)(?:[.,](\d+))?\s*[eE]\s*\+?(\d+)\s*$")
_DIGITS_ONLY = re.compile(r"^\d+$")
_HAS_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class NumberResult:
    """What one raw value became.

    `e164` is "" when the number is unusable; then `error` is a code from `NUMBER_ERRORS`
    and `message` says why and what to do. When `repair` is set (a code from
    `NUMBER_REPAIRS`) the number is usable but `message` says what was assumed.
    """

    raw: str
    e164: str = ""
    error: str = ""
    message: str = ""
    repair: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def repaired(self) -> bool:
        return bool(self.repair)


def check_region(region: str) -> str:
    """Return `region` upper-cased, or raise `InputError` if phonenumbers doesn't know it."""
    code = (region or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InputError(
            f"unknown region {region!r}: use a two-letter country code such as US, GB or DE"
        )
    return code


def normalize_number(raw: object, region: str = "US") -> NumberResult:
    """Turn one spreadsheet value into E.164 (see `NumberResult`). Never raises for the value."""
    text = "" if raw is None else str(raw)
    return _normalize_cached(text, check_region(region))


@lru_cache(maxsize=1 << 18)
def _normalize_cached(text: str, region: str) -> NumberResult:
    stripped = text.strip()
    if not stripped:
        return NumberResult(text, error="missing_number", message="the number is empty — fill it in")

    scientific = _SCIENTIFIC.match(stripped)
    if scientific:
        return _from_scientific(text, scientific, region)

    repair, note = "", ""
    excel = _EXCEL_FLOAT.match(stripped)
    if excel:
        stripped = excel.group(1)
        repair = "excel_float"
        note = (
            f"{text.strip()!r} looks damaged by Excel (a trailing .0); read it as {{e164}} — "
            "format the column as Text so the sheet keeps the number as written"
        )
    return _parse(text, stripped, region, repair, note)


def _from_scientific(text: str, match: re.Match, region: str) -> NumberResult:
    """`1.41555E+10`: repair only when every digit survived, never guess the lost ones."""
    lead, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3))
    if len(lead + fraction) == exponent + 1:
        try:
            digits = str(int(Decimal(f"{lead}.{fraction or '0'}e{exponent}")))
        except (InvalidOperation, ValueError):  # pragma: no cover - the regex rules this out
            digits = ""
        if digits:
            note = (
                f"{text.strip()!r} was shown by Excel in scientific notation; every digit was "
                "still there, read it as {e164} — format the column as Text"
            )
            return _parse(text, digits, region, "excel_float", note)
    return NumberResult(
        text,
        error="scientific_notation",
        message=(
            f"{text.strip()!r} is a number Excel shortened to scientific notation, so digits are "
            "lost — format the column as Text and type the full number again"
        ),
    )


def _parse(text: str, candidate: str, region: str, repair: str, note: str) -> NumberResult:
    shown = text.strip()
    if not _HAS_DIGIT.search(candidate):
        return NumberResult(
            text, error="not_a_number", message=f"{shown!r} has no digits — put a phone number here"
        )
    number, reason = _try(candidate, region)
    if reason:
        # The usual spreadsheet accidents, tried only once the text fails as written.
        retry = ""
        if _DIGITS_ONLY.match(candidate) and not candidate.startswith("0"):
            retry, why = "+" + candidate, "lost_plus"
            why_note = (
                f"{shown!r} is not a number in region {region}, but is one with a leading + "
                "(probably lost in a spreadsheet); read it as {e164} — write numbers with their +"
            )
        elif candidate.lstrip().startswith("00"):
            retry, why = "+" + candidate.lstrip()[2:], "double_zero_prefix"
            why_note = (
                f"{shown!r} starts with 00, the international prefix outside North America; "
                "read it as {e164} — write international numbers with a + instead of 00"
            )
        if retry:
            again, again_reason = _try(retry, region)
            if not again_reason:
                number, reason = again, ""
                if not repair:  # the first repair (e.g. Excel's .0) is the one worth telling
                    repair, note = why, why_note
    if reason:
        return NumberResult(text, error=reason, message=_explain(shown, reason, region))
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if not repair and number.extension:
        repair = "extension_dropped"
        note = (
            f"{shown!r} has an extension ({number.extension}); a contact card belongs to the "
            "whole number, so it was dropped: {e164}"
        )
    return NumberResult(text, e164=e164, repair=repair, message=note.replace("{e164}", e164))


def _try(candidate: str, region: str):
    """Parse and validate; return (number, "") or (None, error code)."""
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException as exc:
        return None, _PARSE_ERRORS.get(exc.error_type, "not_a_number")
    if phonenumbers.is_valid_number(number):
        return number, ""
    possible = phonenumbers.is_possible_number_with_reason(number)
    return None, _POSSIBLE_ERRORS.get(possible, "invalid_number")


_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}
_POSSIBLE_ERRORS = {
    ValidationResult.IS_POSSIBLE: "invalid_number",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "missing_area_code",
    ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.TOO_LONG: "too_long",
    ValidationResult.INVALID_LENGTH: "invalid_number",
}


def _explain(shown: str, reason: str, region: str) -> str:
    value = repr(shown)
    return {
        "not_a_number": f"{value} is not a phone number — put digits here, e.g. +1 415 555 2671",
        "invalid_country_code": (
            f"{value} has no country code cardkit knows — start it with + and the country code"
        ),
        "too_short": f"{value} is too short to be a phone number — check for missing digits",
        "too_long": f"{value} is too long to be a phone number — check for extra digits",
        "missing_area_code": (
            f"{value} is not a complete number for region {region} — add the area code"
        ),
        "invalid_number": (
            f"{value} is not a valid number for region {region} — check the digits, or write it "
            "with + and the country code if it is from another country"
        ),
    }[reason]
