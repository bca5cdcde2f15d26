"""The words cardkit's frames and journals use, each chosen once: statuses, actions, check codes.

They are `StrEnum`s: a member *is* its text (`Status.APPLIED == "applied"`, `str(Status.APPLIED)
== "applied"`), so frames, journals, reports and JSON keep today's strings while code gets names
a type checker and an editor can follow.

What counts as finished is defined here too, once, for every face (terminal summary, reports,
error/success files, the notebook forms):

- `DONE` — applied, unchanged: the provider has the card as wanted.
- `NEEDS_ATTENTION` — failed, invalid, skipped: the row is *not* done at that provider and a
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
    PLANNED = "planned"
    INVALID = "invalid"
    SKIPPED = "skipped"
    FAILED = "failed"


class Action(StrEnum):
    """What was (or would be) done at the provider (the results frame's `action`)."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    UNCHANGED = "unchanged"
    UNSUPPORTED = "unsupported"
    SHARE = "share"           # the card shared into a chat (`cardkit.share`)
    NONE = "none"


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
    Check.PHOTO_ANIMATED,
})

#: Every status, in the order counts and summaries show them.
STATUSES: tuple[Status, ...] = tuple(Status)
#: The provider has the card as wanted.
DONE: frozenset[Status] = frozenset({Status.APPLIED, Status.UNCHANGED})
#: The row is not done at that provider: someone has to look (fix, run again, retry).
NEEDS_ATTENTION: frozenset[Status] = frozenset({Status.FAILED, Status.INVALID, Status.SKIPPED})


def is_done(status: str) -> bool:
    """True for applied and unchanged."""
    return status in DONE


def needs_attention(status: str) -> bool:
    """True for failed, invalid and skipped (see the module docstring for why skipped)."""
    return status in NEEDS_ATTENTION
