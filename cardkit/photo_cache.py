"""What checking and preparing each photo produced, remembered between runs (a SQLite file).

Decoding a 12-megapixel photo costs tens of milliseconds; learning that it did not change
should cost a `stat`. So for each photo source this remembers, per photo spec version:
  * what `prepare_photo` made of it — the JPEG's sha256, byte size and side — so a re-run
    decides "unchanged" by comparing digests, and prepares the bytes only for a write;
  * what `check_photo` found (validation's verdict: format, size, warnings);
  * the URL a photo host gave for a prepared digest, for hosts that say how long their URLs
    stay valid (`url_lifetime` and `cache_key` attributes; see `docs/engine.md`);
  * for a photo URL in the sheet that was downloaded and found to be an image: the server's
    validators (ETag, Last-Modified) and the sha256 of the bytes, so the next run (apply after
    plan) asks "changed since?" and a 304 costs no download. Only what the server vouches for
    is kept (no validators, nothing remembered), and never the URL itself — a presigned URL's
    query is a credential — only its sha256.

A source is identified cheaply: a local file by its absolute path, size, mtime_ns and inode
(any edit, even one keeping the size, changes the mtime); downloaded bytes by their sha256.
The spec version (`spec_version`) covers the spec's values, the preparing code's own version
and Pillow's, so a cache written by other code or settings is simply not matched.

Where: `CARDKIT_CACHE_DIR` if set, else the user's cache folder (`$XDG_CACHE_HOME/cardkit`,
`~/.cache/cardkit`; `~/Library/Caches/cardkit` on macOS, `%LOCALAPPDATA%\\cardkit\\Cache` on
Windows) — not beside the journal, because notebook runs and the in-process sandbox have no
journal and should benefit too. `CARDKIT_CACHE_DIR=off` turns it off. The cache is an
optimisation only: a file that can't be opened, written or read (corrupt, read-only disk,
locked) is set aside or ignored, never an error of the run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The environment variable naming the cache folder ("off" disables the cache).
CACHE_DIR_VARIABLE = "CARDKIT_CACHE_DIR"
FILE_NAME = "photos.sqlite"
_SCHEMA = 1
#: Entries older than this are dropped when the cache is opened (a source unseen for so long
#: is likely gone; if not, it is simply prepared again).
KEEP_SECONDS = 60 * 24 * 3600.0


def cache_dir() -> Path | None:
    """The folder of cardkit's caches, or None when `CARDKIT_CACHE_DIR=off`."""
    chosen = os.environ.get(CACHE_DIR_VARIABLE)
    if chosen is not None and chosen.strip():
        return None if chosen.strip().lower() in ("off", "0", "false", "none") else Path(chosen).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "cardkit" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "cardkit"
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache") / "cardkit"


def spec_version(spec: Any) -> str:
    """A short key for "the same spec, the same preparing code, the same Pillow"."""
    from PIL import __version__ as pillow

    from cardkit.photos import PREPARE_VERSION

    return _version_key(spec, PREPARE_VERSION, pillow)


