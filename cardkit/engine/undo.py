"""Undo: put back, for every card a run changed, the card as it was just before — as a new run.

    results = cardkit.undo("cards.journal.sqlite")                 # the latest run that wrote
    preview = cardkit.undo("cards.journal.sqlite", run_id="…", dry_run=True)

The journal keeps each write's *before-state* (`engine/doubt.py`: names, sharing, the photo as
the provider's reference or digest) and, where the provider returned the photo's bytes
(Blooio), the bytes themselves (`Journal.keep_photo`). Undo turns those into cards and runs them
through the same engine — planned first (read, compare, then write), journalled in the same
journal as a run of kind `undo` with its own results, so undoing an undo works like any undo.

What a provider cannot put back is said per row, and the rest is restored (status `partial`):
Sendblue never returns the photo, so the one the undone run set stays; a card that did not
exist can be removed only where the provider can delete (Sendblue), and a field that was empty
can be emptied only where the provider documents clearing it (`cardkit capabilities`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from cardkit.columns import CARD_COLUMNS
from cardkit.engine import doubt
from cardkit.engine.journal import Journal
from cardkit.engine.operations import (
    Op,
    PhotoShop,
    build_card,
    desired_hash,
    parse_sharing,
)
from cardkit.engine.options import RunOptions
from cardkit.engine.results import ResultsFrame
from cardkit.errors import CardkitError, JournalError
from cardkit.providers.base import Card, Current, Sharing
from cardkit.urls import local_origins
from cardkit.vocabulary import CLEAR_MARKER, Action, RowAction, Status, marker

KIND = "undo"
#: Runs whose writes can be undone.
UNDOABLE = ("cards", KIND)
_CLEARABLE = ("last_name", "display_name", "photo")


def undo_options(journal: str | os.PathLike[str], *, providers: Any = None, **options: Any) -> RunOptions:
    """The `RunOptions` of an undo run: the undone run's providers, its journal, no resume (a
    restored state may equal an older one the journal holds as applied)."""
    return RunOptions(providers=providers, journal=Path(journal), resume=False, **options)


class UndoBatch:
    """The engine's `Batch` of one undo: one operation per card the run sent."""

    kind = KIND
    routes = False          # each operation goes back to the provider it was sent to

    def __init__(self, journal: Path, run_id: str | None) -> None:
        with Journal(journal, readonly=True) as book:
            self.run_id = run_id or _latest_writing_run(book)
            info = book.run_info(self.run_id)
            if info.get("kind") not in UNDOABLE:
                raise JournalError(f"run {self.run_id} is a {info.get('kind')} run: only card runs "
                                   f"({', '.join(UNDOABLE)}) can be undone")
            if info.get("dry_run"):
                raise JournalError(f"run {self.run_id} was a plan (a dry run): it wrote nothing to undo")
            self.providers: dict[str, str] = dict(info.get("providers") or {})
            self.sent = _last_per_target(book.sent(self.run_id))
            self.photos = {d: book.photo(d) for d in {_blooio_digest(s) for s in self.sent} if d}

    def provider_names(self) -> list[str]:
        """The providers the undone run wrote to (their accounts are resolved as for any run)."""
        return list(dict.fromkeys(s["provider"] for s in self.sent)) or list(self.providers)

    def cards(self) -> pd.DataFrame:
        """The cards frame the run is given (its rows are what the journal keeps as inputs)."""
        rows = [{"row": s["row"], **{c: "" for c in CARD_COLUMNS}, "number": s["number"],
                 "provider": s["provider"], "valid": True, "problems": ""} for s in self.sent]
        frame = pd.DataFrame(rows, columns=["row", *CARD_COLUMNS, "valid", "problems"])
        frame.attrs["cardkit"] = {"source": f"undo of run {self.run_id}", "kind": KIND}
        return frame

    async def operations(self, validated: pd.DataFrame, setup: Any) -> Iterable[Op]:
        photos = PhotoShop(photo_host=setup.photo_host, transport=setup.transport,
                           allow_private=local_origins(setup.base_urls().values()))
        ops: list[Op] = []
        try:
            for seq, sent in enumerate(self.sent):
                ops.append(await self._operation(seq, sent, setup, photos))
        finally:
            await photos.close()
        return ops

    async def _operation(self, seq: int, sent: dict[str, Any], setup: Any, photos: PhotoShop) -> Op:
        name, account = sent["provider"], sent.get("account") or sent["provider"]
        provider = setup.providers.get(account)          # the account the run wrote with
        op = Op(seq=seq, row=int(sent["row"]), number=sent["number"], provider=provider, provider_name=name,
                account=account)
        before = doubt.before_from_json(sent["before"])
        if provider is None:
            op.finish(Status.INVALID, f"account {account} ({name}) is not configured here: give its "
                      "credentials (or the same --sandbox / --accounts) to undo this row", action=Action.NONE)
            return op
        if before is None or not before.known:
            op.finish(Status.INVALID, f"{provider_label(provider)} could not be read before run {self.run_id} "
                      "wrote this card, so there is no earlier state to put back", action=Action.NONE)
            return op
        try:
            fields, cannot = self._restoring(sent, before, provider)
        except _CantRestore as why:
            op.finish(Status.INVALID, f"can't put back the card as it was before run {self.run_id}: {why}",
                      action=Action.UNSUPPORTED)
            return op
        op.record = fields
        sharing, _ = parse_sharing(fields)
        await build_card(op, fields, sharing, photos)
        if op.card is not None:
            card = op.card
            digest = _blooio_digest(sent)
            if digest and self.photos.get(digest):
                card = dataclasses.replace(card, photo_bytes=self.photos[digest], photo_digest=digest)
            op.card = None
            _finish_card(op, provider, dataclasses.replace(card, cannot="; ".join(cannot)))
            op.guard = _changed_since(sent, before, self.run_id, provider)
        if op.status == Status.INVALID:
            op.message = f"can't put back the card as it was before run {self.run_id}: {op.message}"
        return op

    def _restoring(self, sent: dict[str, Any], before: Current, provider: Any) -> tuple[dict[str, str], list[str]]:
        """The sheet-like fields that restore `before`, and what can't be restored (said per row)."""
        label = provider_label(provider)
        fields = {c: "" for c in CARD_COLUMNS}
        fields.update(number=sent["number"], provider=sent["provider"])
        changed = set(filter(None, (sent.get("changed") or "").split(","))) or {"first_name", "last_name",
                                                                                  "display_name", "photo"}
        have = before.fields
        if not before.exists:
            if not provider.unsupported(Card(number=sent["number"], first_name="", delete=True)):
                fields["action"] = str(RowAction.DELETE)
                return fields, []
            settings = _sharing_columns(have.get("sharing")) if "sharing" in changed else {}
            if not settings:
                raise _CantRestore(f"there was no card before it, and {label} has no way to remove one — the "
                                   f"card run {self.run_id} created stays (remove it in {label}'s own app if "
                                   "it must go)")
            # the number had sharing settings only (Blooio): put them back, leave what can't be removed
            fields.update(settings)
            made = sorted(changed & {"first_name", "last_name", "display_name", "photo"})
            for name in ("first_name", "last_name"):          # as the run set them: not sent again
                fields[name] = str(sent["card"].get(name) or "") if name in made else ""
            return fields, [f"there was no name or photo before run {self.run_id} and {label} has no way to remove "
                            f"them — {', '.join(made)} stay as the run set {'them' if len(made) > 1 else 'it'}"
                            ] if made else []
        cannot: list[str] = []
        for name in ("first_name", "last_name", "display_name"):
            value = str(have.get(name) or "")
            if name == "display_name" and not getattr(provider, "sets_display_name", False):
                continue
            if value:
                fields[name] = value
            elif name in changed:       # no provider clears a first name (an empty one is left as is)
                if name != "first_name" and _can_clear(provider, name):
                    fields[name] = CLEAR_MARKER
                else:
                    cannot.append(f"{name} was empty and {label} can't clear it — it stays as run "
                                  f"{self.run_id} set it")
        fields.update(_sharing_columns(have.get("sharing")))
        photo = have.get("photo")
        if "photo" not in have:                  # never returned (Sendblue): send what the run set
            fields["photo"] = set_photo = str(sent["card"].get("photo") or "")
            if not set_photo or marker(set_photo) or sent.get("action") == Action.DELETE:
                raise _CantRestore(f"{label} never returns the photo and needs one to set the profile, "
                                   f"and run {self.run_id} sent none — set this profile again from your "
                                   "sheet, with its photo")
            cannot.append(f"the photo can't be put back: {label} never returns it, so the one run "
                          f"{self.run_id} set stays")
        elif photo and provider.photo_transport == "url":
            fields["photo"] = str(photo)         # the provider's own URL (Linq)
        elif photo and not self.photos.get(str(photo)):
            cannot.append(f"the photo before run {self.run_id} was not kept in the journal — it stays")
        elif not photo and "photo" in changed:
            if _can_clear(provider, "photo"):
                fields["photo"] = CLEAR_MARKER
            else:
                cannot.append(f"there was no photo before run {self.run_id} and {label} can't remove one "
                              "— the photo stays")
        return fields, cannot


