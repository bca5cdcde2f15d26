"""cardkit's exceptions.

    CardkitError                  base of everything cardkit raises on purpose
    ├── InputError                the file, sheet, columns or arguments can't be used (exit 2)
    │   ├── ColumnError           a required column is missing; names the headers it saw
    │   └── PhotoError            a photo can't be used (cardkit.photos); `.check` is the reason code
    ├── ValidationFailed          validate(on_invalid="raise"); `.problems` is the problems frame
    ├── ConfigError               a provider is not configured (missing credential: names the variable)
    ├── ProviderError             a provider answered with an error; `.provider`, `.http_status`,
    │                             `.error_code` — never the request's credentials
    └── JournalError              the journal file can't be opened or belongs to another kind of run

Messages say what is wrong and what to do. No exception text ever contains an API key.
"""

from __future__ import annotations

from typing import Any


class CardkitError(Exception):
    """Base class. `exit_code` is what the command line exits with for it."""

    exit_code = 2


class InputError(CardkitError, ValueError):
    """A file, sheet, column mapping or argument that cardkit cannot use."""


class ColumnError(InputError):
    """A required column is missing from the spreadsheet."""

    def __init__(self, message: str, *, seen: list[str] | None = None) -> None:
        super().__init__(message)
        self.seen = list(seen or [])


class ValidationFailed(CardkitError):
    """Raised by `validate(..., on_invalid="raise")`; carries every problem found."""

    exit_code = 1

    def __init__(self, message: str, *, problems: Any) -> None:
        super().__init__(message)
        self.problems = problems


class ConfigError(CardkitError):
    """A provider cannot be used as configured, e.g. a missing credential."""


class ProviderError(CardkitError):
    """A provider answered with an error the caller should see."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        http_status: int | None = None,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.http_status = http_status
        self.error_code = error_code


class JournalError(CardkitError):
    """The journal cannot be used for this run."""
