"""The sandbox's media host, and how the emulators fetch a photo URL.

Sendblue (`photoUrl`) and Linq (`image_url`) download a card's photo from a URL at the time of
the request. The sandbox never reaches the network, so a URL is *fetchable* when it is

- on a **loopback** address (``127.0.0.0/8``, ``::1``, ``localhost``): then it is really
  downloaded (httpx, 5 s, at most 20 MiB, redirects only to loopback), as the provider would —
  an S3 server on loopback, a test's web server, or this very sandbox served on loopback (the
  download is async, so a server fetching from itself does not wait on itself);
- served by the sandbox's media host on any other origin (in process, ``http://sandbox.local``):
  a URL whose path is ``/_sandbox/media/<id>`` of a stored upload; or
- on one of the ``placeholder_hosts`` (``example.com``, ``cdn.linqapp.com`` … by default; pass an
  empty tuple to turn placeholders off): these stand for public photos the sandbox pretends to
  download, and yield a small built-in PNG.

Anything else is unreachable (never fetched). Fetched bytes must be a JPEG or a PNG (magic bytes)
whose header gives a sane size (1–10,000 pixels a side). Every real download is logged, with the
digest of what came back, in ``/_sandbox/state`` under ``media.downloads``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import ssl
import struct
import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard
from urllib.parse import urljoin, urlsplit

import httpx

MEDIA_PATH = "/_sandbox/media/"
DEFAULT_PLACEHOLDER_HOSTS = ("example.com", "www.example.com", "cdn.linqapp.com", "images.example.com")
DOWNLOAD_TIMEOUT = 5.0                 # seconds for one download, all in
DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024  # more than any provider takes; the emulators apply their own
DOWNLOAD_MAX_REDIRECTS = 3
MAX_SIDE = 10_000                      # pixels: larger is no profile photo (a decompression bomb?)
DOWNLOAD_LOG = 1000                    # downloads kept in the state


def _tiny_png() -> bytes:
    """A valid 1×1 grey PNG, built by hand so the sandbox needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PLACEHOLDER_PHOTO = _tiny_png()