def _sharing_columns(sharing: Any) -> dict[str, str]:
    """Sharing settings read before a run (a `Sharing`, or its journalled list) → sheet columns."""
    if isinstance(sharing, (list, tuple)) and len(sharing) == 3:
        sharing = Sharing(*sharing)
    if not isinstance(sharing, Sharing):
        return {}
    settings: tuple[tuple[str, bool | int | None], ...] = (
        ("sharing_enabled", sharing.enabled), ("sharing_audience", sharing.audience),
        ("sharing_name_format", sharing.name_format))
    return {column: ("true" if setting else "false") if isinstance(setting, bool) else str(int(setting))
            for column, setting in settings if setting is not None}


def _changed_since(sent: dict[str, Any], before: Current, run_id: str, provider: Any) -> Any:
    """The guard of one undo write: the card read now must still be what run `run_id` set (the
    provider's own comparison of names, sharing and delete; photos aside), else a later change —
    another run, the provider's app — would be overwritten. A field the run did not change (or
    was refused: a plan that can't set names) is expected as it was before the run. Unknown
    (unread) cards are not blocked."""
    record = sent.get("card") or {}
    changed = set(filter(None, (sent.get("changed") or "").split(",")))
    if str(record.get("action") or "") == RowAction.DELETE:
        probe = Card(number=sent["number"], first_name="", delete=True)
    else:
        given = {name: str((before.fields if changed and name not in changed and name in before.fields
                            else record).get(name) or "")
                 for name in ("first_name", "last_name", "display_name")}
        value = {n: ("" if v == CLEAR_MARKER else v) for n, v in given.items()}
        probe = Card(number=sent["number"], first_name=value["first_name"], last_name=value["last_name"],
                     display_name=value["display_name"], keep_photo=True,
                     clear=frozenset(n for n, v in given.items() if v == CLEAR_MARKER),
                     sharing=parse_sharing(record)[0] if "sharing" in changed else None)
    label = provider_label(provider)

    def guard(current: Current) -> str:
        if not current.known or provider.change(probe, current).action == Action.UNCHANGED:
            return ""
        if sent.get("status") not in (Status.APPLIED, Status.PARTIAL):
            return (f"run {run_id}'s write to {label} did not take effect ({sent.get('status') or 'left in doubt'}), so there is "
                    "nothing of it to put back — left as it is")
        return (f"changed at {label} since run {run_id} wrote it — left as it is, so the later change is not "
                "overwritten; undo the later run first, or set this card from your sheet")

    return guard


