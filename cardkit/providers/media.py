"""Photos on the wire: where URLs come from (`PhotoHost`) and how URL photos are fetched.

Sendblue and Linq take the photo as a public URL; Blooio takes the bytes. So a local file
needs a `PhotoHost` (bytes → URL) for Sendblue and Linq, and a URL in the sheet is
downloaded for Blooio by `fetch_photo` — https only (plain http on loopback, how the
sandbox serves media), capped in size and time, every redirect re-checked under the same
rule, every address the host resolves to public (no loopback, link-local/cloud metadata,
private or unique-local address unless allowed), the connection made to the address that
was checked (so a DNS answer that changes between check and connect can't slip through),
and the bytes must really be an image.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urljoin

import httpx

from cardkit.errors import Permanent, Transient
from cardkit.providers.base import DEFAULT_TIMEOUT, Card
from cardkit.providers.config import SANDBOX_ORIGIN
from cardkit.providers.replies import temporary_status

# The URL rule lives in the model layer so validation applies the very same one.
from cardkit.urls import (  # noqa: F401
    LOCAL_HOSTS,
    PrivateAddress,
    PrivateAllowance,
    checked_addresses,
    is_local_host,
    redact,
    url_problem,
)

DEFAULT_MAX_BYTES = 10_000_000
MAX_REDIRECTS = 5


@runtime_checkable
class PhotoHost(Protocol):
    """Somewhere to put a prepared photo so a provider can fetch it by URL.

    Any object with this one coroutine will do: an S3 bucket (upload, return a presigned
    or public https URL), a CDN, your own web server. See docs/providers.md.
    """

    async def upload(self, data: bytes, content_type: str) -> str:
        """Store `data` and return a public URL the providers can download it from."""

    # Optional, for hosts whose URLs stay valid: `url_lifetime` (seconds) and `cache_key`
    # (a text naming where the URLs live, e.g. the bucket). With both, cardkit remembers the
    # URL of each prepared photo between runs (cardkit.photo_cache) and uploads it only once.


class SandboxPhotoHost:
    """The sandbox's media host (`POST /_sandbox/media`): a `PhotoHost` for tests and demos.

    `SandboxPhotoHost(url)` for a served sandbox (`http://127.0.0.1:8787/_sandbox/media`),
    or `SandboxPhotoHost.for_sandbox(sandbox)` for the in-process one. Uploads of the same
    bytes are done once per host object.
    """

    #: An in-process sandbox's uploads live as long as it does: its URLs are remembered
    #: (per sandbox object) for re-runs in the same process, a notebook's for instance.
    IN_PROCESS_URL_LIFETIME = 12 * 3600.0

    def __init__(self, url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self._transport = transport
        self._uploaded: dict[str, str] = {}
        self.url_lifetime: float | None = None     # a served sandbox may restart: not remembered
        self.cache_key: str | None = None

    @classmethod
    def for_sandbox(cls, sandbox, origin: str = SANDBOX_ORIGIN) -> SandboxPhotoHost:
        """The media host of an in-process `Sandbox` (reached through its transport)."""
        transport = sandbox.transport() if origin == SANDBOX_ORIGIN else None
        host = cls(sandbox.base_urls(origin)["media"], transport=transport)
        if transport is not None:
            host.cache_key = f"in-process sandbox {_sandbox_ids.setdefault(sandbox, uuid.uuid4().hex)}"
            host.url_lifetime = cls.IN_PROCESS_URL_LIFETIME
        return host

    def __repr__(self) -> str:
        return f"SandboxPhotoHost({self.url!r})"

    async def upload(self, data: bytes, content_type: str) -> str:
        key = hashlib.sha256(data).hexdigest()
        if key in self._uploaded:
            return self._uploaded[key]
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=DEFAULT_TIMEOUT) as client:
                response = await client.post(self.url, content=data, headers={"content-type": content_type})
        except httpx.TransportError as exc:
            raise Transient(f"could not upload the photo to the sandbox media host {self.url} "
                            f"({type(exc).__name__}) — is `cardkit sandbox serve` running?") from None
        if response.status_code >= 300:
            kind = Transient if temporary_status(response.status_code) else Permanent
            raise kind(f"the sandbox media host answered {response.status_code} to an upload",
                       http_status=response.status_code)
        url = response.json().get("url")
        if not isinstance(url, str) or not url:
            raise Permanent(f"the sandbox media host gave no URL ({response.text[:200]})")
        self._uploaded[key] = url
        return url


def resolve_photo_host(spec: object, *, base_url: str | None = None) -> object:
    """The `PhotoHost` a user means by `spec`: `s3://BUCKET/PREFIX` (`S3PhotoHost`, the `s3`
    extra), the http(s) URL of a sandbox media host (`SandboxPhotoHost`), or any object with an
    `upload` coroutine (returned as it is). `base_url` (a public URL of the prefix) is for s3://."""
    from cardkit.errors import ConfigError

    if isinstance(spec, str):
        text = spec.strip()
        if text.lower().startswith("s3://"):
            from cardkit.providers.s3_host import S3PhotoHost

            return S3PhotoHost(text, base_url=base_url)
        if base_url:
            raise ConfigError("a photo base URL goes with an s3:// photo host — give --photo-host s3://BUCKET/PREFIX "
                              "too, or leave the base URL out")
        if text.lower().startswith(("http://", "https://")):
            return SandboxPhotoHost(text)
        raise ConfigError(f"photo host {redact(text)!r} is not one cardkit knows — give s3://BUCKET/PREFIX, the URL of a "
                          "sandbox media host (http://127.0.0.1:8787/_sandbox/media), or a PhotoHost object")
    if base_url:
        raise ConfigError("a photo base URL goes with an s3:// photo host given as text — pass "
                          "S3PhotoHost(url, base_url=...) instead")
    if not isinstance(spec, PhotoHost):
        raise ConfigError(f"photo_host must be s3://BUCKET/PREFIX, a media host URL or an object with an async "
                          f"upload(data, content_type) method, not {type(spec).__name__}")
    return spec


