"""The run journal: a SQLite file that records every operation as it happens.

One journal holds many runs. For each run: its metadata (`runs`), the user's input rows as
written (`inputs`), and one row per card × provider (`ops`) that moves
`pending → sending → done`. The engine marks an operation *sending* — with the card as it was
read just before (its *before-state*) — and that mark is **committed before the write leaves**
(`mark_sending` returns an awaitable: a group commit shared by every mark queued meanwhile).
Outcomes are batched (a commit per ~50 changes or ~200 ms), in order. During a run, commits
happen in one committer thread, one at a time: the event loop (every worker's requests and
deadlines) never waits on SQLite, and the marks queued while a commit runs share the next one.
In WAL mode a kill -9 keeps every committed batch; on resume each write left *sending* is
resolved by reading the provider back and comparing with its before-state (`engine/doubt.py`).
A failed commit keeps its changes queued (never dropped) and stops the run.

One run at a time: a run holds an OS lock (`flock`) on `JOURNAL.lock` for as long as it has the
journal open, so a second process fails at once naming the first; the kernel drops the lock
when a process dies, so a killed run never blocks its resume. At each commit the journal and
its `-wal` file are checked to be the files opened (deleted or replaced → the run stops).

Public API (what `cardkit report JOURNAL` and `cardkit retry JOURNAL` build on):
`Journal(path).runs()`, `.results(run_id=None)`, `.inputs(run_id=None)`. Credentials are never
stored: runs keep the providers' names and base URLs only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import json
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock (documented)
    fcntl = None  # type: ignore[assignment]

import pandas as pd

from cardkit.columns import CARD_COLUMNS, RESULT_COLUMNS
from cardkit.errors import JournalError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT, finished_at TEXT, source TEXT, sha256 TEXT,
    cardkit_version TEXT, kind TEXT, dry_run INTEGER, providers TEXT, options TEXT
);
CREATE TABLE IF NOT EXISTS inputs (
    run_id TEXT, row INTEGER, data TEXT, PRIMARY KEY (run_id, row)
);
CREATE TABLE IF NOT EXISTS ops (
    run_id TEXT, seq INTEGER, row INTEGER, number TEXT, provider TEXT, base_url TEXT, desired TEXT,
    card TEXT, state TEXT, action TEXT, status TEXT, http_status INTEGER, error_code TEXT,
    message TEXT, attempts INTEGER, elapsed_ms REAL, changed TEXT, started_at TEXT,
    finished_at TEXT, before_state TEXT, account TEXT, chat TEXT, idempotency_key TEXT, changes TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS ops_by_target ON ops (provider, base_url, number, state);
CREATE TABLE IF NOT EXISTS photos (digest TEXT PRIMARY KEY, data BLOB);
CREATE TABLE IF NOT EXISTS photo_aliases (provider TEXT, base_url TEXT, sent TEXT, returned TEXT,
    PRIMARY KEY (provider, base_url, sent, returned));
CREATE TABLE IF NOT EXISTS writes (provider TEXT, base_url TEXT, number TEXT, at REAL);
CREATE INDEX IF NOT EXISTS writes_by_target ON writes (provider, base_url, at);
CREATE TABLE IF NOT EXISTS plan_refusals (provider TEXT, base_url TEXT, number TEXT, plan TEXT,
    learned_at TEXT, run_id TEXT, PRIMARY KEY (provider, base_url, number));
"""

#: the columns of `ops` that carry a result, in RESULT_COLUMNS order (run_id comes from the run)
_RESULT_FIELDS = tuple(c for c in RESULT_COLUMNS if c != "run_id")
#: columns later versions added to `ops` (added to older journals when opened)
_ADDED_COLUMNS = ("before_state", "account", "chat", "idempotency_key", "changes")
#: an operation's account: older journals have none, their accounts were named after providers
_ACCOUNT = "COALESCE(NULLIF(o.account, ''), o.provider)"

#: run kinds that share a journal with another kind: an undo is a cards run putting cards back
_FAMILY = {"undo": "cards"}