@functools.lru_cache(maxsize=16)
def _version_key(spec: Any, prepare_version: int, pillow: str) -> str:
    """Worked out once per spec (specs are frozen), not once per photo checked."""
    text = json.dumps([prepare_version, pillow, dataclasses.astuple(spec)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_key(path: str | os.PathLike) -> str | None:
    """What identifies a local file's content cheaply, or None when it can't be stat'ed."""
    try:
        absolute = os.path.abspath(os.fspath(path))
        info = os.stat(absolute)
    except (OSError, ValueError):
        return None
    return f"file:{absolute}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}"


def url_key(url: str) -> str:
    """What identifies a photo URL in the cache: its sha256 (the URL itself may carry secrets)."""
    return "url:" + hashlib.sha256(url.encode()).hexdigest()


def content_key(data: bytes) -> str:
    """What identifies photo bytes (a downloaded photo): their sha256."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Prepared:
    """What preparing a source produced (the bytes themselves are not kept)."""

    digest: str      # sha256 of the prepared JPEG
    size: int        # its bytes
    side: int        # its width = height


class PhotoCache:
    """The cache file, opened once per run (or per validation); thread-safe.

    `PhotoCache.open()` uses `cache_dir()`; `PhotoCache(None)` keeps everything in memory.
    `hits` and `misses` count lookups (for tests and benchmarks).
    """

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = Path(path) if path is not None else None
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db = self._connect()

    @classmethod
    def open(cls) -> PhotoCache:
        folder = cache_dir()
        return cls(folder / FILE_NAME if folder is not None else None)

    def __repr__(self) -> str:
        return f"PhotoCache({str(self.path) if self.path else 'in memory'!r})"

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

    # ---- prepared photos ----------------------------------------------------------------

    def prepared(self, source_key: str | None, spec: str) -> Prepared | None:
        row = self._get("SELECT digest, size, side FROM prepared WHERE source = ? AND spec = ?", source_key, spec)
        return Prepared(*row) if row else None

    def remember_prepared(self, source_key: str | None, spec: str, prepared: Prepared) -> None:
        self._put("INSERT OR REPLACE INTO prepared VALUES (?, ?, ?, ?, ?, ?)",
                  source_key, spec, prepared.digest, prepared.size, prepared.side, time.time())

    # ---- checked photos -----------------------------------------------------------------

    def checked(self, source_key: str | None, spec: str) -> dict | None:
        row = self._get("SELECT result FROM checked WHERE source = ? AND spec = ?", source_key, spec)
        if not row:
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            return None

    def remember_checked(self, source_key: str | None, spec: str, result: dict) -> None:
        self._put("INSERT OR REPLACE INTO checked VALUES (?, ?, ?, ?)",
                  source_key, spec, json.dumps(result), time.time())

    # ---- hosted URLs --------------------------------------------------------------------

    def url(self, host: str, digest: str) -> str | None:
        row = self._get("SELECT url FROM uploaded WHERE host = ? AND digest = ? AND expires_at > ?",
                        host, digest, time.time())
        return row[0] if row else None

    def remember_url(self, host: str, digest: str, url: str, lifetime: float) -> None:
        with self._lock:
            self._write("INSERT OR REPLACE INTO uploaded VALUES (?, ?, ?, ?)",
                        (host, digest, url, time.time() + lifetime))

    # ---- photo URLs checked ------------------------------------------------------------

    def url_check(self, url: str) -> tuple[str, str, str] | None:
        """(etag, last_modified, content key) of `url`'s last good download, or None."""
        row = self._get("SELECT etag, last_modified, content FROM urls WHERE source = ?", url_key(url))
        return (row[0], row[1], row[2]) if row else None

    def remember_url_check(self, url: str, etag: str, last_modified: str, content: str) -> None:
        if etag or last_modified:
            self._put("INSERT OR REPLACE INTO urls VALUES (?, ?, ?, ?, ?)",
                      url_key(url), etag, last_modified, content, time.time())

    def forget_url_check(self, url: str) -> None:
        self._put("DELETE FROM urls WHERE source = ?", url_key(url))

    # ---- plumbing -------------------------------------------------------------------------

    def _get(self, sql: str, key: str | None, *more: Any) -> tuple | None:
        if key is None:
            return None
        with self._lock:
            try:
                row = self._db.execute(sql, (key, *more)).fetchone()
            except sqlite3.Error:
                row = None
            if row:
                self.hits += 1
            else:
                self.misses += 1
        return row

    def _put(self, sql: str, key: str | None, *values: Any) -> None:
        if key is None:
            return
        with self._lock:
            self._write(sql, (key, *values))

    def _write(self, sql: str, parameters: tuple) -> None:
        try:
            with self._db:
                self._db.execute(sql, parameters)
        except sqlite3.Error:     # locked by another process, disk full, read-only: skip it
            pass

    def _connect(self) -> sqlite3.Connection:
        """Open the file (a corrupt or foreign one is moved aside); in memory when impossible."""
        if self.path is not None:
            for attempt in range(2):
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    return _prepared_db(sqlite3.connect(self.path, timeout=1.0, check_same_thread=False))
                except (sqlite3.Error, OSError):
                    if attempt == 0 and not _set_aside(self.path):
                        break
            self.path = None
        return _prepared_db(sqlite3.connect(":memory:", check_same_thread=False))


def _prepared_db(db: sqlite3.Connection) -> sqlite3.Connection:
    """Create the tables (or check them), drop entries too old; raise sqlite3.Error if unusable."""
    try:
        db.execute("PRAGMA busy_timeout = 1000")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and version != _SCHEMA:
            raise sqlite3.DatabaseError(f"cache schema {version}, expected {_SCHEMA}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS prepared (source TEXT, spec TEXT, digest TEXT, "
                       "size INTEGER, side INTEGER, stored_at REAL, PRIMARY KEY (source, spec))")
            db.execute("CREATE TABLE IF NOT EXISTS checked (source TEXT, spec TEXT, result TEXT, "
                       "stored_at REAL, PRIMARY KEY (source, spec))")
            db.execute("CREATE TABLE IF NOT EXISTS uploaded (host TEXT, digest TEXT, url TEXT, "
                       "expires_at REAL, PRIMARY KEY (host, digest))")
            db.execute("CREATE TABLE IF NOT EXISTS urls (source TEXT PRIMARY KEY, etag TEXT, "
                       "last_modified TEXT, content TEXT, stored_at REAL)")
            db.execute(f"PRAGMA user_version = {_SCHEMA}")
            old = time.time() - KEEP_SECONDS
            db.execute("DELETE FROM prepared WHERE stored_at < ?", (old,))
            db.execute("DELETE FROM checked WHERE stored_at < ?", (old,))
            db.execute("DELETE FROM urls WHERE stored_at < ?", (old,))
            db.execute("DELETE FROM uploaded WHERE expires_at < ?", (time.time(),))
        return db
    except sqlite3.Error:
        db.close()
        raise


def _set_aside(path: Path) -> bool:
    """Move an unusable cache file out of the way (it is only a cache); False if impossible."""
    if not path.exists():
        return True     # the folder itself is the trouble (read-only, not a folder)
    try:
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.replace(path.with_name(path.name + ".unusable"))
        return True
    except OSError:
        return False


def checked_photo(source: str, cache: PhotoCache, spec: Any = None) -> Any:
    """`check_photo(source)`, remembered for local files (a URL is only looked at, never cached)."""
    from cardkit.photos import BLOOIO_PHOTO, PhotoCheck, PhotoProblem, check_photo
    from cardkit.urls import is_url

    spec = spec or BLOOIO_PHOTO
    key = None if is_url(source) else file_key(source)
    version = spec_version(spec)
    found = cache.checked(key, version)
    if found is not None:
        try:
            return PhotoCheck(
                source=str(source), ok=bool(found["ok"]), format=found["format"],
                size=tuple(found["size"]) if found["size"] else None,
                problems=tuple(PhotoProblem(*p) for p in found["problems"]),
                fixes=tuple(found["fixes"]))
        except (KeyError, TypeError, ValueError):
            pass      # an entry of another shape: check again
    check = check_photo(source, spec=spec)
    if key is not None and not any(p.check == "photo_missing" for p in check.problems):
        cache.remember_checked(key, version, {
            "ok": check.ok, "format": check.format, "size": list(check.size) if check.size else None,
            "problems": [[p.severity, p.check, p.message] for p in check.problems],
            "fixes": list(check.fixes)})
    return check