# each in-process sandbox's own id (a fresh sandbox never sees URLs meant for another)
_sandbox_ids: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()


def has_photo(card: Card) -> bool:
    """Whether the row asks for a photo at all (bytes, URL, or at least a source cell)."""
    return bool(card.photo_bytes or card.photo_url or card.photo_digest or card.photo_source)


def photo_url_problem(card: Card, label: str, *, required: bool) -> str:
    """Why `card`'s photo can't go to a URL-taking provider `label` ("" when it can)."""
    if not has_photo(card):
        if required:
            return (f"{label} needs a photo (its profile is replaced whole and the photo URL is "
                    "required) — add one in the photo column or route this row elsewhere")
        return ""
    if not card.photo_url:
        source = f"the photo {card.photo_source!r}" if card.photo_source else "the photo"
        return (f"{source} is a local file, but {label} needs a public URL — pass photo_host= "
                "(cardkit.SandboxPhotoHost with the sandbox, or your own storage: see "
                "docs/providers.md), or put an https URL in the photo column")
    problem = url_problem(card.photo_url)
    return f"{label}: {problem}" if problem else ""


@dataclass(frozen=True)
class FetchedPhoto:
    """What downloading a photo URL gave: its bytes, or None when the server said they have
    not changed since the validators sent (304); and the validators to send next time."""

    data: bytes | None
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.data is None


async def fetch_photo(url: str, *, client: httpx.AsyncClient, max_bytes: int = DEFAULT_MAX_BYTES,
                      timeout: float = DEFAULT_TIMEOUT, allow_private: Any = None, resolve: bool = True) -> bytes:
    """Download a photo given as a URL (for Blooio, which takes bytes).

    https only (http on loopback), at most `max_bytes`, at most `timeout` seconds in all,
    redirects followed by hand so each hop is checked again under the same rule, every
    address of each hop's host public unless `allow_private` (origins such as
    ``"http://127.0.0.1:8787"`` or networks such as ``"10.0.0.0/8"``, a string or a list; the
    `CARDKIT_ALLOW_PRIVATE_PHOTO_HOSTS` variable adds to it) lets it in, and the bytes must
    decode as an image. Raises `Permanent` (fix the URL) or `Transient` (try again later);
    messages show the URL without its query string. `resolve`: as `fetch_photo_since`.
    """
    fetched = await fetch_photo_since(url, client=client, max_bytes=max_bytes, timeout=timeout,
                                      allow_private=allow_private, resolve=resolve)
    assert fetched.data is not None        # no validators were sent: never "not modified"
    return fetched.data