class _CantRestore(CardkitError):
    """Nothing of this card can be put back (the message says why)."""


def provider_label(provider: Any) -> str:
    return str(getattr(provider, "label", "") or provider.name)


def _can_clear(provider: Any, field: str) -> bool:
    """Whether the provider takes a card clearing `field` (its own `unsupported` decides)."""
    probe = Card(number="+10000000000", first_name="x", last_name="x", photo_url="https://example.com/x.jpg",
                 photo_digest="x", clear=frozenset({field}))
    return not provider.unsupported(probe) if field != "photo" else not provider.unsupported(
        dataclasses.replace(probe, photo_url="", photo_digest=""))


def _finish_card(op: Op, provider: Any, card: Card) -> None:
    reason = provider.unsupported(card)
    if reason:
        op.finish(Status.INVALID, reason, action=Action.UNSUPPORTED)
        return
    op.card = card
    op.desired = desired_hash(op.provider_name, card)


def _blooio_digest(sent: dict[str, Any]) -> str:
    """The digest of the photo a provider returned as bytes before the write ("" if none)."""
    before = doubt.before_from_json(sent["before"])
    if before is None or sent["provider"] != "blooio":
        return ""
    return str(before.fields.get("photo") or "")


def _last_per_target(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One operation per provider × number (a run has one; kept defensive)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for item in sent:
        seen.setdefault((item.get("account") or item["provider"], item["number"]), item)
    return list(seen.values())


def _latest_writing_run(book: Journal) -> str:
    """The latest run that changed a card (a re-run that found everything unchanged is passed over)."""
    runs = book.runs()
    writing = runs[(~runs["dry_run"]) & runs["kind"].isin(UNDOABLE)]
    for run_id in reversed(list(writing["run_id"])):
        if any(s.get("status") in (Status.APPLIED, Status.PARTIAL) for s in book.sent(str(run_id))):
            return str(run_id)
    raise JournalError(f"journal {str(book.path)!r} holds no run that changed a card: nothing to undo")


async def undo_async(journal: str | os.PathLike[str], run_id: str | None = None, **options: Any) -> ResultsFrame:
    """Put back the cards run `run_id` (default: the latest that wrote) changed; see the module doc.

    `options` are `RunOptions` fields (sandbox=, dry_run=, progress=, events=, …); providers
    default to the ones the run used."""
    from cardkit.engine.run import Run

    path = Path(journal)
    if not path.exists():
        raise JournalError(f"journal {str(path)!r} does not exist — give the .journal.sqlite a run wrote")
    batch = UndoBatch(path, run_id)
    chosen = undo_options(path, providers=options.pop("providers", None) or batch.provider_names(), **options)
    return await Run(batch.cards(), chosen, batch=batch).execute()


def undo(journal: str | os.PathLike[str], run_id: str | None = None, **options: Any) -> ResultsFrame:
    """Sync `undo_async` (scripts and notebooks alike)."""
    from cardkit.engine.bridge import run_sync
    from cardkit.engine.run import Run

    path = Path(journal)
    if not path.exists():
        raise JournalError(f"journal {str(path)!r} does not exist — give the .journal.sqlite a run wrote")
    batch = UndoBatch(path, run_id)
    chosen = undo_options(path, providers=options.pop("providers", None) or batch.provider_names(), **options)
    one = Run(batch.cards(), chosen, batch=batch)
    return run_sync(one.execute, partial=one.partial_results)
