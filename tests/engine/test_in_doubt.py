"""Writes in doubt, in process against the real sandbox: the *sending* mark is committed before a
write leaves, one run owns a journal at a time, and a write a stopped run left without an
outcome is resolved on resume by reading back and comparing with the before-state — never
sent twice where the provider can tell."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading

import httpx
import pytest
from PIL import Image

import cardkit
from cardkit.engine import Journal
from cardkit.errors import JournalError
from cardkit.sandbox import Sandbox

from .conftest import BLOOIO, BLOOIO_2, LINQ, SENDBLUE, SENDBLUE_2, cards_of, writes

_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _is_card_write(request: httpx.Request) -> bool:
    return request.method in _WRITES and "/_sandbox/media" not in request.url.path


class _Observed(httpx.AsyncBaseTransport):
    """The sandbox's own transport, with a look at each request before it is forwarded.

    Not a mock: every request reaches the real in-process sandbox. `before(request)` runs first
    and may return an awaitable to hold the request there (what a reply lost on the wire, or a
    process stopped mid-request, looks like from the journal's side)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, before, after=None) -> None:
        self.inner, self.before, self.after = inner, before, after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.before(request)
        response = await self.inner.handle_async_request(request)
        if self.after is not None:
            await self.after(request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Watched(Sandbox):
    """A real Sandbox whose transport lets the test look at requests (see `_Observed`)."""

    def __init__(self, *args, before=lambda request: None, after=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._before, self._after = before, after

    def transport(self) -> httpx.AsyncBaseTransport:
        return _Observed(super().transport(), self._before, self._after)


def _marked(journal_path) -> int:
    """Operations the journal file *on disk* (a second connection) shows as sent or being sent."""
    db = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM ops WHERE state='sending' OR (state='done' AND "
                          "action IN ('create','update','replace'))").fetchone()[0]
    finally:
        db.close()


def _photo(tmp_path, name="face.jpg", colour=(10, 90, 200)):
    Image.new("RGB", (300, 300), colour).save(tmp_path / name, "JPEG")
    return name


def test_every_write_leaves_only_after_its_sending_mark_is_committed(tmp_path):
    """At each write request the sandbox receives, a second connection to the journal file already
    sees at least as many operations marked sending as writes have left (group commit)."""
    journal = tmp_path / "cards.journal.sqlite"
    seen: list[tuple[int, int]] = []

    def check(request: httpx.Request) -> None:
        if _is_card_write(request):
            seen.append((len(seen) + 1, _marked(journal)))

    box = _Watched(before=check)
    photo = _photo(tmp_path)
    rows = [{"Phone": n, "First Name": f"F{i}", "Last Name": "Mark", "Photo": photo}
            for i, n in enumerate([BLOOIO, BLOOIO_2, SENDBLUE, SENDBLUE_2, LINQ])]
    results = cardkit.apply(cards_of(rows, tmp_path), sandbox=box, journal=journal, progress=False,
                            max_at_once=8)
    assert set(results["status"]) == {"applied"}, results[["status", "message"]]
    assert len(seen) >= 5
    assert all(marked >= sent for sent, marked in seen), seen


def _stop_after_sendblue_write(stop: threading.Event):
    """`after`: once a Sendblue profile write has landed, stop the run and never answer it."""

    async def after(request: httpx.Request) -> None:
        if _is_card_write(request) and "contact-sharing/profile" in request.url.path:
            stop.set()
            await asyncio.sleep(3600)          # the reply never comes back: the run is stopped

    return after


def _run_stopped_mid_write(tmp_path, rows, journal, box: _Watched | None = None) -> _Watched:
    """Apply `rows` until the Sendblue write has landed, then stop (cancel) with it unanswered."""
    stop = threading.Event()
    box = box if box is not None else _Watched()
    box._after = _stop_after_sendblue_write(stop)
    results = cardkit.apply(cards_of(rows, tmp_path), sandbox=box, journal=journal, progress=False,
                            cancel=stop)
    row = results[results["provider"] == "sendblue"].iloc[0]
    assert row["status"] == "skipped" and "being sent" in row["message"], row.to_dict()
    return box


def test_a_sendblue_write_left_in_doubt_whose_names_landed_is_not_sent_again(tmp_path):
    """A run stopped after its Sendblue write landed but before the reply: the resume reads the
    names back, sees them changed from the recorded before-state to the sheet's, and sends nothing."""
    journal = tmp_path / "cards.journal.sqlite"
    rows = [{"Phone": SENDBLUE, "First Name": "Zoë", "Last Name": "Doubt", "Photo": _photo(tmp_path)}]
    box = _run_stopped_mid_write(tmp_path, rows, journal)
    assert writes(box, "sendblue") == {SENDBLUE: 1}
    with Journal(journal) as opened:
        before = opened._db.execute("SELECT before_state FROM ops WHERE state='sending'").fetchone()[0]
    assert '"exists": false' in before

    resumed = cardkit.apply(cards_of(rows, tmp_path), sandbox=_as_resumed(box), journal=journal, progress=False)
    row = resumed.iloc[0]
    assert row["status"] == "unchanged", row.to_dict()
    assert "had landed" in row["message"]
    assert writes(box, "sendblue") == {SENDBLUE: 1}


def test_a_sendblue_write_in_doubt_that_cannot_be_told_is_resent_and_the_row_says_so(tmp_path):
    """Same names as before, only a new photo (which Sendblue never returns): nothing can tell
    whether the write landed, so it is sent again and that row's message says it may be twice."""
    journal = tmp_path / "cards.journal.sqlite"
    first = [{"Phone": SENDBLUE, "First Name": "Ana", "Last Name": "Same", "Photo": _photo(tmp_path)}]
    box = _Watched()
    assert set(cardkit.apply(cards_of(first, tmp_path), sandbox=box, journal=journal,
                             progress=False)["status"]) == {"applied"}
    second = [{**first[0], "Photo": _photo(tmp_path, "other.jpg", (200, 30, 30))}]
    stopped = _run_stopped_mid_write(tmp_path, second, journal, box)
    assert writes(stopped, "sendblue") == {SENDBLUE: 2}

    resumed = cardkit.apply(cards_of(second, tmp_path), sandbox=_as_resumed(stopped), journal=journal,
                            progress=False)
    row = resumed.iloc[0]
    assert row["status"] == "applied"
    assert "may have been written twice" in row["message"]
    assert writes(stopped, "sendblue") == {SENDBLUE: 3}


def test_a_create_whose_connection_broke_before_it_landed_is_resent_without_a_twice_note(tmp_path):
    """A Linq create whose connection broke on the way out: the read back finds no card at all,
    so the provider *did* tell — it had not landed. Sent again as a plain create, one write, and
    no "may have been written twice" on the row (every such row in the goodput run said it)."""
    broke: list[httpx.Request] = []

    def break_first_write(request: httpx.Request) -> None:
        if _is_card_write(request) and not broke:
            broke.append(request)
            raise httpx.RemoteProtocolError("the connection closed", request=request)

    box = _Watched(before=break_first_write)
    rows = [{"Phone": LINQ, "First Name": "Lin", "Last Name": "Fresh"}]
    row = cardkit.apply(cards_of(rows, tmp_path), sandbox=box, journal=tmp_path / "cards.journal.sqlite",
                        progress=False).iloc[0]
    assert broke and (row["status"], row["action"], row["attempts"]) == ("applied", "create", 2), row.to_dict()
    assert "twice" not in row["message"]
    assert writes(box, "linq") == {LINQ: 1}


def _as_resumed(box: _Watched) -> _Watched:
    """The same sandbox state, without the stop-after-write hook (the next run of the process)."""
    box._after = None
    return box


def test_a_second_run_on_a_journal_in_use_fails_at_once_naming_the_first(tmp_path):
    """While a run holds a journal, another run on it fails with the holder's pid, and sends nothing."""
    journal = tmp_path / "cards.journal.sqlite"
    box = Sandbox()
    rows = [{"Phone": BLOOIO, "First Name": "Lock", "Last Name": "Held"}]
    holder = Journal(journal, lock=True)
    try:
        with pytest.raises(JournalError, match=rf"in use by another cardkit run \(pid {os.getpid()}, started "):
            cardkit.apply(cards_of(rows, tmp_path), sandbox=box, journal=journal, progress=False)
    finally:
        holder.close()
    assert writes(box, "blooio") == {}
    done = cardkit.apply(cards_of(rows, tmp_path), sandbox=box, journal=journal, progress=False)
    assert list(done["status"]) == ["applied"]       # the lock went with the holder


def test_a_failed_commit_keeps_its_marks_and_no_write_leaves_unjournaled(tmp_path):
    """A commit that fails (another connection takes the journal's write lock as the first write
    leaves) stops the run with one line before the next write; the resume sends each card once.
    (A real full disk: tests/reliability/test_journal_faults.py.)"""
    journal = tmp_path / "cards.journal.sqlite"
    failed = threading.Event()

    def break_journal(request: httpx.Request) -> None:
        if _is_card_write(request) and not failed.is_set():
            failed.set()
            # a real failure of the journal's next write: another connection holds the write lock
            locker = sqlite3.connect(journal, timeout=0, isolation_level=None)
            locker.execute("BEGIN IMMEDIATE")
            _held.append(locker)

    _held: list[sqlite3.Connection] = []
    box = _Watched(before=break_journal)
    rows = [{"Phone": n, "First Name": f"F{i}", "Last Name": "Full"} for i, n in enumerate([BLOOIO, BLOOIO_2])]
    try:
        with pytest.raises(JournalError, match="can't be written"):
            cardkit.apply(cards_of(rows, tmp_path), sandbox=box, journal=journal, progress=False,
                          max_at_once=1)
    finally:
        for locker in _held:
            locker.rollback()
            locker.close()
    assert writes(box, "blooio") == {BLOOIO: 1}         # the second write never left
    box._before = lambda request: None
    resumed = cardkit.apply(cards_of(rows, tmp_path), sandbox=box, journal=journal, progress=False)
    assert set(resumed["status"]) <= {"applied", "unchanged"}
    assert writes(box, "blooio") == {BLOOIO: 1, BLOOIO_2: 1}
