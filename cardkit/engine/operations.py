"""From a validated cards frame to operations: one `Op` per card × provider, photos ready.

Deciding needs only each photo's digest, which `PhotoShop` takes from the persistent photo
cache (`cardkit.photo_cache`) or gets by preparing the photo once per distinct source (in a
pool of one thread per core: decoding and resizing release the GIL). Then each provider gets
its shape: Blooio the prepared JPEG's bytes, filled in only when a write carries the photo (a
photo given as URL is downloaded first, with the adapters' size, time and content checks);
Sendblue and Linq a URL — an https URL in the sheet passes through, a local file is uploaded
once through the `photo_host`.

An operation that can't be sent (invalid row, a photo that can't be prepared, a card the
provider can't take) is born finished with status `invalid` and the reason; nothing is sent
for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Any

import httpx

from cardkit.engine.changes import Compact
from cardkit.errors import InputError, Permanent, ProviderError
from cardkit.names import shorten
from cardkit.photo_cache import PhotoCache, Prepared, content_key, file_key, spec_version
from cardkit.providers.base import Card, Change, Provider, Sharing
from cardkit.urls import is_url, redact
from cardkit.vocabulary import CLEAR_MARKER, KEEP_MARKER, Action, RowAction, Status, marker


@dataclass(eq=False, slots=True)
class Op:
    """One card × provider: what to send, and (once finished) what happened."""

    seq: int                              # position in the results frame (input order)
    row: int                              # the spreadsheet's own row number
    number: str
    provider: Provider | None
    provider_name: str                    # the provider ("blooio")
    card: Card | None = None
    account: str = ""                     # the account (the pool it runs on); "" = provider_name
    chat: str = ""                        # a share's chat ("" for cards)
    idempotency_key: str = ""             # a message send's key, kept across retries and resumes
    desired: str = ""                     # hash of the desired state (card incl. photo digest)
    record: dict[str, Any] | str = field(default_factory=dict)   # the row's card columns for the journal (or its JSON)
    # outcome
    action: str = Action.NONE
    status: str = ""                      # a `Status` once finished, "" while not
    http_status: int | None = None
    error_code: str = ""
    message: str = ""
    changed: str = ""
    changes: Compact = ()                 # (field, from, to) triples: `changes.expanded` gives the dict
    attempts: int = 0
    elapsed_ms: float = 0.0
    started_at: float | None = None       # time.time() moments (`workers.iso` gives the text)
    finished_at: float | None = None
    # scheduling
    in_doubt_run: str = ""                # an earlier run left this write "sending"
    sent: bool = False                    # journal already says "sending"
    current: Any = None                   # the last read (a Current), kept while a retry may reuse it
    before: Any = None                    # the card as read before the first write (`doubt.py`)
    repeated: bool = False                # re-sent though the provider couldn't tell if it landed
    # a last word before writing: given the card read now, why not to write ("" = write); undo
    # uses it to leave alone a card that was changed after the run it takes back
    guard: Any = None

    def finish(self, status: str, message: str = "", *, action: str | None = None,
               fields: tuple[str, ...] = (), failure: ProviderError | None = None) -> None:
        """Record the outcome (once)."""
        self.status = _text(status)
        self.message = message
        if action is not None:
            self.action = _text(action)
        self.changed = _joined(tuple(fields))
        # the status and code of the failure that ended it (none for a success after retries)
        self.http_status = failure.http_status if failure is not None else None
        self.error_code = (failure.error_code or "") if failure is not None else ""

    @property
    def target(self) -> tuple[str, str, str]:
        """What the journal matches earlier runs on: (account, number, chat)."""
        return (self.account or self.provider_name, self.number, self.chat)


def _text(value: str) -> str:
    """A `Status`/`Action` as its plain text, one shared object: `str(Status.APPLIED)` makes a new
    56-byte string each time (5.6 MB per 100,000 rows), and a member would ride along in frames."""
    return value.value if isinstance(value, Enum) else value


@functools.lru_cache(maxsize=256)   # one string shared by the many rows that changed alike
def _joined(fields: tuple[str, ...]) -> str:
    return ",".join(fields)


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


#: Prepared JPEGs a run keeps in memory for its writes, at most this many bytes; beyond it
#: the oldest are dropped and prepared again if a write needs them.
KEEP_BYTES = 256_000_000
#: Downloaded photo bytes (URL photos) kept for preparing them in the same run, at most this many.
RAW_KEEP_BYTES = 64_000_000
#: Photo URLs downloaded at the same time, at most.
DOWNLOADS_AT_ONCE = 8


class PhotoShop:
    """The photos of one run: digests for deciding, bytes and URLs only for what is written.

    Deciding whether a card changed needs only the prepared photo's digest, which the
    persistent `PhotoCache` remembers per source (file: path, size, mtime; downloaded bytes:
    their hash): a re-run with unchanged photos decodes none. A source the cache doesn't know
    is prepared here (in a pool of one thread per core: Pillow releases the GIL) and its bytes
    are kept, within `keep_bytes`, for the writes. Everything held here lives as long as the
    run: nothing is cached at module level.
    """

    def __init__(self, *, photo_host: Any = None, transport: httpx.AsyncBaseTransport | None = None,
                 cache: PhotoCache | None = None, keep_bytes: int | None = None,
                 allow_private: Any = None, downloads_at_once: int = DOWNLOADS_AT_ONCE) -> None:
        self.photo_host = photo_host
        self.allow_private = allow_private   # private origins URL photos may come from (the sandbox's)
        self._transport = transport
        # the in-process sandbox's transport is not the network: it answers for every host
        self._resolve_names = transport is None
        self._downloads = asyncio.Semaphore(downloads_at_once)
        self._url_checks: dict[str, asyncio.Future[str]] = {}           # URL → sha256 of its bytes
        self._raw: OrderedDict[str, bytes] = OrderedDict()              # URL → bytes downloaded
        from cardkit.photos import BLOOIO_PHOTO, photo_threads

        self._cache = cache      # opened on first use: a run without photos never touches it
        self._owns_cache = cache is None    # a cache given is the giver's to close
        self._version = spec_version(BLOOIO_PHOTO)
        threads = photo_threads()
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="cardkit-photo")
        self._digests: dict[str, asyncio.Future[str]] = {}             # source → digest
        self._data: dict[str, asyncio.Future[tuple[bytes, str]]] = {}   # source → bytes, digest
        self._kept: OrderedDict[str, bytes] = OrderedDict()             # digest → bytes
        self._kept_bytes = 0
        self._keep_bytes = KEEP_BYTES if keep_bytes is None else keep_bytes
        self._uploaded: dict[str, asyncio.Future[str]] = {}             # digest → URL
        self._own: dict[str, asyncio.Future[str]] = {}                  # file → sha256 of its bytes
        self._client: httpx.AsyncClient | None = None

    @property
    def cache(self) -> PhotoCache:
        if self._cache is None:
            self._cache = PhotoCache.open()
        return self._cache

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._kept.clear()
        if self._cache is not None and self._owns_cache:
            self._cache.close()
        if self._client is not None:
            await self._client.aclose()

    async def digest(self, source: str) -> str:
        """The sha256 of the JPEG a path or URL prepares to — remembered, or prepared once."""
        return await _once(self._digests, source, lambda: self._find_digest(source))

    async def data(self, source: str, digest: str) -> tuple[bytes, str]:
        """The prepared JPEG of `source` for a write, and its digest (which differs from
        `digest` only if the file changed since the run began)."""
        kept = self._kept.get(digest)
        if kept is not None:
            return kept, digest
        future = self._data.get(source)
        if future is None:
            # shared by the writes asking at the same time, then forgotten once it succeeded
            # (its bytes stay only in the bounded `_kept`); a failure stays, reported to each row
            future = self._data[source] = asyncio.ensure_future(self._prepare(source))
            future.add_done_callback(lambda done: done.cancelled() or done.exception() is not None
                                     or self._data.pop(source, None))
        return await asyncio.shield(future)

    async def url(self, source: str, digest: str) -> str:
        """A public URL for the prepared photo, through the photo host: uploaded once per
        digest, or taken from the cache for hosts whose URLs stay valid (`url_lifetime`)."""
        return await _once(self._uploaded, digest, lambda: self._find_url(source, digest))

    async def checked_url(self, url: str) -> str:
        """Download the photo at `url` once per run and check it is an image (raises `Permanent`:
        404, not an image, too large, a private address; `Transient`: try again later) — so a
        broken link is a verdict of `plan`, not a surprise of `apply`. Returns the content key
        of its bytes. A later run asks the server "changed since?" with the validators it gave
        (ETag, Last-Modified: `PhotoCache.url_check`); a 304 costs no download."""
        return await _once(self._url_checks, url, lambda: self._check_url(url))

    async def own_digest(self, source: str) -> str:
        """The sha256 of a photo file's own bytes ("" for a URL): a photo pulled from a provider
        is the same photo though preparing it again would give other bytes."""
        if is_url(source):
            return ""
        loop = asyncio.get_running_loop()
        return await _once(self._own, source, lambda: loop.run_in_executor(self._pool, _file_digest, source))

    # ---- the work -------------------------------------------------------------------------

    async def _find_digest(self, source: str) -> str:
        raw: bytes | None
        key: str | None
        if is_url(source):
            raw, key = None, await self.checked_url(source)
        else:
            raw, key = None, file_key(source)
        known = self.cache.prepared(key, self._version)
        if known is not None:
            return known.digest
        _, digest = await self._prepare(source, raw, key)
        return digest

    async def _prepare(self, source: str, raw: bytes | None = None, key: str | None = None) -> tuple[bytes, str]:
        """Prepare (decode, square, encode) in the pool; remember the result; keep the bytes."""
        from cardkit.photos import prepare_photo_result

        if raw is None and is_url(source):
            raw = self._raw.pop(source, None) or await self._download(source)
            key = content_key(raw)
        elif raw is None:
            key = file_key(source)     # before reading: a change while preparing shows next time
        loop = asyncio.get_running_loop()
        prepared = await loop.run_in_executor(self._pool, partial(prepare_photo_result, raw if raw is not None else source))
        self.cache.remember_prepared(key, self._version, Prepared(prepared.sha256, len(prepared.data),
                                                                  prepared.width))
        self._keep(prepared.sha256, prepared.data)
        return prepared.data, prepared.sha256

    def _keep(self, digest: str, data: bytes) -> None:
        if digest in self._kept or len(data) > self._keep_bytes:
            return
        self._kept[digest] = data
        self._kept_bytes += len(data)
        while self._kept_bytes > self._keep_bytes:
            _, dropped = self._kept.popitem(last=False)
            self._kept_bytes -= len(dropped)

    async def _find_url(self, source: str, digest: str) -> str:
        host = self.photo_host
        lifetime = getattr(host, "url_lifetime", None)
        host_key = getattr(host, "cache_key", None)
        if not (isinstance(lifetime, (int, float)) and lifetime > 0 and isinstance(host_key, str) and host_key):
            data, _ = await self.data(source, digest)
            return await host.upload(data, "image/jpeg")
        known = self.cache.url(host_key, digest)
        if known:
            return known
        data, prepared_digest = await self.data(source, digest)
        url = await host.upload(data, "image/jpeg")
        if prepared_digest == digest:
            self.cache.remember_url(host_key, digest, url, float(lifetime))
        return url

    async def _check_url(self, url: str) -> str:
        etag, modified, known = self.cache.url_check(url) or ("", "", "")
        try:
            fetched = await self._fetch(url, etag, modified)
        except ProviderError:
            self.cache.forget_url_check(url)
            raise
        if fetched.data is None:
            return known
        key = content_key(fetched.data)
        self._hold(url, fetched.data)
        self.cache.remember_url_check(url, fetched.etag, fetched.last_modified, key)
        return key

    async def _download(self, source: str) -> bytes:
        fetched = await self._fetch(source)
        assert fetched.data is not None
        return fetched.data

    async def _fetch(self, url: str, etag: str = "", last_modified: str = "") -> Any:
        """One download (conditional when validators are given), at most `DOWNLOADS_AT_ONCE`
        at a time, through the run's transport and TLS context."""
        from cardkit.engine.connections import ssl_context
        from cardkit.providers.media import fetch_photo_since

        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, verify=ssl_context())
        async with self._downloads:
            return await fetch_photo_since(url, client=self._client, etag=etag, last_modified=last_modified,
                                           allow_private=self.allow_private, resolve=self._resolve_names)

    def _hold(self, url: str, data: bytes) -> None:
        """Keep a download's bytes (bounded) for a bytes-taking provider's prepare in this run."""
        self._raw[url] = data
        held = sum(len(d) for d in self._raw.values())
        while held > RAW_KEEP_BYTES and len(self._raw) > 1:
            _, dropped = self._raw.popitem(last=False)
            held -= len(dropped)

    async def complete(self, op: Op, change: Change) -> None:
        """Before a write: give the card its photo bytes if the write carries the photo
        (bytes-taking providers); finish the op as failed/invalid if that can't be done."""
        card = op.card
        if (op.provider is None or op.provider.photo_transport != "bytes" or not isinstance(card, Card)
                or card.photo_bytes is not None or not card.photo_source or "photo" not in change.fields):
            return
        try:
            data, digest = await self.data(card.photo_source, card.photo_digest)
        except Exception as exc:  # noqa: BLE001 — one row's photo, never the run
            _photo_failed(op, card.photo_source, exc)
            return
        op.card = dataclasses.replace(card, photo_bytes=data, photo_digest=digest)
        if digest != card.photo_digest:
            op.desired = desired_hash(op.provider_name, op.card)