async def fetch_photo_since(url: str, *, client: httpx.AsyncClient, etag: str = "", last_modified: str = "",
                            max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT,
                            allow_private: Any = None, resolve: bool = True) -> FetchedPhoto:
    """`fetch_photo` as a conditional GET: with the validators of an earlier download (`etag`,
    `last_modified`) a server that answers 304 costs no bytes (`FetchedPhoto.data` is None).

    `resolve=False` is for a client whose transport is not the network (the in-process
    sandbox answers for every host): host names are then not looked up in DNS; addresses
    written in the URL, and ``localhost``, are still checked.
    """
    try:
        allowance = PrivateAllowance.from_env() | PrivateAllowance.parse(allow_private)
    except ValueError as exc:
        raise Permanent(f"allowed private photo hosts: {exc}") from None
    conditional = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}
    try:
        return await asyncio.wait_for(_fetch(url, client, max_bytes, timeout, allowance, conditional, resolve),
                                      timeout)
    except TimeoutError:
        raise Transient(f"downloading the photo {redact(url)} took longer than {timeout:g} s — "
                        "check the link, or try again") from None
    except httpx.TransportError as exc:
        raise Transient(f"downloading the photo {redact(url)} failed ({type(exc).__name__}) — "
                        "check the host is reachable") from None
    except (httpx.InvalidURL, httpx.HTTPError, ValueError) as exc:
        # httpx builds the next request of a redirect eagerly, so a Location such as
        # "javascript:…" fails here before our own per-hop URL check can see it; other
        # non-transport errors (bad URL, undecodable body…) are the link's fault too.
        raise Permanent(f"downloading the photo {redact(url)} failed: the address or what it sent "
                        f"isn't usable ({type(exc).__name__}) — give a direct https link to the image") from None


async def _fetch(url: str, client: httpx.AsyncClient, max_bytes: int, timeout: float,
                 allowance: PrivateAllowance, conditional: dict[str, str], resolve: bool) -> FetchedPhoto:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        where = "" if current == url else f" (redirected from {redact(url)})"
        problem = "" if allowance.allows_origin(current) else url_problem(current)
        if problem:
            raise Permanent(problem + where)
        try:
            addresses = await checked_addresses(current, allowance, resolve=resolve)
        except PrivateAddress as refused:
            raise Permanent(f"photo URL {redact(current)!r} {refused}{where}") from None
        except OSError as exc:
            raise Transient(f"the host of the photo {redact(current)} can't be found "
                            f"({exc.strerror or type(exc).__name__}) — check the link{where}") from None
        target, pinning = _pinned(current, addresses)
        if conditional:
            pinning.setdefault("headers", {}).update(conditional)
        async with client.stream("GET", target, follow_redirects=False, timeout=timeout, **pinning) as response:
            if response.is_redirect and response.headers.get("location"):
                current = urljoin(current, response.headers["location"])
                continue
            if response.status_code == 304 and conditional:
                return FetchedPhoto(None, conditional.get("If-None-Match", ""),
                                    conditional.get("If-Modified-Since", ""))
            if response.status_code != 200:
                status = response.status_code
                transient = temporary_status(status)
                failure = Transient if transient else Permanent
                raise failure(f"downloading the photo {redact(current)} answered {status} — "
                              + ("try again later" if transient else "check the link is public and right"),
                              http_status=status)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_big(current, int(declared), max_bytes)
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise _too_big(current, len(data), max_bytes)
            validators = response.headers.get("etag", ""), response.headers.get("last-modified", "")
        _check_image(bytes(data), current)
        return FetchedPhoto(bytes(data), *validators)
    raise Permanent(f"the photo {redact(url)} redirects more than {MAX_REDIRECTS} times — "
                    "give the final link")


def _pinned(url: str, addresses: list[str]) -> tuple[Any, dict]:
    """The request that connects to the first checked address and no other.

    The URL's host becomes the address; the name still goes in the Host header and, for
    https, as the TLS server name (SNI), so the certificate is verified against the name.
    `Connection: close` keeps a pooled connection opened for one name from serving another
    that shares its address. No addresses (an allowed origin): the URL as it is.
    """
    if not addresses:
        return url, {}
    named = httpx.URL(url)
    headers = {"Host": named.netloc.decode("ascii"), "Connection": "close"}
    extensions = {"sni_hostname": named.host} if named.scheme == "https" else {}
    return named.copy_with(host=addresses[0]), {"headers": headers, "extensions": extensions}


def _too_big(url: str, size: int, max_bytes: int) -> Permanent:
    return Permanent(f"the photo {redact(url)} is larger than {max_bytes // 1_000_000} MB "
                     f"({size:,} bytes so far) — use a smaller image")


def _check_image(data: bytes, url: str) -> None:
    """Raise Permanent unless `data` is an image Pillow recognizes (header only, no decode)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Image.DecompressionBombError:
        raise Permanent(f"the photo {redact(url)} has too many pixels to be a profile photo "
                        "(a decompression bomb?) — use an ordinary JPEG or PNG") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        kind = "empty" if not data else f"not an image ({type(exc).__name__})"
        raise Permanent(f"the photo {redact(url)} is {kind} — link directly to a JPEG or PNG "
                        "file, not to a web page") from None
