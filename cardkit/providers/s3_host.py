"""A `PhotoHost` on S3 and S3-compatible object storage (R2, MinIO, GCS interoperability…).

    host = S3PhotoHost("s3://my-bucket/cardkit")                       # presigned GET URLs
    host = S3PhotoHost("s3://my-bucket/cardkit", base_url="https://cdn.example.com/cardkit/")

Configured by the store's standard environment, as the AWS CLI is: `AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL` (for R2, MinIO,
GCS…). Objects are content-addressed (`<prefix>/<sha256>.jpg`, `Content-Type: image/jpeg`,
immutable), so a photo is uploaded once across runs: a HEAD says whether it is there already.

The URL handed to Sendblue/Linq is a presigned GET valid for `expires` (default 7 days, the
longest SigV4 allows: the providers fetch at request time, but a run may be resumed or retried
days later with the same URL), or, with `base_url`, `base_url + <sha256>.jpg` for a public bucket
or a CDN in front of the prefix. Built on obstore (the `s3` extra): see README, "Photos hosted
for real", for why.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from cardkit.errors import ConfigError, Permanent, Transient
from cardkit.providers.replies import temporary_status
from cardkit.urls import redact

DEFAULT_EXPIRY = timedelta(days=7)        # SigV4's maximum for a presigned URL
MAX_EXPIRY = timedelta(days=7)
DEFAULT_TIMEOUT = timedelta(seconds=20)   # one request to the store, all in
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,254}$")
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
EXTRA_HINT = "pip install 'cardkit[s3]'"


def _obstore() -> Any:
    try:
        import obstore
    except ImportError:
        raise ConfigError(f"the s3:// photo host needs the obstore package — {EXTRA_HINT}") from None
    return obstore


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://BUCKET[/PREFIX]`, or ConfigError saying how to write it."""
    parts = urlsplit(url.strip())
    bucket = parts.netloc
    shown = redact(url.strip())       # never echo what might be a credential (user info, query)
    if parts.scheme != "s3" or not bucket:
        raise ConfigError(f"photo host {shown!r} is not an s3:// address — write s3://BUCKET or s3://BUCKET/PREFIX")
    if parts.query or parts.fragment or "@" in bucket or ":" in bucket:
        raise ConfigError(f"photo host {shown!r}: write only s3://BUCKET/PREFIX (credentials and options come "
                          "from the AWS_* environment variables)")
    if not _BUCKET.match(bucket):
        raise ConfigError(f"photo host {shown!r}: {bucket!r} is not a bucket name (lower-case letters, digits, "
                          "dots and hyphens)")
    return bucket, parts.path.strip("/")


def _endpoint() -> str:
    return next((os.environ[name] for name in ENDPOINT_VARIABLES if os.environ.get(name)), "")