_FLUSH_EVERY = 50          # changes
_FLUSH_AFTER = 0.2         # seconds

F = TypeVar("F", bound=Callable[..., Any])


def _sqlite_errors(method: F) -> F:
    """Turn SQLite's errors (a damaged page, a full disk) into one-line `JournalError`s."""

    @functools.wraps(method)
    def guarded(self: Journal, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._explain(exc) from None

    return guarded  # type: ignore[return-value]


class Journal:
    """A run journal file. Open it to read past runs; the engine also writes through it.

    `lock=True` (what a run uses) holds the journal for this process alone until `close()`;
    `readonly=True` (what reports use) never writes, and reads a journal on a read-only disk."""

    def __init__(self, path: str | os.PathLike[str], *, lock: bool = False, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock_fd: int | None = None
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._last_commit = time.monotonic()
        self._group: asyncio.Future[None] | None = None      # marks waiting for the next commit
        # the commit running in the committer thread: (its future, its batch, the marks it makes durable)
        self._inflight: tuple[concurrent.futures.Future[None], list[tuple[str, tuple[Any, ...]]],
                              asyncio.Future[None] | None] | None = None
        self._committer: concurrent.futures.ThreadPoolExecutor | None = None
        self._identity: dict[str, tuple[int, int]] = {}
        self._broken: JournalError | None = None
        if lock:
            self._lock()
        try:
            self._db = self._connect()
            if not readonly:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                columns = {c[1] for c in self._db.execute("PRAGMA table_info(ops)")}
                for column in _ADDED_COLUMNS:
                    if column not in columns:      # a journal written by an older cardkit
                        self._db.execute(f"ALTER TABLE ops ADD COLUMN {column} TEXT")
            if not self._sound():
                raise sqlite3.DatabaseError("database disk image is malformed")
        except sqlite3.Error as exc:
            if hasattr(self, "_db"):
                self._db.close()
            self._unlock()
            raise self._explain(exc, opening=True) from None
        if lock:
            self._remember_files()

    def _sound(self) -> bool:
        """SQLite's own quick check of every page (milliseconds for a journal of 10,000 rows):
        damage is found before a run sends anything or a report shows half a run."""
        return self._db.execute("PRAGMA quick_check").fetchone()[0] == "ok"

    def _connect(self) -> sqlite3.Connection:
        if not self.readonly:
            return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        uri = "file:" + quote(str(self.path.resolve()))
        db = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            # a WAL journal on a read-only disk or folder: its -shm can't be made; read the file as is
            db.close()
            return sqlite3.connect(uri + "?immutable=1", uri=True, isolation_level=None,
                                   check_same_thread=False)

    def _explain(self, exc: sqlite3.Error, *, opening: bool = False) -> JournalError:
        """One line saying what is wrong with the journal file and what to do."""
        text = str(exc)
        name = str(self.path)
        damaged = ("malformed", "corrupt") if opening else ("malformed", "corrupt", "not a database")
        if any(word in text.lower() for word in damaged):
            return JournalError(
                f"journal {name!r} is damaged ({text.split(':')[0]}) — it can't be read or resumed: "
                f"move it aside (`sqlite3 {name} .recover` may save its rows) and run with a new "
                "--journal; rows already applied are read back from the providers before any write")
        if "full" in text or "disk I/O" in text:
            return JournalError(
                f"journal {name!r} can't be written ({text}) — free some disk space, then run "
                "again with the same journal: nothing recorded so far is lost")
        if opening:
            return JournalError(f"journal {name!r} can't be used ({text}) — choose another path with "
                                "--journal, or delete the file if it is not a cardkit journal")
        return JournalError(f"journal {name!r} can't be written ({text}) — check the disk "
                            "space and permissions, then run again with the same journal")

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # ---- one run at a time ----------------------------------------------------------------------

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _lock(self) -> None:
        """Hold `JOURNAL.lock` (flock) for this run, or fail at once naming the holder."""
        if fcntl is None:  # pragma: no cover
            return
        try:
            handle = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise JournalError(f"journal {str(self.path)!r} can't be locked ({exc.strerror}: "
                               f"{str(self.lock_path)!r}) — check the folder's permissions") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(handle, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(handle)
            raise JournalError(
                f"journal {str(self.path)!r} is in use by another cardkit run ({holder}) — wait for "
                "it to end, or stop it; two runs on one journal would send the same writes twice"
            ) from None
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        try:
            os.ftruncate(handle, 0)
            os.pwrite(handle, f"pid {os.getpid()}, started {started}\n".encode(), 0)
        except OSError:
            pass                  # a full disk: the lock holds all the same, the note is a courtesy
        self._lock_fd = handle

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)       # closing the file releases the flock
            self._lock_fd = None

    # ---- the files stay the files we opened -----------------------------------------------------

    def _remember_files(self) -> None:
        for name in (self.path, self._wal):
            try:
                info = os.stat(name)
            except FileNotFoundError:
                continue
            self._identity[str(name)] = (info.st_dev, info.st_ino)

    @property
    def _wal(self) -> Path:
        return self.path.with_name(self.path.name + "-wal")

    def _replaced_files(self) -> list[str]:
        """The journal files that were deleted or replaced behind our back since we opened them."""
        gone = []
        for name, identity in self._identity.items():
            try:
                info = os.stat(name)
                if (info.st_dev, info.st_ino) == identity:
                    continue
            except FileNotFoundError:
                pass
            gone.append(name)
        if not gone and str(self._wal) not in self._identity:
            self._remember_files()
        return gone

    def _stop_replaced(self, gone: list[str]) -> JournalError:
        """Save what this connection still holds (it keeps deleted files open), and say so."""
        if str(self.path) not in gone:
            # only the -wal went: write what it held back into the journal itself
            try:
                self._db.execute("PRAGMA wal_checkpoint(FULL)")
                saved = (f"everything recorded so far was written back into {str(self.path)!r}: run "
                         "the same command again to finish")
            except sqlite3.Error as exc:
                saved = f"its records could not be saved ({exc}); the next run reads every card back"
        else:
            target = self.path.with_name(self.path.name + f".rescued-{int(time.time())}")
            try:
                copy = sqlite3.connect(target)
                try:
                    self._db.backup(copy)
                finally:
                    copy.close()
                saved = (f"everything recorded so far is saved in {str(target)!r}: put it back as "
                         f"{str(self.path)!r} and run the same command again to finish")
            except (sqlite3.Error, OSError) as exc:
                saved = f"its records could not be saved ({exc}); the next run reads every card back"
        what = ", ".join(repr(name) for name in gone)
        return JournalError(f"journal file {what} was deleted or replaced while this run was using it "
                            f"— the run stopped before sending more; {saved}")

    def close(self) -> None:
        """Commit what is buffered and close the file (and release the run's lock)."""
        try:
            if self._broken is None and not self.readonly:
                self.flush(force=True)
        finally:
            self._settle(wait=True)
            if self._committer is not None:
                self._committer.shutdown(wait=True)
                self._committer = None
            self._db.close()
            self._unlock()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reading (reports, retry) -------------------------------------------------------------

    @_sqlite_errors
    def runs(self) -> pd.DataFrame:
        """One row per run, oldest first: run_id, started_at, finished_at, source, sha256,
        cardkit_version, kind, dry_run, providers (name=base_url, comma-separated)."""
        rows = self._db.execute(
            "SELECT run_id, started_at, finished_at, source, sha256, cardkit_version, kind, "
            "dry_run, providers FROM runs ORDER BY started_at, rowid"
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["run_id", "started_at", "finished_at", "source", "sha256",
                                            "cardkit_version", "kind", "dry_run", "providers"])
        frame["dry_run"] = frame["dry_run"].astype(bool)
        frame["providers"] = [", ".join(f"{n}={u}" for n, u in json.loads(p or "{}").items())
                              for p in frame["providers"]]
        for column in ("started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return frame

    @_sqlite_errors
    def latest_run(self, kind: str | None = None) -> str:
        """The id of the newest run (of `kind`), or a JournalError when there is none."""
        query = "SELECT run_id FROM runs" + (" WHERE kind = ?" if kind else "") + \
            " ORDER BY started_at DESC, rowid DESC LIMIT 1"
        found = self._db.execute(query, (kind,) if kind else ()).fetchone()
        if not found:
            raise JournalError(f"journal {str(self.path)!r} holds no {kind or ''} run yet".replace("  ", " "))
        return found[0]

    @_sqlite_errors
    def _run_id(self, run_id: str | None) -> str:
        if run_id is None:
            return self.latest_run()
        if not self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            known = ", ".join(self.runs()["run_id"]) or "none"
            raise JournalError(f"journal {str(self.path)!r} has no run {run_id!r} (runs: {known})")
        return run_id

    @_sqlite_errors
    def run_info(self, run_id: str | None = None) -> dict[str, Any]:
        """A run's metadata as a dict (providers as {name: base_url}, options as given)."""
        run_id = self._run_id(run_id)
        cursor = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        info = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
        info["providers"] = json.loads(info["providers"] or "{}")
        info["options"] = json.loads(info["options"] or "{}")
        return info

    @_sqlite_errors
    def results(self, run_id: str | None = None) -> pd.DataFrame:
        """The results frame of the latest (or given) run, as far as it got."""
        from cardkit.engine.results import results_frame

        run_id = self._run_id(run_id)
        self.flush(force=True)
        have = {c[1] for c in self._db.execute("PRAGMA table_info(ops)")}
        fields = [f for f in _RESULT_FIELDS if f in have]       # `changes` is new in 1.1
        rows = self._db.execute(
            f"SELECT {', '.join(fields)}, state FROM ops WHERE run_id = ? ORDER BY seq", (run_id,)
        ).fetchall()
        records = []
        for values in rows:
            record = dict(zip(fields, values[:-1]))
            record["account"] = record.get("account") or record["provider"]
            record["chat"] = record.get("chat") or ""
            if values[-1] != "done":        # the process ended before this one finished
                record["status"] = "skipped"
                record["message"] = ("the run stopped while this was being sent — run again with the "
                                     "same journal to check it and finish"
                                     if values[-1] == "sending" else "the run stopped before it ran")
            record["run_id"] = run_id
            records.append(record)
        return results_frame(records)

    @_sqlite_errors
    def inputs(self, run_id: str | None = None) -> pd.DataFrame:
        """The user's input rows of a run, under their own headers, with `row` first."""
        run_id = self._run_id(run_id)
        rows = self._db.execute("SELECT row, data FROM inputs WHERE run_id = ? ORDER BY row", (run_id,))
        records = [{"row": row, **json.loads(data)} for row, data in rows]
        frame = pd.DataFrame.from_records(records)
        if frame.empty:
            frame = pd.DataFrame({"row": pd.Series([], dtype="int64")})
        return frame

    @_sqlite_errors
    def cards(self, run_id: str | None = None, *, only_unfinished: bool = False) -> pd.DataFrame:
        """The validated card rows a run used (canonical columns, `row` first), one per card.

        With `only_unfinished`, only the cards with an operation that did not end applied,
        unchanged or invalid — what `retry` sends again."""
        run_id = self._run_id(run_id)
        query = ("SELECT row, card, COALESCE(NULLIF(account, ''), provider), status, state FROM ops "
                 "WHERE run_id = ? ORDER BY seq")
        seen: dict[int, dict[str, Any]] = {}
        # the provider cell gets the account (a provider's own name for the vendors' variables),
        # so that a retry goes to the same account
        for row, card, provider, status, state in self._db.execute(query, (run_id,)):
            if only_unfinished and state == "done" and status in ("applied", "unchanged", "invalid"):
                continue
            record = seen.setdefault(row, {"row": row, **json.loads(card)})
            if not record.get("provider"):
                record["provider"] = provider
            elif provider not in record["provider"].split(","):
                record["provider"] += "," + provider
        frame = pd.DataFrame.from_records(list(seen.values()),
                                          columns=["row", *CARD_COLUMNS, "valid", "problems"])
        return frame

    # ---- writing (the engine) -----------------------------------------------------------------

    @_sqlite_errors
    def start_run(self, run_id: str, meta: Mapping[str, Any], inputs: Iterable[tuple[int, dict]] = ()) -> None:
        """Record a new run and its input rows (committed at once)."""
        kinds = {_FAMILY.get(k, k) for (k,) in self._db.execute("SELECT DISTINCT kind FROM runs")}
        if kinds and _FAMILY.get(meta["kind"], meta["kind"]) not in kinds:
            raise JournalError(
                f"journal {str(self.path)!r} records {', '.join(sorted(kinds))} runs, not "
                f"{meta['kind']} — give this run its own journal file"
            )
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
                (run_id, meta["started_at"], None, meta.get("source"), meta.get("sha256"),
                 meta.get("cardkit_version"), meta["kind"], int(bool(meta.get("dry_run"))),
                 json.dumps(meta.get("providers", {})), json.dumps(meta.get("options", {}))),
            )
            self._db.executemany(
                "INSERT INTO inputs VALUES (?,?,?)",
                ((run_id, row, json.dumps(data, default=str)) for row, data in inputs),
            )

    @_sqlite_errors
    def add_ops(self, run_id: str, ops: Iterable[tuple[Any, ...]]) -> None:
        """Record the run's operations as pending: (seq, row, number, provider, base_url,
        desired, card columns (a dict, or its JSON text)[, account, chat, idempotency key])."""
        def rows() -> Iterable[tuple[Any, ...]]:
            for seq, row, number, provider, base_url, desired, card, *more in ops:
                account, chat, key = (list(more) + ["", "", ""])[:3]
                text = card if isinstance(card, str) else json.dumps(card, default=str)
                yield (run_id, seq, row, number, provider, base_url, desired, text,
                       account or provider, chat or "", key or "")

        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO ops (run_id, seq, row, number, provider, base_url, desired, card, account, "
                "chat, idempotency_key, state, attempts) VALUES (?,?,?,?,?,?,?,?,?,?,?, 'pending', 0)",
                rows(),
            )

    def mark_sending(self, run_id: str, seq: int, started_at: str,
                     before: str | None = None) -> Awaitable[None] | None:
        """Mark an operation as being sent, with the card as read just before (`before`, JSON).

        Returns what to await before the request goes out: the commit that makes the mark
        durable, shared by every mark queued until it starts (group commit; it runs in the
        committer thread, so the loop goes on serving the other workers meanwhile).
        Outside an event loop the mark is committed at once (and None returned)."""
        self._pending.append(("UPDATE ops SET state='sending', started_at=?, before_state=? "
                              "WHERE run_id=? AND seq=?", (started_at, before, run_id, seq)))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush(force=True)
            return None
        if self._group is None:
            self._group = loop.create_future()
            if self._inflight is None:
                loop.call_soon(self._start_commit)   # the marks of this turn join it
            # else: the running commit's end starts the next one, with every mark queued until then
        return asyncio.shield(self._group)

    def keep_photo(self, digest: str, data: bytes) -> None:
        """Keep a photo a provider returned before a write (once per digest), so `undo` can
        put it back. Bounded by what providers return (Blooio: ≤ ~1 MB each)."""
        self._pending.append(("INSERT OR IGNORE INTO photos VALUES (?,?)", (digest, data)))

    def photo_alias(self, provider: str, base_url: str, sent: str, returned: str) -> None:
        """Remember that the photo we sent (digest `sent`) reads back as `returned` (a provider
        that re-encodes avatars): the same photo, not a change, on every later run."""
        self._queue("INSERT OR IGNORE INTO photo_aliases VALUES (?,?,?,?)", (provider, base_url, sent, returned))

    @_sqlite_errors
    def photo_aliases(self, base_urls: Mapping[str, str]) -> dict[tuple[str, str], set[str]]:
        """(provider, digest sent) → the digests it read back as."""
        found: dict[tuple[str, str], set[str]] = {}
        for name, url in base_urls.items():
            for sent, returned in self._db.execute(
                    "SELECT sent, returned FROM photo_aliases WHERE provider=? AND base_url=?", (name, url)):
                found.setdefault((name, sent), set()).add(returned)
        return found

    @_sqlite_errors
    def photo(self, digest: str) -> bytes | None:
        """A photo kept by `keep_photo` (None when it never was)."""
        self.flush(force=True)
        found = self._db.execute("SELECT data FROM photos WHERE digest = ?", (digest,)).fetchone()
        return bytes(found[0]) if found else None

    @_sqlite_errors
    def sent(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The operations of a run that were sent, with the card each had before (`before`, JSON)
        and the result: what `undo` puts back. Oldest first."""
        run_id = self._run_id(run_id)
        self.flush(force=True)
        rows = self._db.execute(
            "SELECT seq, row, number, provider, base_url, state, status, action, changed, before_state, card, "
            "COALESCE(NULLIF(account, ''), provider) "
            "FROM ops WHERE run_id = ? AND state IN ('sending', 'done') AND before_state IS NOT NULL "
            "ORDER BY seq", (run_id,)).fetchall()
        keys = ("seq", "row", "number", "provider", "base_url", "state", "status", "action", "changed",
                "before", "card", "account")
        found = [dict(zip(keys, values)) for values in rows]
        for item in found:
            item["card"] = json.loads(item["card"] or "{}")
        return found

    def commit_soon(self) -> None:
        """Commit what is buffered in the committer thread, without waiting (in a running loop;
        at once otherwise). A commit already running: the next one takes it."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.flush(force=True)
            return
        if self._inflight is None:
            self._start_commit()

    def _start_commit(self) -> None:
        """Hand everything buffered to the committer thread (loop thread; one commit at a time,
        so batches commit in the order they were queued)."""
        if self._inflight is not None:
            return
        group, self._group = self._group, None
        if self._broken is not None:
            if group is not None:
                _fail(group, self._broken)
            return
        if not self._pending:
            if group is not None and not group.done():
                group.set_result(None)            # a synchronous flush already committed them
            return
        pending, self._pending = self._pending, []
        if self._committer is None:
            self._committer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cardkit-journal")
        future = self._committer.submit(self._commit, pending)
        self._inflight = (future, pending, group)
        loop = asyncio.get_running_loop()

        def wake(_: concurrent.futures.Future[None]) -> None:
            try:
                loop.call_soon_threadsafe(self._committed, future)
            except RuntimeError:      # the loop is gone (a second Ctrl-C quits at once): close() settles
                pass

        future.add_done_callback(wake)

    def _committed(self, future: concurrent.futures.Future[None]) -> None:
        """(loop thread) A commit ended: tell its marks, then start the next group's."""
        if self._inflight is not None and self._inflight[0] is future:
            self._settle(wait=False)
        if self._group is not None and self._inflight is None:
            self._start_commit()

    def _settle(self, *, wait: bool) -> None:
        """Take the outcome of the running commit (waiting for it with `wait`): its marks are told;
        a failed batch goes back to the front of the queue — never dropped — and its marks raise."""
        if self._inflight is None:
            return
        future, pending, group = self._inflight
        if not wait and not future.done():
            return
        concurrent.futures.wait([future])
        self._inflight = None
        failure = future.exception()
        if failure is not None:
            self._pending[:0] = pending
            if group is not None:
                _fail(group, failure)
        else:
            self._last_commit = time.monotonic()
            if group is not None and not group.done():
                group.set_result(None)

    def done(self, run_id: str, seq: int, result: Mapping[str, Any]) -> None:
        """Record an operation's outcome."""
        self._queue(
            "UPDATE ops SET state='done', action=?, status=?, http_status=?, error_code=?, message=?, "
            "attempts=?, elapsed_ms=?, changed=?, changes=?, started_at=?, finished_at=? "
            "WHERE run_id=? AND seq=?",
            (result["action"], result["status"], result["http_status"], result["error_code"],
             result["message"], result["attempts"], result["elapsed_ms"], result["changed"],
             json.dumps(result.get("changes") or {}), result["started_at"], result["finished_at"], run_id, seq),
        )

    def wrote(self, provider: str, base_url: str, number: str) -> None:
        """Remember that a write went to `number` now (for per-number budgets across runs)."""
        self._queue("INSERT INTO writes VALUES (?,?,?,?)", (provider, base_url, number, time.time()))

    def unwrote(self, provider: str, base_url: str, number: str) -> None:
        """Take back the latest `wrote` for `number`: the provider refused that write, so it does not
        count against the number's budget in later runs either."""
        self._queue("DELETE FROM writes WHERE rowid = (SELECT MAX(rowid) FROM writes WHERE provider=? "
                    "AND base_url=? AND number=?)", (provider, base_url, number))

    def plan_refused(self, provider: str, base_url: str, number: str, plan: str, run_id: str, at: str) -> None:
        """Remember that the provider refused fields for `number` because of its plan (Blooio's
        standard plans: name and photo), so the next plan says so before writing."""
        self._queue("INSERT OR REPLACE INTO plan_refusals VALUES (?,?,?,?,?,?)",
                    (provider, base_url, number, plan, at, run_id))

    @_sqlite_errors
    def plan_refusals(self, provider: str, base_url: str) -> dict[str, tuple[str, str]]:
        """{number: (when, run id)} of the plan refusals `plan_refused` remembered ({} in a
        journal written before they were)."""
        try:
            rows = self._db.execute("SELECT number, learned_at, run_id FROM plan_refusals "
                                    "WHERE provider=? AND base_url=?", (provider, base_url)).fetchall()
        except sqlite3.OperationalError:      # an older journal opened read-only: no such table
            return {}
        return {number: (when or "", run or "") for number, when, run in rows}

    def finish_run(self, run_id: str, finished_at: str) -> None:
        """Stamp the run finished and commit everything buffered."""
        self._queue("UPDATE runs SET finished_at=? WHERE run_id=?", (finished_at, run_id))
        self.flush(force=True)

    def _queue(self, sql: str, params: tuple[Any, ...]) -> None:
        self._pending.append((sql, params))
        if len(self._pending) >= _FLUSH_EVERY or time.monotonic() - self._last_commit >= _FLUSH_AFTER:
            self.commit_soon()

    def flush(self, force: bool = False) -> None:
        """Commit buffered changes now (in order, in one transaction), after any commit running in
        the committer thread. On failure they stay queued for the next commit — never dropped —
        and a `JournalError` says what went wrong."""
        self._settle(wait=True)           # the batch before ours commits first (or comes back)
        if self._broken is not None:
            raise self._broken
        if not self._pending or not (force or len(self._pending) >= _FLUSH_EVERY):
            return
        pending, self._pending = self._pending, []
        try:
            self._commit(pending)
        except BaseException:
            self._pending[:0] = pending
            raise
        self._last_commit = time.monotonic()

    def _commit(self, pending: list[tuple[str, tuple[Any, ...]]]) -> None:
        """One transaction of `pending` (the loop thread or the committer thread, never both)."""
        try:
            gone = self._replaced_files() if self._identity else []
            with self._db:
                self._db.execute("BEGIN")
                # consecutive statements of the same kind go in one executemany
                start = 0
                for end in range(1, len(pending) + 1):
                    if end == len(pending) or pending[end][0] != pending[start][0]:
                        self._db.executemany(pending[start][0], [p for _, p in pending[start:end]])
                        start = end
        except sqlite3.Error as exc:
            raise self._explain(exc) from None
        if gone:                                  # committed to what we hold; now save it and stop
            self._broken = self._stop_replaced(gone)
            raise self._broken

    # ---- what earlier runs did (resume) -------------------------------------------------------

    @_sqlite_errors
    def applied(self, base_urls: Mapping[str, str]) -> dict[tuple[str, str, str], tuple[str, str]]:
        """(account, number, chat) → (desired, run_id) of the latest confirmed state of each
        target (chat is "" for cards).

        `base_urls` ({account: base URL}) keeps a rehearsal against a sandbox from counting as
        applied at the real provider; matching on the account keeps one account's run from
        counting for another's."""
        found: dict[tuple[str, str, str], tuple[str, str]] = {}
        for name, url in base_urls.items():
            rows = self._db.execute(
                "SELECT o.number, COALESCE(o.chat, ''), o.desired, o.run_id FROM ops o JOIN runs r "
                f"USING (run_id) WHERE {_ACCOUNT}=? AND o.base_url=? AND o.state='done' "
                "AND o.status IN ('applied','unchanged') AND r.dry_run = 0 ORDER BY o.finished_at",
                (name, url))
            for number, chat, desired, run_id in rows:
                found[(name, number, chat)] = (desired, run_id)
        return found

    @_sqlite_errors
    def in_doubt(self, base_urls: Mapping[str, str]
                 ) -> dict[tuple[str, str, str], tuple[str, str, str | None]]:
        """(account, number, chat) → (run_id, desired, before-state JSON) of the latest write a
        stopped run left *sending* (outcome unknown) that no later operation on that target settled."""
        found: dict[tuple[str, str, str], tuple[str, str, str | None]] = {}
        later = _ACCOUNT.replace("o.", "l.")
        for name, url in base_urls.items():
            rows = self._db.execute(
                "SELECT o.number, COALESCE(o.chat, ''), o.run_id, o.desired, o.before_state FROM ops o "
                f"JOIN runs r USING (run_id) WHERE {_ACCOUNT}=? AND o.base_url=? AND o.state='sending' "
                f"AND NOT EXISTS (SELECT 1 FROM ops l WHERE {later}={_ACCOUNT} AND l.base_url=o.base_url "
                " AND l.number=o.number AND COALESCE(l.chat, '')=COALESCE(o.chat, '') AND l.state='done' "
                " AND l.action NOT IN ('none') AND l.started_at > o.started_at) ORDER BY r.started_at, r.rowid",
                (name, url))
            for number, chat, run_id, desired, before in rows:
                found[(name, number, chat)] = (run_id, desired, before)
        return found

    @_sqlite_errors
    def idempotency_keys(self, base_urls: Mapping[str, str]) -> dict[tuple[tuple[str, str, str], str], str]:
        """((account, number, chat), desired) → the idempotency key an earlier run gave that very
        send, when it did not end confirmed (sending, failed, skipped): a resumed or retried send
        reuses it, so the provider can refuse a second copy."""
        found: dict[tuple[tuple[str, str, str], str], str] = {}
        for name, url in base_urls.items():
            rows = self._db.execute(
                f"SELECT o.number, COALESCE(o.chat, ''), o.desired, o.idempotency_key FROM ops o "
                f"WHERE {_ACCOUNT}=? AND o.base_url=? AND COALESCE(o.idempotency_key, '') != '' "
                "AND o.state != 'pending' AND NOT (o.state = 'done' AND o.status IN ('applied', "
                "'unchanged', 'invalid', 'planned')) ORDER BY o.rowid", (name, url))
            for number, chat, desired, key in rows:
                found.setdefault(((name, number, chat), desired), key)    # the first run's key wins
        return found

    @_sqlite_errors
    def recent_writes(self, provider: str, base_url: str, window: float) -> dict[str, list[float]]:
        """number → ages in seconds of the writes sent to it within the last `window` seconds."""
        now = time.time()
        rows = self._db.execute("SELECT number, at FROM writes WHERE provider=? AND base_url=? AND at > ?",
                                (provider, base_url, now - window))
        ages: dict[str, list[float]] = {}
        for number, at in rows:
            ages.setdefault(number, []).append(now - at)
        return ages


def _fail(group: asyncio.Future[None], failure: BaseException) -> None:
    """Hand every write waiting on `group` the commit's error (and mark it retrieved)."""
    if not group.done():
        group.set_exception(failure)
        group.exception()