async def _once(futures: dict[str, asyncio.Future[Any]], key: str, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run `work` once per key for the whole run (concurrent askers share it; a failure is
    remembered too, so one broken photo is reported to each of its rows without redoing it)."""
    future = futures.get(key)
    if future is None:
        future = asyncio.ensure_future(work())
        futures[key] = future
    return await asyncio.shield(future)


def _photo_failed(op: Op, source: str, exc: BaseException, label: str = "photo") -> None:
    """Finish an op whose photo couldn't be fetched, prepared or hosted, with the reason and
    remedy; `label` is the user's own header of the photo column."""
    if isinstance(exc, ProviderError):
        status = Status.FAILED if not isinstance(exc, Permanent) else Status.INVALID
        op.finish(status, f"{label}: {exc.message}", failure=exc, action=Action.NONE)
    elif isinstance(exc, InputError):   # PhotoError: a photo that can't be used, with its own remedy
        op.finish(Status.INVALID, f"{label}: {exc}", action=Action.NONE)
    elif isinstance(exc, OSError):      # the file vanished or can't be read since validation
        op.finish(Status.INVALID, f"{label}: {source!r} can't be read ({_reason(exc)}) — check the file "
                  "is still there", action=Action.NONE)
    else:
        shown = shorten(redact(source) if is_url(source) else source, 80)
        op.finish(Status.FAILED, f"{label}: {shown!r} couldn't be prepared ({type(exc).__name__}: {_reason(exc)}) — "
                  "check the photo cell, or try again", action=Action.NONE)


#: One empty set for every card that clears nothing and has no photo aliases: on Python 3.11 each
#: `frozenset()` is a new 216-byte object, 21 MB per 100,000 cards.
_NOTHING: frozenset[str] = frozenset()


async def build_card(op: Op, fields: Mapping[str, str], sharing: Sharing | None, photos: PhotoShop,
                     photo_label: str = "photo") -> None:
    """Fill `op.card` for its provider, or finish the op as invalid/failed with the reason
    (`photo_label`: the user's header of the photo column, for the message).

    The card gets the photo's digest (and, for URL-taking providers, its URL); bytes-taking
    providers get the bytes only when a write carries them (`PhotoShop.complete`). Whatever
    goes wrong with one row's photo, that row fails with a message; the run goes on.
    """
    provider = op.provider
    assert provider is not None
    if fields.get("action") == RowAction.DELETE:
        _use_card(op, provider, Card(number=op.number, first_name="", delete=True))
        return
    source = fields.get("photo", "")
    keep_photo = marker(source) == KEEP_MARKER
    clear = frozenset(f for f in ("last_name", "display_name", "photo")
                      if marker(fields.get(f)) == CLEAR_MARKER) or _NOTHING   # (an empty one is 216 B)
    if keep_photo or "photo" in clear:
        source = ""
    photo_url = ""
    digest = ""
    aliases: frozenset[str] = _NOTHING
    try:
        if source:
            if provider.photo_transport == "url" and is_url(source):
                # passed through (the provider downloads it), once checked here: a link that
                # can't be fetched is a verdict of plan, not a surprise of apply
                await photos.checked_url(source)
                photo_url = source
                digest = hashlib.sha256(source.encode()).hexdigest()
            else:
                digest = await photos.digest(source)
                if provider.photo_transport == "bytes":
                    aliases = frozenset({await photos.own_digest(source)}) - {""} or _NOTHING
                if provider.photo_transport == "url" and photos.photo_host is not None:
                    photo_url = await photos.url(source, digest)
    except Exception as exc:  # noqa: BLE001 — an unforeseen error is one row's failure, not the run's
        _photo_failed(op, source, exc, photo_label)
        return
    card = Card(
        number=op.number,
        first_name=fields.get("first_name", ""),
        last_name="" if "last_name" in clear else fields.get("last_name", ""),
        display_name="" if "display_name" in clear else fields.get("display_name", ""),
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


def _file_digest(path: str) -> str:
    """sha256 of a file's bytes."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest() if hasattr(hashlib, "file_digest") \
            else hashlib.sha256(file.read()).hexdigest()


def _reason(exc: BaseException) -> str:
    return shorten(str(exc).strip() or type(exc).__name__, 200)
