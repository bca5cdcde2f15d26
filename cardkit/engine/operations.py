"""From a validated cards frame to operations: one `Op` per card × provider, photos ready.

Photos are prepared once per distinct source (decoding and resizing release the GIL, so a
small thread pool does them side by side), then shaped for each provider: Blooio gets the
prepared JPEG's bytes (a photo given as URL is downloaded first, with the adapters' size, time
and content checks); Sendblue and Linq get a URL — an https URL in the sheet passes through,
a local file is uploaded once through the `photo_host`.

An operation that can't be sent (invalid row, a photo that can't be prepared, a card the
provider can't take) is born finished with status `invalid` and the reason; nothing is sent
for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import httpx

from cardkit.errors import InputError, Permanent, ProviderError
from cardkit.names import shorten
from cardkit.urls import is_url, redact
from cardkit.providers.base import Card, Provider, Sharing
from cardkit.vocabulary import CLEAR_MARKER, KEEP_MARKER, Action, RowAction, Status, marker

_PHOTO_THREADS = 4


@dataclass(eq=False, slots=True)
class Op:
    """One card × provider: what to send, and (once finished) what happened."""

    seq: int                              # position in the results frame (input order)
    row: int                              # the spreadsheet's own row number
    number: str
    provider: Provider | None
    provider_name: str
    card: Card | None = None
    desired: str = ""                     # hash of the desired state (card incl. photo digest)
    record: dict[str, Any] = field(default_factory=dict)   # the validated row, for the journal
    # outcome
    action: str = Action.NONE
    status: str = ""                      # a `Status` once finished, "" while not
    http_status: int | None = None
    error_code: str = ""
    message: str = ""
    changed: str = ""
    changes: dict[str, Any] = field(default_factory=dict)   # field → {"from", "to"} (engine/changes.py)
    attempts: int = 0
    elapsed_ms: float = 0.0
    started_at: str | None = None
    finished_at: str | None = None
    # scheduling
    in_doubt_run: str = ""                # an earlier run left this write "sending"
    sent: bool = False                    # journal already says "sending"
    before: Any = None                    # the card as read before the first write (`doubt.py`)
    repeated: bool = False                # re-sent though the provider couldn't tell if it landed

    def finish(self, status: str, message: str = "", *, action: str | None = None,
               fields: tuple[str, ...] = (), failure: ProviderError | None = None) -> None:
        """Record the outcome (once)."""
        self.status = status
        self.message = message
        if action is not None:
            self.action = action
        self.changed = ",".join(fields)
        # the status and code of the failure that ended it (none for a success after retries)
        self.http_status = failure.http_status if failure is not None else None
        self.error_code = (failure.error_code or "") if failure is not None else ""


def card_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The card columns of one validated row, as plain text (missing columns → "")."""
    from cardkit.columns import CARD_COLUMNS

    return {c: ("" if row.get(c) is None or row.get(c) != row.get(c) else str(row.get(c)))
            for c in CARD_COLUMNS}


def parse_sharing(fields: Mapping[str, str]) -> tuple[Sharing | None, str]:
    """The sharing settings of a validated row (validate writes true/false and 0/1), or a
    message naming the column and value when one is not in that form."""
    values: list[Any] = []
    for column, choices in (("sharing_enabled", {"true": True, "false": False}),
                            ("sharing_audience", {"0": 0, "1": 1}),
                            ("sharing_name_format", {"0": 0, "1": 1})):
        text = fields.get(column, "").strip().lower()
        if text and text not in choices:
            return None, (f"{column}: {fields[column]!r} is not a setting cardkit understands — "
                          "run it through cardkit.validate, or write " + " or ".join(choices))
        values.append(choices.get(text) if text else None)
    if all(v is None for v in values):
        return None, ""
    return Sharing(*values), ""


def desired_hash(provider: str, card: Card) -> str:
    """A digest of the state a card asks for: equal hashes mean "nothing new to send"."""
    sharing = card.sharing
    photo = card.photo_digest or card.photo_url
    state: list[Any] = [provider, card.number, card.first_name, card.last_name, card.display_name,
                        photo, None if sharing is None else [sharing.enabled, sharing.audience,
                                                             sharing.name_format]]
    if card.delete or card.clear:          # only then: the hashes of earlier journals stay valid
        state.append(["delete" if card.delete else "", sorted(card.clear)])
    text = json.dumps(state)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class PhotoShop:
    """Prepares, downloads and uploads photos once each for a run; failures become messages."""

    def __init__(self, *, photo_host: Any = None, transport: httpx.AsyncBaseTransport | None = None,
                 allow_private: Any = None) -> None:
        self.photo_host = photo_host
        self.allow_private = allow_private   # private origins URL photos may come from (the sandbox's)
        self._transport = transport
        self._pool = concurrent.futures.ThreadPoolExecutor(_PHOTO_THREADS, thread_name_prefix="cardkit-photo")
        self._prepared: dict[str, asyncio.Future[tuple[bytes, str, str]]] = {}
        self._uploaded: dict[str, asyncio.Future[str]] = {}
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            await self._client.aclose()

    async def prepared(self, source: str) -> tuple[bytes, str, str]:
        """The prepared JPEG of a path or URL, its sha256, and the sha256 of the source's own
        bytes (done once per source). The source's digest is how a photo pulled from a provider
        counts as the same photo though preparing it again would give other bytes."""
        future = self._prepared.get(source)
        if future is None:
            future = asyncio.ensure_future(self._prepare(source))
            self._prepared[source] = future
        return await asyncio.shield(future)

    async def url_for(self, data: bytes, digest: str) -> str:
        """A public URL for prepared bytes, through the photo host (uploaded once)."""
        future = self._uploaded.get(digest)
        if future is None:
            future = asyncio.ensure_future(self.photo_host.upload(data, "image/jpeg"))
            self._uploaded[digest] = future
        return await asyncio.shield(future)

    async def _prepare(self, source: str) -> tuple[bytes, str, str]:
        from cardkit.photos import prepare_photo

        raw: Any = source
        if is_url(source):
            from cardkit.providers.media import fetch_photo

            if self._client is None:
                self._client = httpx.AsyncClient(transport=self._transport)
            raw = await fetch_photo(source, client=self._client, allow_private=self.allow_private)
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(self._pool, prepare_photo, raw)
        own = await loop.run_in_executor(self._pool, _source_digest, raw)
        return data, hashlib.sha256(data).hexdigest(), own


