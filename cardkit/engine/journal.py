"""The run journal: a SQLite file that records every operation as it happens.

One journal holds many runs. For each run: its metadata (`runs`), the user's input rows as
written (`inputs`), and one row per card × provider (`ops`) that moves
`pending → sending → done`. The engine marks an operation *sending* before its request and
*done* (with the outcome) after the reply; writes are batched — a commit per ~50 changes or
~200 ms — and applied in order, so a commit never holds an outcome without the *sending* that
preceded it. In WAL mode a kill -9 keeps every committed batch, and on resume each operation is
checked again by reading the provider back before anything is re-sent.

Public API (what `cardkit report JOURNAL` and `cardkit retry JOURNAL` build on):
`Journal(path).runs()`, `.results(run_id=None)`, `.inputs(run_id=None)`. Credentials are never
stored: runs keep the providers' names and base URLs only.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

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
    finished_at TEXT, changes TEXT, PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS ops_by_target ON ops (provider, base_url, number, state);
CREATE TABLE IF NOT EXISTS writes (provider TEXT, base_url TEXT, number TEXT, at REAL);
CREATE INDEX IF NOT EXISTS writes_by_target ON writes (provider, base_url, at);
"""

#: the columns of `ops` that carry a result, in RESULT_COLUMNS order (run_id comes from the run)
_RESULT_FIELDS = tuple(c for c in RESULT_COLUMNS if c != "run_id")

_FLUSH_EVERY = 50          # changes
_FLUSH_AFTER = 0.2         # seconds


