"""One run: validate → route → prepare photos → resume from the journal → workers → results.

`Run` holds the whole state of one plan or apply, so that whatever ends it — completion, the
`cancel` event, Ctrl-C / a kernel interrupt (a cancellation) — the same wind-down runs: workers
stopped, unfinished operations marked `skipped`, the journal committed, and the results frame
built from what happened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import time
import uuid
from collections.abc import Awaitable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from cardkit.engine import doubt, events as ev, feedback, routing
from cardkit.engine.changes import expanded
from cardkit.engine.journal import Journal
from cardkit.engine.limits import WriteBudget
from cardkit.engine.lookups import discover
from cardkit.engine.operations import Op, PhotoShop, build_card, card_fields, parse_sharing
from cardkit.engine.options import RunOptions
from cardkit.engine.progress import ProgressBar, visible as progress_visible

# the two messages an interrupted run leaves (results.interruption() recognises them)
from cardkit.engine.results import (
    CANCELLED_IN_FLIGHT as _CANCELLED_IN_FLIGHT,
    NOT_STARTED as _CANCELLED,
    ResultsFrame,
    results_frame_of,
)
from cardkit.engine.retry_policy import RetryPolicy
from cardkit.engine.sharing import idempotency_key
from cardkit.engine.workers import GIVE_UP_REMEDY, Hooks, Pool, iso, now_iso
from cardkit.errors import InputError
from cardkit.providers.base import Card
from cardkit.urls import local_origins
from cardkit.vocabulary import Action, RowAction, Status, marker

_BUILD_CHUNK = 500


@runtime_checkable
class Batch(Protocol):
    """Another kind of batch for the engine to run (the default is contact cards).

    Give one as `Run(..., batch=...)`: the run then asks it for its operations instead of
    building card operations, and routes by ownership only if `routes` is true. Everything
    else — pools, limits, retries, journal, resume, results — is the same. The operations'
    `card` is whatever the providers' `read`/`change`/`write` take (for `cardkit.contacts`,
    a Contact for `SendblueContacts`); `seq` is set by the run.
    """

    kind: str        # the journal's and results' name for it ("contacts")
    routes: bool     # whether rows are routed by which provider owns the number

    async def operations(self, validated: pd.DataFrame, setup: routing.Setup) -> Iterable[Op]:
        """The operations for the validated rows (invalid rows as finished `invalid` ops)."""


class Run:
    """The state of one plan/apply run. Create it, then `await execute()`.

    Cards by default; another batch kind (`Batch`) reuses the whole machinery through
    `batch=` — `cardkit.contacts` does, for Sendblue contact records."""

    def __init__(self, cards: Any, options: RunOptions | None = None, *, batch: Batch | None = None,
                 as_written: pd.DataFrame | None = None) -> None:
        self.cards = cards
        self.options = options = options if options is not None else RunOptions()
        self.write = options.write
        self.photo_host = (options.photo_host if options.photo_host is not None
                           else os.environ.get("CARDKIT_PHOTO_HOST") or None)
        self.photo_base_url = options.photo_base_url or os.environ.get("CARDKIT_PHOTO_BASE_URL") or None
        self.policy = RetryPolicy(max_attempts=options.max_attempts)
        # the faces' subscribers, and the tqdm bar (itself a subscriber) when asked for and someone
        # can see it: with neither, no event is even built
        self._emit = ev.fan_out([ProgressBar() if options.progress and progress_visible() else None,
                                 options.events])
        self.batch = batch
        self.kind = batch.kind if batch is not None else "cards"
        # the user's own rows to journal (user headers, `row` column or index), when `cards`
        # is not what they wrote — a retry passes the first run's; None: derive from `cards`
        self.as_written = as_written
        self.run_id = uuid.uuid4().hex[:12]
        self.ops: list[Op] = []
        self.journal: Journal | None = None
        self.pools: dict[str, Pool] = {}
        self._started = False
        self._results: ResultsFrame | None = None
        self._journal_started = False
        self._base_urls: dict[str, str] = {}      # provider → base URL (journal keys)
        self._remembered: Path | None = None      # the journal a fed-back report names
        self.interrupted = False                  # Ctrl-C, SIGTERM/SIGHUP, a kernel interrupt

    # ---- the whole run ------------------------------------------------------------------------

    async def execute(self) -> ResultsFrame:
        """Run to the end (or until cancelled) and return the results frame."""
        cards = _read(self.cards)
        # a report fed back finds its journal itself, and its rows are checked against the whole
        # original run (a duplicate of a row already applied stays a duplicate)
        self._remembered = feedback.remembered_journal(cards) if self.options.journal is None else None
        given = self.options.journal if isinstance(self.options.journal, (str, os.PathLike)) else None
        validated = _validated(feedback.with_original_run(cards, given or self._remembered), self.options.region,
                               self.options.accounts)
        setup = routing.setup(self.options.providers, sandbox=self.options.sandbox, photo_host=self.photo_host,
                              photo_base_url=self.photo_base_url, accounts=self.options.accounts)
        photos = PhotoShop(photo_host=setup.photo_host, transport=setup.transport,
                           allow_private=local_origins(setup.base_urls().values()))  # the sandbox's media
        self.journal = self._open_journal(validated, setup)
        self._recall_plans(validated, setup)
        try:
            await asyncio.sleep(0)      # a Ctrl-C during the (synchronous) set-up lands here
            self.pools = {name: self._pool(provider, setup, photos) for name, provider in setup.providers.items()}
            await self._discover(validated, setup)
            await self._build_ops(validated, setup, photos)
            self._resume()
            self._start_journal(validated, setup)
            await self._run_pools()
        except asyncio.CancelledError:
            self.interrupted = True
            raise
        finally:
            await self._wind_down(photos)
        return self.partial_results()

    def partial_results(self) -> ResultsFrame:
        """The results frame as far as the run got (unfinished operations `skipped`)."""
        if self._results is None:
            # the operations are handed over to the frame, each let go once its row is read
            ops: list[Op | None] = list(self.ops)
            self.ops = []
            self._results = results_frame_of(_columns(ops, self.run_id), len(ops))
            self._results.attrs["cardkit"] = {
                "run_id": self.run_id, "kind": self.kind, "dry_run": not self.write,
                "journal": str(self.journal.path) if self.journal is not None else None,
                "interrupted": self.interrupted}
        return self._results

    # ---- steps --------------------------------------------------------------------------------

    def _pool(self, provider: Any, setup: routing.Setup, photos: PhotoShop | None = None) -> Pool:
        target = getattr(self.batch, "target", None)
        if target is not None:          # a batch kind that drives its own target per account
            provider = target(provider)
        limits = provider.limits
        budget = None
        if self.write and limits.writes_per_window and limits.window_seconds:
            budget = WriteBudget(limits.writes_per_window, limits.window_seconds)
        options = self.options
        return Pool(provider, size=options.max_at_once or limits.max_at_once, transport=setup.transport,
                    per_second=options.max_per_second or limits.max_per_second, policy=self.policy,
                    hooks=Hooks(self._on_sending, self._on_wrote, self._on_finished,
                                retried=self._on_retried if self._emit else None,
                                waiting=self._on_waiting if self._emit else None,
                                before_write=photos.complete if photos is not None else None,
                                photo_alias=self._on_photo_alias if self.journal is not None else None,
                                refunded=self._on_refunded if self.journal is not None else None),
                    write=self.write, read_first=options.read_first, budget=budget, deadline=options.timeout,
                    remedy=getattr(self.batch, "remedy", GIVE_UP_REMEDY))

    async def _discover(self, validated: pd.DataFrame, setup: routing.Setup) -> None:
        """Ask each provider for its numbers when some row must be routed by ownership."""
        if self.batch is not None and not self.batch.routes:
            return
        cells = validated["provider"] if "provider" in validated.columns else pd.Series([""] * len(validated))
        if not routing.needs_discovery(setup, cells.astype(object).fillna("").astype(str)):
            return

        await discover(setup, lambda name: self.pools[name].connection(), self.policy)

    async def _build_ops(self, validated: pd.DataFrame, setup: routing.Setup, photos: PhotoShop) -> None:
        """One Op per row × provider; cards built (photos prepared) for the valid ones."""
        if self.batch is not None:
            self.ops = list(await self.batch.operations(validated, setup))
            for seq, op in enumerate(self.ops):
                op.seq = seq
                op.account = op.account or op.provider_name
                if op.idempotency_key:
                    # stable for this run, row and chat; a resumed run takes the journal's (_resume)
                    self._set_key(op, idempotency_key(self.run_id, op.row, op.chat))
            return
        has_valid = "valid" in validated.columns
        pending: list[tuple[Op, dict[str, str], Any]] = []
        first_seen: dict[tuple[str, str], int] = {}
        columns = list(validated.columns)
        for values in validated.itertuples(index=False, name=None):
            row = dict(zip(columns, values))
            fields = card_fields(row)
            number = fields["number"].strip()
            names, why = routing.route(fields["provider"], number, setup)
            problems = str(row.get("problems") or "") if has_valid else ""
            valid = bool(row.get("valid")) if has_valid else True
            row_number = int(row["row"])
            record = _journal_text(fields)    # kept as the journal's text: a dict per row costs 3×
            for name in names or [fields["provider"].strip().lower()]:
                adapter = setup.providers.get(name)
                op = Op(seq=len(self.ops), row=row_number, number=number, provider=adapter,
                        provider_name=adapter.name if adapter is not None else name, account=name,
                        record=record)
                self.ops.append(op)
                if not valid:
                    op.finish(Status.INVALID, problems or "the row did not pass validation", action=Action.NONE)
                elif why:
                    op.finish(Status.INVALID, why, action=Action.NONE)
                else:
                    sharing, sharing_problem = parse_sharing(fields)
                    earlier = first_seen.setdefault((name, number), row_number)
                    if sharing_problem:
                        op.finish(Status.INVALID, sharing_problem, action=Action.NONE)
                    elif fields.get("action") == RowAction.KEEP and _gives_card(fields):
                        op.finish(Status.INVALID, "action is keep, yet the row gives a card — write set in "
                                  "the action column to apply it, or empty its cells", action=Action.NONE)
                    elif fields.get("action") == RowAction.KEEP:
                        op.finish(Status.UNCHANGED, "action keep: the card is left as it is, nothing sent",
                                  action=Action.UNCHANGED)
                    elif earlier != row_number:
                        op.finish(Status.SKIPPED, f"row {earlier} has the same number for {name}: only "
                                  "its card is applied — remove one of the two rows", action=Action.NONE)
                    else:
                        pending.append((op, fields, sharing))
        limit = self.options.limit
        if limit is not None:
            trial: set[int] = set()
            kept: list[tuple[Op, dict[str, str], Any]] = []
            for item in pending:
                op = item[0]
                if op.row in trial or len(trial) < limit:
                    trial.add(op.row)
                    kept.append(item)
                else:
                    op.finish(Status.SKIPPED, f"not in this trial batch (the first {limit} valid rows) — run "
                              "again without --limit (limit=) to go on; the journal knows what was done",
                              action=Action.NONE)
            pending = kept
        label = str((validated.attrs.get("cardkit") or {}).get("headers", {}).get("photo") or "photo").strip()
        while pending:         # each chunk let go of once built: its rows' dicts are not needed again
            chunk, pending[:_BUILD_CHUNK] = pending[:_BUILD_CHUNK], []
            await asyncio.gather(*(build_card(op, fields, sharing, photos, label) for op, fields, sharing in chunk))

    def _resume(self) -> None:
        """Skip what earlier runs applied with the same desired state; flag writes left in doubt."""
        if self.journal is None:
            return
        if self.batch is None:
            self._add_photo_aliases(self.journal.photo_aliases(self._base_urls))
        if not self.write:
            return
        applied = self.journal.applied(self._base_urls) if self.options.resume else {}
        in_doubt = self.journal.in_doubt(self._base_urls)
        keys = self.journal.idempotency_keys(self._base_urls)
        for op in self.ops:
            if op.status or op.card is None:
                continue
            key = op.target
            if op.idempotency_key and (key, op.desired) in keys:
                # an earlier run sent (or may have sent) this very message: send it again, if at
                # all, under the same key, so that the provider can refuse a second copy
                self._set_key(op, keys[(key, op.desired)])
            done = applied.get(key)
            if done is not None and done[0] == op.desired:
                op.finish(Status.UNCHANGED, f"already applied in run {done[1]}", action=Action.UNCHANGED)
            elif key in in_doubt and in_doubt[key][1] == op.desired:
                # the same card's write was left without an outcome: read back and compare with
                # the card as it was before that write (doubt.py) before anything is sent again
                op.in_doubt_run = in_doubt[key][0]
                op.before = doubt.before_from_json(in_doubt[key][2])
                if hasattr(op.card, "in_doubt"):     # a share: its target decides what a refusal means
                    op.card.in_doubt = True  # type: ignore[union-attr]
        for name, pool in self.pools.items():
            if pool.budget is not None:
                for number, ages in self.journal.recent_writes(pool.provider.name, self._base_urls[name],
                                                                pool.budget.window).items():
                    pool.budget.preload(number, ages)

    @staticmethod
    def _set_key(op: Op, key: str) -> None:
        """Give an operation (and the item its target sends) its idempotency key."""
        op.idempotency_key = key
        if hasattr(op.card, "idempotency_key"):
            op.card.idempotency_key = key  # type: ignore[union-attr]

    async def _run_pools(self) -> None:
        todo = [op for op in self.ops if not op.status]
        self._start_events(pending=len(todo))
        by_provider: dict[str, list[Op]] = {}
        for op in todo:
            by_provider.setdefault(op.account, []).append(op)
        active = []
        for name, ops in by_provider.items():
            pool = self.pools[name]
            pool.size = min(pool.size, len(ops))
            pool.start()
            for op in ops:
                pool.put(op)
            active.append(pool)
        waiting = asyncio.ensure_future(asyncio.gather(*(p.join() for p in active)))
        try:
            while not waiting.done():
                if self.options.cancel is not None and self.options.cancel.is_set():
                    break
                await asyncio.wait([waiting], timeout=0.2)
                if self.journal is not None:
                    self.journal.commit_soon()     # the ~200 ms commit, in the journal's thread
        finally:
            waiting.cancel()
            waiting.add_done_callback(_retrieve)
        for pool in active:
            if pool.crashed is not None:
                raise pool.crashed

    async def _wind_down(self, photos: PhotoShop) -> None:
        """Stop workers, mark what never finished, commit the journal, close everything."""
        for pool in self.pools.values():
            await pool.stop()
        for op in self.ops:
            if op.status:
                continue
            if op.sent:
                # its write may have landed: the journal keeps it *sending*, so that the next run
                # with this journal reads it back before anything is sent again
                op.finish(Status.SKIPPED, _CANCELLED_IN_FLIGHT)
            else:
                op.finish(Status.SKIPPED, _CANCELLED)
                self._on_finished(op)
        self._end_events()
        await photos.close()
        if self.journal is not None:
            try:
                if self._journal_started:
                    self._remember_plans()
                    self.journal.finish_run(self.run_id, now_iso())
            finally:
                self.journal.close()

    # ---- journal ------------------------------------------------------------------------------

    def _open_journal(self, validated: pd.DataFrame, setup: routing.Setup) -> Journal | None:
        self._base_urls = setup.base_urls()
        path = self.options.journal
        if path is False:
            return None
        if path is None and self._remembered is not None:
            return Journal(self._remembered)
        if path is None or path is True:
            source = validated.attrs.get("cardkit", {}).get("source")
            # no journal by default for the in-process sandbox: its state dies with the process
            if not source or setup.sandbox is not None or (path is None and not self.write):
                return None
            path = Path(source).with_suffix(".journal.sqlite")
        return Journal(path, lock=True)

    def _recall_plans(self, validated: pd.DataFrame, setup: routing.Setup) -> None:
        """Tell the adapters which numbers' plans refused fields in earlier runs of this journal
        (Blooio's standard plans: name and photo), so plan knows before anything is written. A
        plan without a journal of its own peeks, read-only, into the journal apply would use."""
        knowing = {name: p for name, p in setup.providers.items() if hasattr(p, "know_plans")}
        if not knowing:
            return
        journal, peeked = self.journal, None
        if journal is None:
            path = self._journal_path(validated, setup)
            if path is None or not Path(path).is_file():
                return
            try:
                journal = peeked = Journal(path, readonly=True)
            except Exception:  # noqa: BLE001 — only a hint: an unreadable journal is apply's to report
                return
        try:
            for name, provider in knowing.items():
                provider.know_plans(journal.plan_refusals(provider.name, self._base_urls.get(name, "")))
        except Exception:  # noqa: BLE001 — as above
            pass
        finally:
            if peeked is not None:
                peeked.close()

    def _remember_plans(self) -> None:
        """Journal what this run learned of numbers' plans (a Blooio 403 on name/photo)."""
        assert self.journal is not None
        for name, pool in self.pools.items():
            for number, plan in (getattr(pool.provider, "learned_plans", None) or {}).items():
                self.journal.plan_refused(pool.provider.name, self._base_urls.get(name, ""), number, plan,
                                          self.run_id, now_iso())

    def _journal_path(self, validated: pd.DataFrame, setup: routing.Setup) -> Path | None:
        """The journal an apply of these cards would use (given, remembered, or beside the sheet)."""
        path = self.options.journal
        if isinstance(path, (str, os.PathLike)):
            return Path(path)
        if path is False:
            return None
        if self._remembered is not None:
            return self._remembered
        source = validated.attrs.get("cardkit", {}).get("source")
        if not source or setup.sandbox is not None:
            return None
        return Path(source).with_suffix(".journal.sqlite")

    def _start_journal(self, validated: pd.DataFrame, setup: routing.Setup) -> None:
        if self.journal is None:
            return
        from cardkit import __version__

        info = validated.attrs.get("cardkit", {})
        meta = {
            "started_at": now_iso(), "source": info.get("source"), "sha256": info.get("sha256"),
            "cardkit_version": __version__, "kind": self.kind, "dry_run": not self.write,
            "providers": self._base_urls,
            "options": self.options.recorded(),
        }
        self.journal.start_run(self.run_id, meta, _as_written_rows(validated, self.as_written))
        self.journal.add_ops(self.run_id, (
            (op.seq, op.row, op.number, op.provider_name, self._base_urls.get(op.account, ""),
             op.desired, op.record, op.account, op.chat, op.idempotency_key) for op in self.ops))
        self._journal_started = True
        for op in self.ops:
            op.record = op.desired = ""       # the journal has them; resuming is decided
            if op.status:
                self.journal.done(self.run_id, op.seq, _record(op, self.run_id))

    def _on_sending(self, op: Op) -> Awaitable[None] | None:
        """Mark the write *sending* with its before-state; the run awaits the commit."""
        if self.journal is None:
            return None
        before = doubt.before_json(op.before) if op.before is not None else None
        if op.before is not None and op.before.photo_bytes:     # for undo: Blooio returns the bytes
            self.journal.keep_photo(str(op.before.fields.get("photo") or ""), op.before.photo_bytes)
        return self.journal.mark_sending(self.run_id, op.seq, iso(op.started_at) or now_iso(), before)

    def _add_photo_aliases(self, aliases: dict[tuple[str, str], set[str]]) -> None:
        """Photos the provider re-encoded in earlier runs count as the photo sent (photo sameness)."""
        for op in self.ops:
            card = op.card
            if isinstance(card, Card) and card.photo_digest and (op.provider_name, card.photo_digest) in aliases:
                op.card = dataclasses.replace(card, photo_aliases=card.photo_aliases
                                              | aliases[(op.provider_name, card.photo_digest)])

    def _on_photo_alias(self, op: Op, sent: str, returned: str) -> None:
        if self.journal is not None:
            self.journal.photo_alias(op.provider_name, self._base_urls[op.provider_name], sent, returned)

    def _on_wrote(self, op: Op) -> None:
        if self.journal is not None:
            self.journal.wrote(op.provider_name, self._base_urls[op.account], op.number)

    def _on_refunded(self, op: Op) -> None:
        if self.journal is not None:
            self.journal.unwrote(op.provider_name, self._base_urls[op.account], op.number)

    def _on_finished(self, op: Op) -> None:
        op.finished_at = time.time()
        if op.card is not None and getattr(op.card, "photo_bytes", None) is not None:
            op.card = dataclasses.replace(op.card, photo_bytes=None)   # sent: don't hold ~1 MB per row
        if self.journal is not None and self._journal_started:
            self.journal.done(self.run_id, op.seq, _record(op, self.run_id))
        if self._emit is not None and self._started:
            self._emit(ev.Finished(_record(op, self.run_id)))

    # ---- events for the faces (`cardkit.engine.events`) ---------------------------------------

    def _start_events(self, pending: int) -> None:
        """`Started`, then `Finished` for what was decided before any request."""
        self._started = True
        if self._emit is None:
            return
        self._emit(ev.Started(run_id=self.run_id, kind=self.kind, write=self.write, total=len(self.ops),
                              pending=pending, providers=tuple(self.pools)))
        for op in self.ops:
            if op.status:
                self._emit(ev.Finished(_record(op, self.run_id)))

    def _end_events(self) -> None:
        if self._emit is None or not self._started:
            return
        counts: dict[str, int] = {}
        for op in self.ops:
            status = str(op.status or Status.SKIPPED)
            counts[status] = counts.get(status, 0) + 1
        cancelled = any(op.message in (_CANCELLED, _CANCELLED_IN_FLIGHT) for op in self.ops)
        self._emit(ev.Done(run_id=self.run_id, counts=counts, cancelled=cancelled,
                           results=self.partial_results()))

    def _on_retried(self, op: Op, attempt: int, why: str, delay: float, retry_after: bool) -> None:
        assert self._emit is not None
        until = ev.after(delay)
        self._emit(ev.Retried(row=op.row, number=op.number, provider=op.provider_name, attempt=attempt,
                              why=why, next_at=until, http_status=op.http_status, error_code=op.error_code))
        self._emit(ev.Waiting(row=op.row, number=op.number, provider=op.provider_name, until=until,
                              reason="retry-after" if retry_after else "backoff", message=op.message))

    def _on_waiting(self, op: Op, delay: float) -> None:
        """A write waits for the number's budget (Linq: 3 writes per 10 minutes)."""
        assert self._emit is not None
        self._emit(ev.Waiting(row=op.row, number=op.number, provider=op.provider_name,
                              until=ev.after(delay), reason="budget", message=op.message))


def _gives_card(fields: dict[str, str]) -> bool:
    """Whether a row's cells ask for a card (a name or a photo that is not a marker)."""
    return any(fields.get(c, "").strip() and not marker(fields.get(c))
               for c in ("first_name", "last_name", "photo"))


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Collect a finished helper future's outcome so asyncio doesn't log it as lost."""
    if not future.cancelled():
        future.exception()


def _journal_text(fields: dict[str, Any]) -> str:
    """A row's card columns as the journal keeps them (JSON)."""
    return json.dumps(fields, default=str)


def _outcome(op: Op) -> tuple[str, str]:
    """An operation's status and message; one the run did not finish reads `skipped`, saying
    whether its write may have been sent."""
    if op.status:
        return op.status, op.message
    return Status.SKIPPED.value, _CANCELLED_IN_FLIGHT if op.sent else _CANCELLED


def _record(op: Op, run_id: str) -> dict[str, Any]:
    status, message = _outcome(op)
    return {
        # plain text (a StrEnum member would ride along in the frame as itself)
        "row": op.row, "number": op.number, "provider": op.provider_name,
        "account": op.account or op.provider_name, "chat": op.chat, "action": str(op.action),
        "status": str(status), "http_status": op.http_status, "error_code": op.error_code,
        "message": message, "attempts": op.attempts, "elapsed_ms": round(op.elapsed_ms, 1),
        "changed": op.changed, "changes": expanded(op.changes), "started_at": iso(op.started_at),
        "finished_at": iso(op.finished_at),
        "run_id": run_id,
    }


def _columns(ops: list[Op | None], run_id: str) -> Iterator[tuple[str, Any]]:
    """The results as columns (what `_record` gives per op, without a dict per row), read off
    the operations in one pass that lets go of each op once its row is read (`ops` ends all
    None): the rows' `changes` dicts take the room the operations give back. Unfinished
    operations read `skipped`, as in `_record`. The times come first, read into arrays and
    converted while nothing else is held."""
    count = len(ops)
    nan = float("nan")
    for name in ("started_at", "finished_at"):
        moments = np.fromiter((nan if (v := getattr(op, name)) is None else v for op in ops), "float64", count)
        yield name, _moments(moments)
        del moments
    numbers = {name: np.empty(count, dtype) for name, dtype in
               (("row", "int64"), ("http_status", "float64"), ("attempts", "int64"), ("elapsed_ms", "float64"))}
    texts: dict[str, list[Any]] = {name: [None] * count for name in (
        "number", "provider", "account", "chat", "action", "status", "error_code", "message", "changed")}
    changes: list[Any] = [None] * count
    row, http_status, attempts, elapsed_ms = (numbers[n] for n in ("row", "http_status", "attempts", "elapsed_ms"))
    number, provider, account, chat, action, status, error_code, message, changed = texts.values()
    for i in range(count):
        op, ops[i] = ops[i], None
        assert op is not None
        row[i], attempts[i], elapsed_ms[i] = op.row, op.attempts, op.elapsed_ms
        http_status[i] = nan if op.http_status is None else op.http_status
        number[i], provider[i], chat[i], action[i] = op.number, op.provider_name, op.chat, op.action
        account[i] = op.account or op.provider_name
        error_code[i], changed[i] = op.error_code, op.changed
        status[i], message[i] = _outcome(op)
        changes[i] = expanded(op.changes)
        del op
    yield from numbers.items()
    yield "changes", changes
    del changes, numbers
    while texts:
        yield texts.popitem()
    yield "run_id", [run_id] * count


def _moments(moments: list[float | None] | np.ndarray) -> pd.Series:
    """`time.time()` moments as UTC timestamps to the millisecond (what `iso` writes), at once —
    in the unit pandas gives the same moments read back as ISO text (a report, the journal)."""
    seconds = pd.Series(moments, dtype="float64")
    return pd.to_datetime(seconds, unit="s", utc=True).dt.floor("ms").dt.as_unit(_iso_unit())


@functools.lru_cache(maxsize=1)
def _iso_unit() -> Literal["s", "ms", "us", "ns"]:
    unit = pd.to_datetime(pd.Series(["2026-01-01T00:00:00.000+00:00"]), utc=True, format="ISO8601").dt.unit
    return "ns" if unit == "ns" else "us" if unit == "us" else "ms" if unit == "ms" else "s"


def _read(cards: Any) -> Any:
    """A path read as a cards frame; anything else as given."""
    if isinstance(cards, (str, os.PathLike)):
        from cardkit.reading import read_cards

        return read_cards(cards)
    return cards


def _validated(cards: Any, region: str, accounts: Any = None) -> pd.DataFrame:
    """The cards as a validated frame: validate a frame that isn't yet (or that was validated
    before it learnt the original run of a fed-back report)."""
    if not isinstance(cards, pd.DataFrame):
        raise InputError(f"cards must be a frame from cardkit.read_cards (or a file path), "
                         f"not {type(cards).__name__}")
    if "row" not in cards.columns or "number" not in cards.columns:
        raise InputError("the cards frame needs the columns 'row' and 'number' — build it with "
                         "cardkit.read_cards(path)")
    meta = cards.attrs.get("cardkit") or {}
    if "valid" in cards.columns:
        if not meta.get("done_rows"):
            return cards
        cards = cards.drop(columns=["valid", "problems"])
        cards.attrs = {"cardkit": meta}
    from cardkit.validation import validate

    names: tuple[str, ...] = ()
    if accounts is not None:
        from cardkit.providers.accounts import read_accounts

        names = tuple(read_accounts(accounts).names())
    return validate(cards, region=region, accounts=names)


def _as_written_rows(validated: pd.DataFrame, given: pd.DataFrame | None = None) -> Iterable[tuple[int, dict]]:
    """The user's own columns per row: `given`'s rows for the cards run (a retry keeps the
    first run's headers and extra columns), else what `cardkit.reading.as_written` gives back."""
    rows = validated["row"].tolist()
    if given is not None:
        given = given.set_index("row") if "row" in given.columns else given
        written = given.reindex(pd.Index(rows, name="row")).astype(object)
        written = written.where(written.notna(), "")
    else:
        from cardkit.reading import as_written

        written = as_written(validated)
    written = written.drop(columns=["valid", "problems"], errors="ignore")
    return zip(rows, written.to_dict("records"))