async def build_card(op: Op, fields: Mapping[str, str], sharing: Sharing | None, photos: PhotoShop) -> None:
    """Fill `op.card` for its provider, or finish the op as invalid/failed with the reason.

    Whatever goes wrong with one row's photo, that row fails with a message; the run goes on.
    """
    try:
        await _build_card(op, fields, sharing, photos)
    except Exception as exc:  # noqa: BLE001 — an unforeseen error is one row's failure, not the run's
        source = fields.get("photo", "")
        shown = redact(source) if is_url(source) else source
        shown = shorten(shown, 80)
        op.finish(Status.FAILED, f"photo: {shown!r} couldn't be prepared ({type(exc).__name__}: {_reason(exc)}) — "
                  "check the photo cell, or try again", action=Action.NONE)


async def _build_card(op: Op, fields: Mapping[str, str], sharing: Sharing | None, photos: PhotoShop) -> None:
    provider = op.provider
    assert provider is not None
    if fields.get("action") == RowAction.DELETE:
        _use_card(op, provider, Card(number=op.number, first_name="", delete=True))
        return
    source = fields.get("photo", "")
    keep_photo = marker(source) == KEEP_MARKER
    clear = frozenset(f for f in ("last_name", "display_name", "photo") if marker(fields.get(f)) == CLEAR_MARKER)
    if keep_photo or "photo" in clear:
        source = ""
    photo_bytes: bytes | None = None
    photo_url = ""
    digest = ""
    aliases: frozenset[str] = frozenset()
    try:
        if source:
            if provider.photo_transport == "url" and is_url(source):
                photo_url = source          # passed through; the provider downloads it
                digest = hashlib.sha256(source.encode()).hexdigest()
            else:
                data, digest, own = await photos.prepared(source)
                aliases = frozenset({own})
                if provider.photo_transport == "bytes":
                    photo_bytes = data
                elif photos.photo_host is not None:
                    photo_url = await photos.url_for(data, digest)
    except ProviderError as failure:
        status = Status.FAILED if not isinstance(failure, Permanent) else Status.INVALID
        op.finish(status, f"photo: {failure.message}", failure=failure, action=Action.NONE)
        return
    except InputError as exc:  # PhotoError: a photo that can't be used, with its own remedy
        op.finish(Status.INVALID, f"photo: {exc}", action=Action.NONE)
        return
    except OSError as exc:     # the file vanished or can't be read since validation
        op.finish(Status.INVALID, f"photo: {source!r} can't be read ({_reason(exc)}) — check the file "
                  "is still there", action=Action.NONE)
        return
    card = Card(
        number=op.number,
        first_name=fields.get("first_name", ""),
        last_name="" if "last_name" in clear else fields.get("last_name", ""),
        display_name="" if "display_name" in clear else fields.get("display_name", ""),
        photo_bytes=photo_bytes,
        photo_url=photo_url,
        photo_digest=digest,
        sharing=sharing,
        photo_source=source,
        photo_aliases=aliases,
        keep_photo=keep_photo,
        clear=clear,
    )
    _use_card(op, provider, card)


def _use_card(op: Op, provider: Provider, card: Card) -> None:
    """The op sends `card`, or ends `invalid` with the provider's reason (nothing sent)."""
    reason = provider.unsupported(card)
    if reason:
        op.finish(Status.INVALID, reason, action=Action.UNSUPPORTED)
        return
    op.card = card
    op.desired = desired_hash(op.provider_name, card)


def _source_digest(raw: Any) -> str:
    """sha256 of a photo's own bytes (a file's content, or the downloaded bytes)."""
    if isinstance(raw, (bytes, bytearray)):
        return hashlib.sha256(raw).hexdigest()
    with open(raw, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest() if hasattr(hashlib, "file_digest") \
            else hashlib.sha256(file.read()).hexdigest()


def _reason(exc: BaseException) -> str:
    return shorten(str(exc).strip() or type(exc).__name__, 200)