class Journal:
    """A run journal file. Open it to read past runs; the engine also writes through it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(ops)")}
            if "changes" not in columns:          # a journal written before before → after
                self._db.execute("ALTER TABLE ops ADD COLUMN changes TEXT")
        except sqlite3.Error as exc:
            raise JournalError(
                f"journal {str(self.path)!r} can't be used ({exc}) — choose another path with "
                "--journal, or delete the file if it is not a cardkit journal"
            ) from None
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._last_commit = time.monotonic()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def close(self) -> None:
        """Commit what is buffered and close the file."""
        self.flush(force=True)
        self._db.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reading (reports, retry) -------------------------------------------------------------

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

    def latest_run(self, kind: str | None = None) -> str:
        """The id of the newest run (of `kind`), or a JournalError when there is none."""
        query = "SELECT run_id FROM runs" + (" WHERE kind = ?" if kind else "") + \
            " ORDER BY started_at DESC, rowid DESC LIMIT 1"
        found = self._db.execute(query, (kind,) if kind else ()).fetchone()
        if not found:
            raise JournalError(f"journal {str(self.path)!r} holds no {kind or ''} run yet".replace("  ", " "))
        return found[0]

    def _run_id(self, run_id: str | None) -> str:
        if run_id is None:
            return self.latest_run()
        if not self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            known = ", ".join(self.runs()["run_id"]) or "none"
            raise JournalError(f"journal {str(self.path)!r} has no run {run_id!r} (runs: {known})")
        return run_id

    def run_info(self, run_id: str | None = None) -> dict[str, Any]:
        """A run's metadata as a dict (providers as {name: base_url}, options as given)."""
        run_id = self._run_id(run_id)
        cursor = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        info = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
        info["providers"] = json.loads(info["providers"] or "{}")
        info["options"] = json.loads(info["options"] or "{}")
        return info

    def results(self, run_id: str | None = None) -> pd.DataFrame:
        """The results frame of the latest (or given) run, as far as it got."""
        from cardkit.engine.results import results_frame

        run_id = self._run_id(run_id)
        self.flush(force=True)
        rows = self._db.execute(
            f"SELECT {', '.join(_RESULT_FIELDS)}, state FROM ops WHERE run_id = ? ORDER BY seq", (run_id,)
        ).fetchall()
        records = []
        for values in rows:
            record = dict(zip(_RESULT_FIELDS, values[:-1]))
            if values[-1] != "done":        # the process ended before this one finished
                record["status"] = "skipped"
                record["message"] = ("the run stopped while this was being sent — run again with the "
                                     "same journal to check it and finish"
                                     if values[-1] == "sending" else "the run stopped before it ran")
            record["run_id"] = run_id
            records.append(record)
        return results_frame(records)

    def inputs(self, run_id: str | None = None) -> pd.DataFrame:
        """The user's input rows of a run, under their own headers, with `row` first."""
        run_id = self._run_id(run_id)
        rows = self._db.execute("SELECT row, data FROM inputs WHERE run_id = ? ORDER BY row", (run_id,))
        records = [{"row": row, **json.loads(data)} for row, data in rows]
        frame = pd.DataFrame.from_records(records)
        if frame.empty:
            frame = pd.DataFrame({"row": pd.Series([], dtype="int64")})
        return frame

    def cards(self, run_id: str | None = None, *, only_unfinished: bool = False) -> pd.DataFrame:
        """The validated card rows a run used (canonical columns, `row` first), one per card.

        With `only_unfinished`, only the cards with an operation that did not end applied,
        unchanged or invalid — what `retry` sends again."""
        run_id = self._run_id(run_id)
        query = "SELECT row, card, provider, status, state FROM ops WHERE run_id = ? ORDER BY seq"
        seen: dict[int, dict[str, Any]] = {}
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

    def start_run(self, run_id: str, meta: Mapping[str, Any], inputs: Iterable[tuple[int, dict]] = ()) -> None:
        """Record a new run and its input rows (committed at once)."""
        kinds = {k for (k,) in self._db.execute("SELECT DISTINCT kind FROM runs")}
        if kinds and meta["kind"] not in kinds:
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

    def add_ops(self, run_id: str, ops: Iterable[tuple[int, int, str, str, str, str, dict]]) -> None:
        """Record the run's operations as pending:
        (seq, row, number, provider, base_url, desired, card columns)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO ops (run_id, seq, row, number, provider, base_url, desired, card, state, "
                "attempts) VALUES (?,?,?,?,?,?,?,?, 'pending', 0)",
                ((run_id, seq, row, number, provider, base_url, desired, json.dumps(card, default=str))
                 for seq, row, number, provider, base_url, desired, card in ops),
            )

    def sending(self, run_id: str, seq: int, started_at: str) -> None:
        """Mark an operation as being sent (before its request goes out)."""
        self._queue("UPDATE ops SET state='sending', started_at=? WHERE run_id=? AND seq=?",
                    (started_at, run_id, seq))

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

    def finish_run(self, run_id: str, finished_at: str) -> None:
        """Stamp the run finished and commit everything buffered."""
        self._queue("UPDATE runs SET finished_at=? WHERE run_id=?", (finished_at, run_id))
        self.flush(force=True)

    def _queue(self, sql: str, params: tuple[Any, ...]) -> None:
        self._pending.append((sql, params))
        if len(self._pending) >= _FLUSH_EVERY or time.monotonic() - self._last_commit >= _FLUSH_AFTER:
            self.flush(force=True)

    def flush(self, force: bool = False) -> None:
        """Commit buffered changes (in order, in one transaction)."""
        if not self._pending or not (force or len(self._pending) >= _FLUSH_EVERY):
            return
        pending, self._pending = self._pending, []
        try:
            with self._db:
                self._db.execute("BEGIN")
                # consecutive statements of the same kind go in one executemany
                start = 0
                for end in range(1, len(pending) + 1):
                    if end == len(pending) or pending[end][0] != pending[start][0]:
                        self._db.executemany(pending[start][0], [p for _, p in pending[start:end]])
                        start = end
        except sqlite3.Error as exc:
            raise JournalError(f"journal {str(self.path)!r} can't be written ({exc}) — check the disk "
                               "space and permissions, then run again with the same journal") from None
        self._last_commit = time.monotonic()

    # ---- what earlier runs did (resume) -------------------------------------------------------

    def applied(self, base_urls: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, str]]:
        """(provider, number) → (desired, run_id) of the latest confirmed state of each target.

        `base_urls` ({provider: base URL}) keeps a rehearsal against a sandbox from counting as
        applied at the real provider."""
        found: dict[tuple[str, str], tuple[str, str]] = {}
        for name, url in base_urls.items():
            rows = self._db.execute(
                "SELECT o.number, o.desired, o.run_id FROM ops o JOIN runs r USING (run_id) "
                "WHERE o.provider=? AND o.base_url=? AND o.state='done' "
                "AND o.status IN ('applied','unchanged') AND r.dry_run = 0 ORDER BY o.finished_at",
                (name, url))
            for number, desired, run_id in rows:
                found[(name, number)] = (desired, run_id)
        return found

    def in_doubt(self, base_urls: Mapping[str, str]) -> dict[tuple[str, str], str]:
        """(provider, number) → run_id of writes a stopped run left *sending* (outcome unknown)."""
        found: dict[tuple[str, str], str] = {}
        for name, url in base_urls.items():
            rows = self._db.execute(
                "SELECT number, run_id FROM ops WHERE provider=? AND base_url=? AND state='sending'",
                (name, url))
            for number, run_id in rows:
                found[(name, number)] = run_id
        return found

    def recent_writes(self, provider: str, base_url: str, window: float) -> dict[str, list[float]]:
        """number → ages in seconds of the writes sent to it within the last `window` seconds."""
        now = time.time()
        rows = self._db.execute("SELECT number, at FROM writes WHERE provider=? AND base_url=? AND at > ?",
                                (provider, base_url, now - window))
        ages: dict[str, list[float]] = {}
        for number, at in rows:
            ages.setdefault(number, []).append(now - at)
        return ages
