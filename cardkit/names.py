"""Names on a card: trimmed, Unicode-normalized, and refused when they can't be shown.

`clean_name(raw)` returns a frozen `NameResult`: the cleaned value (NFC, outer whitespace
trimmed, inner runs of spaces collapsed to one) or an error code and a message naming the
value and the fix. Cached per unique value: names repeat in a sheet (first names above all).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

#: The longest name cardkit sends, in characters. An iPhone shows about 20–30 characters of
#: a card's name; 64 lets long double-barrelled names through and catches a pasted sentence,
#: address or note in the wrong column.
NAME_MAX_LENGTH = 64

#: Error codes `clean_name` can return.
NAME_ERRORS = ("missing_name", "control_character", "name_too_long")

# Characters that are never part of a name: controls (tab, newline, bell, …), unassigned
# surrogates, private use, and format characters except the two joiners that real scripts
# and emoji need (ZWNJ U+200C, ZWJ U+200D).
_FORBIDDEN_CATEGORIES = {"Cc", "Cs", "Co", "Cf"}
_ALLOWED_FORMAT = {"\u200c", "\u200d"}
_SPACES = re.compile(r"[^\S\r\n\t\v\f\x1c-\x1f\x85]+")  # runs of spaces, not line breaks
_PLAIN = re.compile(r"^[A-Za-z0-9 .,'\-]*$")


@dataclass(frozen=True)
class NameResult:
    """What one raw name became: `value` cleaned, or `error` with a `message` saying the fix."""

    raw: str
    value: str
    error: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def clean_name(
    raw: object, *, required: bool = False, max_length: int = NAME_MAX_LENGTH, label: str = "name"
) -> NameResult:
    """Clean one name. `required` makes an empty name an error; `label` is used in messages."""
    text = "" if raw is None else str(raw)
    return _clean_cached(text, required, max_length, label)


@lru_cache(maxsize=1 << 18)
def _clean_cached(text: str, required: bool, max_length: int, label: str) -> NameResult:
    if _PLAIN.match(text):  # the common case: nothing to normalize, nothing to refuse
        value = _SPACES.sub(" ", text).strip()
    else:
        value = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
        bad = next((c for c in value if _forbidden(c)), None)
        if bad is not None:
            return NameResult(
                text,
                value,
                "control_character",
                f"{text!r} contains an invisible control character (U+{ord(bad):04X}) — "
                f"retype the {label} without it",
            )
    if not value:
        if required:
            return NameResult(
                text, value, "missing_name", f"the {label} is empty — fill it in, the card shows it"
            )
        return NameResult(text, value)
    if len(value) > max_length:
        return NameResult(
            text,
            value,
            "name_too_long",
            f"{shorten(value)!r} is {len(value)} characters long; a {label} can have at most "
            f"{max_length} — shorten it (is something else in this column?)",
        )
    return NameResult(text, value)


def _forbidden(char: str) -> bool:
    return unicodedata.category(char) in _FORBIDDEN_CATEGORIES and char not in _ALLOWED_FORMAT


def shorten(value: str, keep: int = 40) -> str:
    """`value` cut to `keep` characters with "…", so a message never quotes a huge cell whole.

    The one helper for this: validation, the engine, photo errors and the terminal summary
    all quote long values through it."""
    return value if len(value) <= keep else value[: keep - 1] + "…"


def quoted(value: str, keep: int = 40) -> str:
    """`value` as a message quotes it: shortened, in quotes, control characters made visible
    (`'Rosa\\x07'`), backslashes as the user typed them (`'Fotos\\Sven.jpg'`, never doubled),
    and an empty cell as "(empty)"."""
    text = shorten(str(value).strip(), keep)
    if not text:
        return "(empty)"
    shown = repr(text)
    return shown.replace("\\\\", "\\")
