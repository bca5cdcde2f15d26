"""Phone numbers: whatever a spreadsheet holds → E.164, or a reason a person can act on.

`normalize_number(raw, region="US")` never raises for a row's value; it returns a frozen
`NumberResult` saying the E.164 form, or an error code and message, and whether it had to
repair the text (Excel damage, a lost `+`, `00` as the international prefix). Results are
cached per unique (raw, region): a sheet repeats itself, and phonenumbers costs ≈ 20 µs.

Messages name the value and the fix; the row and the column are added by `validation`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult, national_significant_number

from cardkit.errors import InputError
from cardkit.names import shorten

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

_EXCEL_FLOAT = re.compile(r"^(\+?\d+)\.0+$")
_SCIENTIFIC = re.compile(r"^\+?(\d)(?:[.,](\d+))?\s*[eE]\s*\+?(\d+)$")
_DIGITS_ONLY = re.compile(r"^\d+$")
_HAS_DIGIT = re.compile(r"\d")
# Text made only of digits and the punctuation people type is reduced to its digits (and +)
# before parsing, so "(415) 555-2671" and "415.555.2671" are parsed once, not twice.
_PLAIN_PUNCTUATION = re.compile(r"^\+?[\d \-.()/\u00a0]+$")
_DROP_PUNCTUATION = str.maketrans("", "", " -.()/\u00a0")


class NumberResult(NamedTuple):
    """What one raw value became.

    `e164` is "" when the number is unusable; then `error` is a code from `NUMBER_ERRORS`
    and `message` says why and what to do. When `repair` is set (a code from
    `NUMBER_REPAIRS`) the number is usable and `message` says what was assumed.
    (A NamedTuple: made for every unique value of a sheet, it must be cheap.)
    """

    raw: str
    e164: str = ""
    error: str = ""
    repair: str = ""
    region: str = "US"
    detail: str = ""  # the extension dropped, or "scientific" for an Excel E+ repair

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def repaired(self) -> bool:
        return bool(self.repair)

    @property
    def message(self) -> str:
        """The explanation with the fix ("" for a number that needed nothing)."""
        return _explain(self)


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
    key = text.strip()
    if _PLAIN_PUNCTUATION.match(key) and not _EXCEL_FLOAT.match(key):
        key = key.translate(_DROP_PUNCTUATION)
    e164, error, repair, detail = _normalize_key(key, region)
    return NumberResult(text, e164, error, repair, region, detail)


@lru_cache(maxsize=1 << 18)
def _normalize_key(key: str, region: str) -> tuple[str, str, str, str]:
    """(e164, error, repair, detail) for text already stripped of plain punctuation."""
    if not key:
        return "", "missing_number", "", ""
    scientific = _SCIENTIFIC.match(key)
    if scientific:
        lead, fraction, exponent = scientific.group(1), scientific.group(2) or "", int(scientific.group(3))
        if len(lead + fraction) != exponent + 1:  # digits were lost: never guess them
            return "", "scientific_notation", "", ""
        return _parse(lead + fraction, region, "excel_float", "scientific")
    excel = _EXCEL_FLOAT.match(key)
    if excel:
        return _parse(excel.group(1), region, "excel_float", "")
    if not _HAS_DIGIT.search(key):
        return "", "not_a_number", "", "no digits"
    return _parse(key, region, "", "")


_NANP_DIGITS = re.compile(r"^(?:\+1|1)?([2-9]\d{9})$")


def _nanp_fast(candidate: str, region: str) -> str:
    """E.164 for a plain North American number, without phonenumbers' general parser.

    Only a number that phonenumbers itself then calls valid is returned; anything else
    ("" back) takes the general path, so the answer is always phonenumbers' own.
    """
    match = _NANP_DIGITS.match(candidate)
    if not match or (candidate[0] != "+" and phonenumbers.country_code_for_region(region) != 1):
        return ""
    number = phonenumbers.PhoneNumber(country_code=1, national_number=int(match.group(1)))
    if phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number):
        return "+1" + match.group(1)
    return ""


def _parse(candidate: str, region: str, repair: str, detail: str) -> tuple[str, str, str, str]:
    fast = _nanp_fast(candidate, region)
    if fast:
        return fast, "", repair, detail
    number, reason = _try(candidate, region)
    if reason:
        # The usual spreadsheet accidents, tried only once the text fails as written.
        retry, why = "", ""
        if _DIGITS_ONLY.match(candidate) and not candidate.startswith("0"):
            retry, why = "+" + candidate, "lost_plus"
        elif candidate.startswith("00"):
            retry, why = "+" + candidate[2:], "double_zero_prefix"
        if retry:
            again, again_reason = _try(retry, region)
            if not again_reason:
                number, reason = again, ""
                if not repair:  # the first repair (e.g. Excel's .0) is the one worth telling
                    repair = why
    if reason:
        return "", reason, "", ""
    e164 = f"+{number.country_code}{national_significant_number(number)}"
    if not repair and number.extension:
        repair, detail = "extension_dropped", number.extension
    return e164, "", repair, detail


def _try(candidate: str, region: str):
    """Parse and validate; return (number, "") or (None, error code)."""
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException as exc:
        return None, _PARSE_ERRORS.get(exc.error_type, "not_a_number")
    # Checking against the default region first is half the work of is_valid_number
    # (which first looks for the region among all that share the country code).
    if (
        number.country_code == phonenumbers.country_code_for_region(region)
        and phonenumbers.is_valid_number_for_region(number, region)
    ) or phonenumbers.is_valid_number(number):
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


def _explain(result: NumberResult) -> str:
    value, region, e164 = repr(shorten(result.raw.strip())), result.region, result.e164
    if result.error == "not_a_number" and result.detail == "no digits":
        return f"{value} has no digits — put a phone number here"
    if result.error:
        return {
            "missing_number": "the number is empty — fill it in",
            "scientific_notation": (
                f"{value} is a number Excel shortened to scientific notation, so digits are "
                "lost — format the column as Text and type the full number again"
            ),
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
                f"{value} is not a valid number for region {region} — check the digits, or write "
                "it with + and the country code if it is from another country"
            ),
        }[result.error]
    if result.repair == "excel_float" and result.detail == "scientific":
        return (
            f"{value} was shown by Excel in scientific notation; every digit was still there, "
            f"read it as {e164} — format the column as Text"
        )
    return {
        "": "",
        "excel_float": (
            f"{value} looks damaged by Excel (a trailing .0); read it as {e164} — format the "
            "column as Text so the sheet keeps the number as written"
        ),
        "lost_plus": (
            f"{value} is not a number in region {region}, but is one with a leading + (probably "
            f"lost in a spreadsheet); read it as {e164} — write numbers with their +"
        ),
        "double_zero_prefix": (
            f"{value} starts with 00, the international prefix outside North America; read it "
            f"as {e164} — write international numbers with a + instead of 00"
        ),
        "extension_dropped": (
            f"{value} has an extension ({result.detail}); a contact card belongs to the whole "
            f"number, so it was dropped: {e164}"
        ),
    }[result.repair]
