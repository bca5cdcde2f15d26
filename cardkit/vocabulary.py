"""The words cardkit's frames and journals use, each chosen once: statuses, actions, check codes.

They are `StrEnum`s: a member *is* its text (`Status.APPLIED == "applied"`, `str(Status.APPLIED)
== "applied"`), so frames, journals, reports and JSON keep today's strings while code gets names
a type checker and an editor can follow.

What counts as finished is defined here too, once, for every face (terminal summary, reports,
error/success files, the notebook forms):

- `DONE` — applied, unchanged: the provider has the card as wanted.
- `NEEDS_ATTENTION` — failed, invalid, skipped, partial: the row is *not* done at that provider and a
  person has to act (fix the cell, run again, or retry). `skipped` belongs here: it is a row
  that never ran (cancelled, or a duplicate of another row), so calling it fine would hide it.
- `planned` is neither: it is what a plan says would happen.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How one card × provider operation ended (the results frame's `status`)."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"
    PARTIAL = "partial"          # applied in part; the rest needs a person (the message says what)
    PLANNED = "planned"
    INVALID = "invalid"
    SKIPPED = "skipped"
    FAILED = "failed"


class Action(StrEnum):
    """What was (or would be) done at the provider (the results frame's `action`)."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    UNSUPPORTED = "unsupported"
    SHARE = "share"           # the card shared into a chat (`cardkit.share`)
    NONE = "none"


class RowAction(StrEnum):
    """What a sheet's `action` column asks for a row (blank = `set`)."""

    SET = "set"          # give the number this card (empty cells: leave those fields as they are)
    DELETE = "delete"    # remove the whole card where the provider can
    KEEP = "keep"        # leave the card as it is (what `pull` writes for numbers without a card)


#: The cell that clears one field where the provider allows it. Square brackets and a word:
#: Excel and CSV keep it as text (no formula, number or date), and nobody types it by accident.
CLEAR_MARKER = "[clear]"
#: The cell that says "leave this field as it is" and why (what `pull` writes where a provider
#: never returns the photo: "[keep: Sendblue does not return photos]"); read as `[keep…]`.
KEEP_MARKER = "[keep]"


def marker(cell: object) -> str:
    """`CLEAR_MARKER`, `KEEP_MARKER` or "" for a cell (case and spaces don't matter)."""
    text = str(cell or "").strip().lower()
    if not text.startswith("[") or not text.endswith("]"):
        return ""
    word = text[1:-1].split(":", 1)[0].strip()
    return {"clear": CLEAR_MARKER, "keep": KEEP_MARKER}.get(word, "")


class Severity(StrEnum):
    """How bad a problem is: an error stops the row, a warning is fixed or noted."""

    ERROR = "error"
    WARNING = "warning"


class Check(StrEnum):
    """The stable code of each check `find_problems` reports (the problems frame's `check`)."""

    MISSING_COLUMN = "missing_column"
    # numbers (see cardkit.phones)
    MISSING_NUMBER = "missing_number"
    SCIENTIFIC_NOTATION = "scientific_notation"
    NOT_A_NUMBER = "not_a_number"
    INVALID_COUNTRY_CODE = "invalid_country_code"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    MISSING_AREA_CODE = "missing_area_code"
    INVALID_NUMBER = "invalid_number"
    DUPLICATE_NUMBER = "duplicate_number"
    EXCEL_FLOAT = "excel_float"
    LOST_PLUS = "lost_plus"
    DOUBLE_ZERO_PREFIX = "double_zero_prefix"
    EXTENSION_DROPPED = "extension_dropped"
    # names (see cardkit.names)
    MISSING_NAME = "missing_name"
    CONTROL_CHARACTER = "control_character"
    NAME_TOO_LONG = "name_too_long"
    # photos (see cardkit.photos)
    PHOTO_MISSING = "photo_missing"
    PHOTO_NOT_IMAGE = "photo_not_image"
    PHOTO_CORRUPT = "photo_corrupt"
    PHOTO_TOO_MANY_PIXELS = "photo_too_many_pixels"
    PHOTO_URL = "photo_url"
    PHOTO_TOO_BIG = "photo_too_big"
    PHOTO_NOT_SQUARE = "photo_not_square"
    PHOTO_SMALL = "photo_small"
    PHOTO_CMYK = "photo_cmyk"
    PHOTO_TRANSPARENT = "photo_transparent"
    PHOTO_ANIMATED = "photo_animated"
    PHOTO_OUTSIDE_FOLDER = "photo_outside_folder"   # a path leading out of the photo folder
    # routing and settings
    UNKNOWN_PROVIDER = "unknown_provider"
    PROVIDER_NEEDS_FIELD = "provider_needs_field"
    BAD_SHARING_VALUE = "bad_sharing_value"
    BAD_ACTION = "bad_action"
    CANNOT_CLEAR = "cannot_clear"                   # a clear marker where no field can be cleared
    FIELD_NOT_SENT = "field_not_sent"               # a value the row's provider has no field for
    # Sendblue contact records (see cardkit.contacts.checks)
    BAD_EMAIL = "bad_email"
    TAG_TOO_LONG = "tag_too_long"
    NOTHING_TO_UPDATE = "nothing_to_update"

    @property
    def severity(self) -> Severity:
        """Warnings are the checks whose finding cardkit repairs or can live with."""
        return Severity.WARNING if self in _WARNINGS else Severity.ERROR


_WARNINGS = frozenset({
    Check.EXCEL_FLOAT, Check.LOST_PLUS, Check.DOUBLE_ZERO_PREFIX, Check.EXTENSION_DROPPED,
    Check.PHOTO_NOT_SQUARE, Check.PHOTO_SMALL, Check.PHOTO_CMYK, Check.PHOTO_TRANSPARENT,
    Check.PHOTO_ANIMATED, Check.FIELD_NOT_SENT,
})

#: Every status, in the order counts and summaries show them.
STATUSES: tuple[Status, ...] = tuple(Status)
#: The provider has the card as wanted.
DONE: frozenset[Status] = frozenset({Status.APPLIED, Status.UNCHANGED})
#: The row is not done at that provider: someone has to look (fix, run again, retry). `partial`
#: is here too: part of the card was set, the rest was refused (e.g. a Blooio plan).
NEEDS_ATTENTION: frozenset[Status] = frozenset({Status.FAILED, Status.INVALID, Status.SKIPPED,
                                                Status.PARTIAL})


def is_done(status: str) -> bool:
    """True for applied and unchanged."""
    return status in DONE


def needs_attention(status: str) -> bool:
    """True for failed, invalid and skipped (see the module docstring for why skipped)."""
    return status in NEEDS_ATTENTION