def image_kind(data: bytes) -> str | None:
    """'jpeg' or 'png' from the magic bytes, None for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR or a JPEG's SOF header, None when it can't be read."""
    if image_kind(data) == "png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        return struct.unpack(">II", data[16:24])
    if image_kind(data) == "jpeg":
        at = 2
        while at + 4 <= len(data):
            if data[at] != 0xFF:
                return None
            marker = data[at + 1]
            if marker == 0xFF:          # fill byte
                at += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:   # no length
                at += 2
                continue
            length = struct.unpack(">H", data[at + 2:at + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                if at + 9 > len(data):
                    return None
                height, width = struct.unpack(">HH", data[at + 5:at + 9])
                return width, height
            at += 2 + length
    return None


def is_loopback(host: str) -> bool:
    """Whether `host` (a URL's hostname) is this machine: localhost, 127.0.0.0/8 or ::1."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def digest(data: bytes) -> dict:
    """A short stand-in for image bytes in the state: their sha256 and size."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


class FetchError(Exception):
    """A photo URL could not be fetched, or what came back is not a JPEG/PNG."""

    def __init__(self, message: str, *, unreachable: bool, too_large: bool = False):
        super().__init__(message)
        self.unreachable = unreachable
        self.too_large = too_large


Downloaded = bytes | FetchError   # what a real download of one URL gave


@dataclass
class Upload:
    data: bytes
    content_type: str


class MediaStore:
    """Uploaded bytes by content id (the sha256 prefix, so one image is stored once)."""

    def __init__(self, placeholder_hosts: tuple[str, ...] = DEFAULT_PLACEHOLDER_HOSTS):
        self.uploads: dict[str, Upload] = {}
        self.placeholder_hosts = tuple(host.lower() for host in placeholder_hosts)
        self.downloads: deque[dict] = deque(maxlen=DOWNLOAD_LOG)
        self._tls: ssl.SSLContext | None = None   # built once: loading the CA bundle costs ~30-300 ms

    def put(self, data: bytes, content_type: str) -> str:
        media_id = hashlib.sha256(data).hexdigest()[:24]
        self.uploads[media_id] = Upload(data=data, content_type=content_type or "application/octet-stream")
        return media_id

    def get(self, media_id: str) -> Upload | None:
        return self.uploads.get(media_id)

    def needs_download(self, url: object) -> TypeGuard[str]:
        """Whether `url` is one the emulators really download: http(s) on a loopback address."""
        if not isinstance(url, str):
            return False
        parts = urlsplit(url)
        host = parts.hostname or ""
        return parts.scheme in ("http", "https") and bool(host) and is_loopback(host)

    async def download(self, url: str) -> Downloaded:
        """Really GET a loopback `url` (async, so a URL served by this very process can answer),
        within DOWNLOAD_TIMEOUT and DOWNLOAD_MAX_BYTES; the bytes, or the FetchError to report.
        Logged in `downloads` with the digest of what came back."""
        shown = url.split("?")[0]       # a presigned query is a credential of sorts: never logged
        try:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            async with httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, trust_env=False, verify=self._tls) as client:
                data = await self._get(client, url)
            checked_image(data, shown)
        except FetchError as exc:
            self.downloads.append({"url": shown, "error": str(exc)})
            return exc
        width, height = image_size(data) or (0, 0)
        self.downloads.append({"url": shown, **digest(data), "width": width, "height": height})
        return data

    @staticmethod
    async def _get(client: httpx.AsyncClient, url: str) -> bytes:
        current = url
        for _ in range(DOWNLOAD_MAX_REDIRECTS + 1):
            shown = current.split("?")[0]
            try:
                async with client.stream("GET", current) as response:
                    if response.is_redirect and response.headers.get("location"):
                        current = urljoin(current, response.headers["location"])
                        host = urlsplit(current).hostname or ""
                        if not is_loopback(host):
                            raise FetchError(f"{shown} redirects off this machine ({host})", unreachable=True)
                        continue
                    if response.status_code != 200:
                        raise FetchError(f"{shown} answered {response.status_code}", unreachable=True)
                    data = bytearray()
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > DOWNLOAD_MAX_BYTES:
                            raise FetchError(f"{shown} is larger than {DOWNLOAD_MAX_BYTES:,} bytes",
                                             unreachable=False, too_large=True)
                    return bytes(data)
            except httpx.HTTPError as exc:
                raise FetchError(f"could not download {shown} ({type(exc).__name__})", unreachable=True) from None
        raise FetchError(f"{url.split('?')[0]} redirects more than {DOWNLOAD_MAX_REDIRECTS} times", unreachable=True)

    def fetch(self, url: object, downloaded: Mapping[str, Downloaded] | None = None) -> bytes:
        """The photo at `url` as a provider would get it; raise FetchError when that would fail.

        Loopback URLs must have been downloaded before the (synchronous) handler runs: their
        outcome is passed in `downloaded` (see `Emulator.handle`)."""
        if not isinstance(url, str) or not url:
            raise FetchError("the photo URL is empty", unreachable=True)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"{url!r} is not an http(s) URL", unreachable=True)
        if downloaded is not None and url in downloaded:
            outcome = downloaded[url]
            if isinstance(outcome, FetchError):
                raise outcome
            return outcome
        if parts.path.startswith(MEDIA_PATH):
            upload = self.uploads.get(parts.path[len(MEDIA_PATH):])
            if upload is None:
                raise FetchError(f"{url} answered 404 Not Found", unreachable=True)
            data = upload.data
        elif parts.hostname.lower() in self.placeholder_hosts:
            data = PLACEHOLDER_PHOTO
        else:
            raise FetchError(f"could not connect to {parts.hostname}", unreachable=True)
        return checked_image(data, url.split("?")[0])


def checked_image(data: bytes, shown: str) -> bytes:
    """`data` when it is a JPEG/PNG of sane size, else FetchError (not unreachable: a bad image)."""
    if image_kind(data) is None:
        raise FetchError(f"{shown} is not a JPEG or PNG image", unreachable=False)
    size = image_size(data)
    if size is None or not all(1 <= side <= MAX_SIDE for side in size):
        what = "has no readable image header" if size is None else f"is {size[0]}×{size[1]} pixels"
        raise FetchError(f"{shown} {what} (a photo is 1–{MAX_SIDE:,} pixels a side)", unreachable=False)
    return data


def decode_base64_image(value: str, *, max_bytes: int) -> bytes:
    """Decode a base64 JPEG/PNG (no data: prefix) or raise ValueError saying what is wrong."""
    if value.startswith("data:"):
        raise ValueError("avatar must be plain base64, without a 'data:…;base64,' prefix")
    if value.startswith(("http://", "https://")):
        raise ValueError("avatar must be a base64-encoded JPEG/PNG, not a URL")
    try:
        data = base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise ValueError("avatar is not valid base64") from None
    if len(data) > max_bytes:
        raise ValueError(f"avatar is {len(data):,} bytes; the limit is about 1 MB ({max_bytes:,} bytes)")
    if image_kind(data) is None:
        raise ValueError("avatar must be a JPEG or PNG image")
    return data
