"""cardkit's exceptions: one tree, every one a `CardkitError`.

    CardkitError                  base of everything cardkit raises on purpose
    ├── InputError                the file, sheet, columns or arguments can't be used (exit 2)
    │   ├── ColumnError           a required column is missing; names the headers it saw
    │   └── PhotoError            a photo can't be used (cardkit.photos); `.check` is the reason code
    ├── ValidationFailed          validate(on_invalid="raise"); `.problems` is the problems frame
    ├── ConfigError               a provider is not configured (missing credential: names the variable)
    ├── ProviderError             a provider's reply (or its silence) ended one attempt; carries the
    │   │                         `.reply` and what was read from it: `.provider`, `.http_status`,
    │   │                         `.error_code`, `.message`, `.retry_after`, `.wrote_maybe`
    │   ├── Transient             worth another attempt (408/429/5xx, Linq 2022/4004, timeouts, …);
    │   │                         whether it gets one is the retry policy's to decide
    │   └── Permanent             sending it again won't help (400/401/403/404…): the message says what to do
    └── JournalError              the journal file can't be opened or belongs to another kind of run

Adapters raise `Transient`/`Permanent` (a third-party adapter imports them from
`cardkit.providers`); the engine's retry policy (`cardkit.engine.retry_policy`) decides what
happens next, and the row's message says so ("retrying after attempt N: …" / "gave up after N
attempts: …").

Messages say what is wrong and what to do. No exception text, repr or attribute ever contains a
credential: a `ProviderError` carries the provider's *reply* (status, body, response headers),
never the request that was sent.
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

    def __init__(self, message: str, *, seen: list[str] | None = None,
                 missing: list[str] | None = None, suggested: dict[str, str] | None = None,
                 problem: str = "") -> None:
        super().__init__(message)
        self.seen = list(seen or [])
        #: the canonical columns not found (e.g. ["number"]), for a form offering a mapping
        self.missing = list(missing or [])
        #: header → column to map, the likeliest fix (the CLI words it as --column 'Header=name')
        self.suggested = dict(suggested or {})
        #: the message without its Python remedy (`columns=…`)
        self.problem = problem or message


class ValidationFailed(CardkitError):
    """Raised by `validate(..., on_invalid="raise")`; carries every problem found."""

    exit_code = 1

    def __init__(self, message: str, *, problems: Any) -> None:
        super().__init__(message)
        self.problems = problems


class ConfigError(CardkitError):
    """A provider cannot be used as configured, e.g. a missing credential."""


class ProviderError(CardkitError):
    """A provider's answer ended an attempt — like httpx's errors, it carries the reply.

    `reply` is the provider's `Reply` (status, parsed body, response headers) or None when
    there was no answer (timeout, connection error). `http_status` is the reply's status unless
    given; `error_code` the provider's own code as text; `retry_after` the least seconds to
    wait before trying again (the provider's Retry-After, or a documented rule such as Linq's
    30 s after 503/4004); `wrote_maybe` is True when a write may have landed although no
    success came back (the engine then reads back before re-sending).
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        reply: Any = None,
        http_status: int | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
        wrote_maybe: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.reply = reply
        self.http_status = http_status if http_status is not None else getattr(reply, "status", None)
        self.error_code = error_code
        self.retry_after = retry_after
        self.wrote_maybe = wrote_maybe

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
                f"http_status={self.http_status!r}, error_code={self.error_code!r})")


class Transient(ProviderError):
    """Worth trying again: 408/429/5xx, Linq 2022/4004, connection errors, timeouts.

    The message describes the failure only (no "will retry"): whether it is retried or given
    up on is the retry policy's to say, and the row's message says so.
    """


class Permanent(ProviderError):
    """Sending it again will not help (400, 401, 403, 404, …); the message says what to do."""


class JournalError(CardkitError):
    """The journal cannot be used for this run."""
