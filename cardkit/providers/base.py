"""What every provider adapter is, and what the engine gives it.

The split: a provider knows its protocol — paths, bodies, how to read a card, how to tell
a transient failure from a permanent one, and multi-step flows such as Linq's
"POST, and on 409/2014 switch to PATCH". The engine knows everything else — workers,
connections, timeouts, retries and backoff, rate limits, the journal, results. The two
meet at `Send`: one HTTP request, already authenticated and timed by the engine, whose
answer the provider classifies.

A provider never sees an httpx client and never retries; it raises `Transient` (the engine
retries the whole operation, re-reading first where it can) or `Permanent` (the row fails
with that message) — both `cardkit.errors.ProviderError`s, built from the reply by
`cardkit.providers.replies.failure`, which classifies it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: Seconds one request may take (the engine's deadline per request, a photo download's in all).
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Sharing:
    """Blooio's Name & Photo sharing settings (None = leave as is)."""

    enabled: bool | None = None
    audience: int | None = None       # 0 contacts only, 1 always ask
    name_format: int | None = None    # 0 first & last, 1 first only


@dataclass(frozen=True, slots=True)      # slots: a run holds one per row (100,000 add up)
class Card:
    """The card one number should have. Empty strings mean "not given"."""

    number: str                       # E.164
    first_name: str
    last_name: str = ""
    display_name: str = ""
    photo_bytes: bytes | None = field(default=None, repr=False)   # prepared JPEG (Blooio)
    photo_url: str = ""               # public URL of the prepared photo (Sendblue, Linq)
    photo_digest: str = ""            # sha256 of the prepared photo: how "unchanged" is decided
    sharing: Sharing | None = None
    photo_source: str = ""            # the sheet's own photo cell (path or URL), for messages
    photo_aliases: frozenset[str] = frozenset()   # other digests that are this same photo (the
                                                  # file's own bytes; what the provider returned for it)
    keep_photo: bool = False          # the sheet says "[keep]": leave the photo as it is
    clear: frozenset[str] = frozenset()   # fields the sheet clears ("[clear]")
    delete: bool = False              # the sheet's action is `delete`: remove the whole card
    cannot: str = ""                  # what of the wanted card can't be done here, said in the
                                      # result (the rest is done; the row ends `partial`)


@dataclass(frozen=True)
class Reply:
    """A provider's answer, as the engine received it."""

    status: int
    body: Any                         # parsed JSON, or None
    headers: Mapping[str, str]


class Send(Protocol):
    """One authenticated request through the engine. Returns the reply whatever its status."""

    def __call__(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Awaitable[Reply]: ...


@dataclass(frozen=True)
class Current:
    """What the provider says the number has now. `known` False = the provider can't be read."""

    known: bool
    exists: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict)   # first_name, last_name, display_name,
                                                              # photo_digest, sharing…
    photo_bytes: bytes | None = field(default=None, repr=False)   # the photo as returned (Blooio)


@dataclass(frozen=True)
class Change:
    """What a write would do: `action` in create/update/replace/unchanged/unsupported."""

    action: str
    fields: tuple[str, ...] = ()
    reason: str = ""                  # why unsupported / invalid for this provider
    refused: tuple[str, ...] = ()     # fields the provider would not take (the rest were set)


@dataclass(frozen=True)
class Shared:
    """What a share did: the provider's confirmation, and the number it went from ("" when the
    provider chose it — Blooio's staging endpoint takes none). `landed_before` is True when the
    provider said an earlier attempt of this same share had already landed."""

    message: str
    from_number: str = ""
    landed_before: bool = False


@dataclass(frozen=True)
class Limits:
    """Default engine limits for a provider (users may override per run)."""

    max_at_once: int
    max_per_second: float
    writes_per_window: int | None = None     # Linq: 3 …
    window_seconds: float | None = None      # … per 600 s per number


@runtime_checkable
class Provider(Protocol):
    """An adapter. Implementations: `Blooio`, `Sendblue`, `Linq` in this package."""

    name: str                          # "blooio" | "sendblue" | "linq"
    base_url: str
    limits: Limits
    photo_transport: str               # "bytes" (engine fills photo_bytes) | "url" (photo_url)

    def auth_headers(self) -> dict[str, str]:
        """The credential headers. Secret: the engine never logs, stores or prints them."""

    def unsupported(self, card: Card) -> str:
        """Why this card can't go to this provider before any request ("" = it can)."""

    async def list_numbers(self, send: Send) -> list[str]:
        """E.164 numbers this credential owns (for routing)."""

    async def read(self, send: Send, number: str) -> Current:
        """The current card, or Current(known=False) when the provider can't be read."""

    def change(self, card: Card, current: Current) -> Change:
        """What applying `card` over `current` would do (pure; used by plan and apply)."""

    async def write(self, send: Send, card: Card, current: Current) -> Change:
        """Apply the card; return what was done. Raises Transient or Permanent."""

    async def share(self, send: Send, chat: str, *, text: str = "", from_number: str = "",
                    idempotency_key: str = "") -> Shared:
        """Share the card into a chat; returns what was done. Permanent if it can't.

        `idempotency_key` goes with a message send (the same key on a retry or a resumed run:
        the provider refuses a second copy)."""

    # Optional: `async def delete(self, send, number) -> None` removes the whole card (Sendblue).

@runtime_checkable
class ReadsMany(Protocol):
    """An adapter that can also read many cards with one request (Linq's listing): the engine
    then reads a whole batch at once before its first writes, instead of one GET per number."""

    async def read_many(self, send: Send, numbers: Iterable[str]) -> dict[str, Current]:
        """The current card of each of `numbers` (those without a card: exists=False)."""