class S3PhotoHost:
    """Upload prepared photos to `s3://BUCKET/PREFIX` once each; hand out presigned or public URLs.

    `base_url`: the public address of the prefix (a public bucket or a CDN) — URLs are then
    `base_url + <sha256>.jpg` and never expire. `expires`: lifetime of presigned URLs (≤ 7 days).
    `store`: an obstore store to use instead of one built from the environment (tests, custom
    credentials). Any `S3PhotoHost` is a `cardkit.PhotoHost`.
    """

    def __init__(self, url: str, *, base_url: str | None = None, expires: timedelta = DEFAULT_EXPIRY,
                 timeout: timedelta = DEFAULT_TIMEOUT, store: Any = None) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.url = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        if base_url is not None:
            base = urlsplit(base_url)
            if base.scheme not in ("https", "http") or not base.netloc or base.query or base.fragment:
                raise ConfigError(f"photo base URL {base_url!r} must be an https address of the bucket prefix, "
                                  "e.g. https://cdn.example.com/cardkit/")
            base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.base_url = base_url
        if not timedelta(seconds=1) <= expires <= MAX_EXPIRY:
            raise ConfigError(f"presigned URLs can live between 1 second and 7 days (SigV4), not {expires}")
        self.expires = expires
        self._obstore = _obstore()
        self.store = store if store is not None else self._build_store(timeout)
        self._present: set[str] = set()      # keys known to be in the bucket (no second HEAD)
        self.uploads = 0                     # PUTs this host made (the rest were already there)

    def _build_store(self, timeout: timedelta) -> Any:
        from obstore.store import S3Store

        endpoint = _endpoint()
        options = {"timeout": timeout, "connect_timeout": timedelta(seconds=5),
                   "allow_http": endpoint.lower().startswith("http://")}
        retry = {"max_retries": 3, "retry_timeout": timeout * 2}
        try:
            return S3Store(self.bucket, prefix=self.prefix or None, client_options=options,  # type: ignore[arg-type]
                           retry_config=retry)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 — obstore raises its own config errors; never show their text
            raise ConfigError(f"the S3 photo host {self.url} can't be configured ({type(exc).__name__}) — check "
                              "the AWS_* environment variables (AWS_REGION, AWS_ENDPOINT_URL…)") from None

    def __repr__(self) -> str:
        where = f"public at {self.base_url}" if self.base_url else f"presigned for {_days(self.expires)}"
        return f"S3PhotoHost({self.url!r}, {where})"

    def key_for(self, data: bytes, content_type: str = "image/jpeg") -> str:
        """The object key (under the prefix) of `data`: its sha256 and the type's extension."""
        return f"{hashlib.sha256(data).hexdigest()}.{EXTENSIONS.get(content_type, 'jpg')}"

    async def upload(self, data: bytes, content_type: str) -> str:
        """Put `data` in the bucket unless it is there already; return the URL for the provider."""
        key = self.key_for(data, content_type)
        if key not in self._present:
            if not await self._exists(key, len(data)):
                await self._put(key, data, content_type)
            self._present.add(key)
        if self.base_url is not None:
            return self.base_url + key
        try:
            return await self._obstore.sign_async(self.store, "GET", key, self.expires)
        except Exception as exc:  # noqa: BLE001
            raise Permanent(f"could not sign a download URL for {self.url}/{key} ({type(exc).__name__}) — check "
                            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or give a public photo base URL") from None

    async def _exists(self, key: str, size: int) -> bool:
        """Look before uploading: HEAD the key (same size = same bytes, as the key is their digest)."""
        from obstore import exceptions as errors

        try:
            meta = await self._obstore.head_async(self.store, key)
        except FileNotFoundError:
            return False
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, errors.PermissionDeniedError) or _status(exc) == 403:
                # S3 answers 403, not 404, for a missing key when the credentials may not list the
                # bucket (a write-only policy): upload, harmless for a content-addressed key
                return False
            raise self._failure("look for", key, exc) from None
        return int(meta.get("size", -1)) == size

    async def _put(self, key: str, data: bytes, content_type: str) -> None:
        attributes = {"Content-Type": content_type, "Cache-Control": "public, max-age=31536000, immutable"}
        try:
            await self._obstore.put_async(self.store, key, data, attributes=attributes)
        except Exception as exc:  # noqa: BLE001
            raise self._failure("upload", key, exc) from None
        self.uploads += 1

    def _failure(self, doing: str, key: str, exc: Exception) -> Permanent | Transient:
        """A store error as one row's failure; the message names the object, never a credential."""
        from obstore import exceptions as errors

        where = f"{self.url}/{key}"
        if isinstance(exc, (errors.PermissionDeniedError, errors.UnauthenticatedError)):
            return Permanent(f"could not {doing} the photo at {where}: access denied — check AWS_ACCESS_KEY_ID/"
                             "AWS_SECRET_ACCESS_KEY and that they may write to the bucket")
        if isinstance(exc, FileNotFoundError):
            return Permanent(f"could not {doing} the photo at {where}: no such bucket — create it or fix the "
                             "photo host address")
        status = _status(exc)
        if status is not None and 400 <= status < 500 and not temporary_status(status):
            return Permanent(f"could not {doing} the photo at {where}: the store answered {status} — check the "
                             "bucket and the AWS_* settings", http_status=status)
        return Transient(f"could not {doing} the photo at {where} ({type(exc).__name__}"
                         + (f", {status}" if status else "") + ") — check AWS_ENDPOINT_URL and that the "
                         "store is reachable", http_status=status)


# query parameters of a presigned URL that change with every signing (SigV4, GCS V4, Azure SAS)
_SIGNING = re.compile(r"^(x-amz-|x-goog-)|^(se|sp|sv|sr|st|sig|spr|skoid|sktid|skt|ske|sks|skv)$", re.I)


def without_signature(url: str) -> str:
    """`url` without the parameters of a presigned URL: two signings of one object compare equal.

    Photos are content-addressed, so the same object means the same photo; a provider that
    compares the URL it has with the one it would be sent (Linq) then sees no change on a re-run."""
    if "?" not in url:
        return url
    parts = urlsplit(url)
    kept = [pair for pair in parts.query.split("&") if pair and not _SIGNING.match(pair.split("=", 1)[0])]
    return parts._replace(query="&".join(kept)).geturl()


def _status(exc: Exception) -> int | None:
    """The HTTP status in an obstore error's text, if it names one."""
    match = re.search(r"status code: (\d{3})|\b(\d{3}) [A-Z][a-z]+", str(exc))
    if match:
        return int(match.group(1) or match.group(2))
    return None


def _days(delta: timedelta) -> str:
    if delta % timedelta(days=1) == timedelta(0):
        return f"{delta.days} day" + ("s" if delta.days != 1 else "")
    return f"{delta.total_seconds():g} s"
