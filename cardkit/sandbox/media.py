"""The sandbox's media host, and how the emulators "fetch" a photo URL.

Sendblue (`photoUrl`) and Linq (`image_url`) download a card's photo from a URL at the time of
the request. No real host can be reached from here, so a URL is *fetchable* when it is

- served by the sandbox's media host: any URL whose path is ``/_sandbox/media/<id>`` of a stored
  upload (on whatever origin the client reached the sandbox under), or
- on one of the ``placeholder_hosts`` (``example.com``, ``cdn.linqapp.com`` … by default; pass an
  empty tuple to turn placeholders off): these stand for public photos the sandbox pretends to
  download, and yield a small built-in PNG.

Anything else is unreachable. Fetched bytes must be a JPEG or a PNG (judged by magic bytes).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

MEDIA_PATH = "/_sandbox/media/"
DEFAULT_PLACEHOLDER_HOSTS = ("example.com", "www.example.com", "cdn.linqapp.com", "images.example.com")


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


def digest(data: bytes) -> dict:
    """A short stand-in for image bytes in the state: their sha256 and size."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


class FetchError(Exception):
    """A photo URL could not be fetched, or what came back is not a JPEG/PNG."""

    def __init__(self, message: str, *, unreachable: bool):
        super().__init__(message)
        self.unreachable = unreachable


@dataclass
class Upload:
    data: bytes
    content_type: str


class MediaStore:
    """Uploaded bytes by content id (the sha256 prefix, so one image is stored once)."""

    def __init__(self, placeholder_hosts: tuple[str, ...] = DEFAULT_PLACEHOLDER_HOSTS):
        self.uploads: dict[str, Upload] = {}
        self.placeholder_hosts = tuple(host.lower() for host in placeholder_hosts)

    def put(self, data: bytes, content_type: str) -> str:
        media_id = hashlib.sha256(data).hexdigest()[:24]
        self.uploads[media_id] = Upload(data=data, content_type=content_type or "application/octet-stream")
        return media_id

    def get(self, media_id: str) -> Upload | None:
        return self.uploads.get(media_id)

    def fetch(self, url: object) -> bytes:
        """Download `url` as a provider would; raise FetchError when that would fail."""
        if not isinstance(url, str) or not url:
            raise FetchError("the photo URL is empty", unreachable=True)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"{url!r} is not an http(s) URL", unreachable=True)
        if parts.path.startswith(MEDIA_PATH):
            upload = self.uploads.get(parts.path[len(MEDIA_PATH):])
            if upload is None:
                raise FetchError(f"{url} answered 404 Not Found", unreachable=True)
            data = upload.data
        elif parts.hostname.lower() in self.placeholder_hosts:
            data = PLACEHOLDER_PHOTO
        else:
            raise FetchError(f"could not connect to {parts.hostname}", unreachable=True)
        if image_kind(data) is None:
            raise FetchError(f"{url} is not a JPEG or PNG image", unreachable=False)
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
