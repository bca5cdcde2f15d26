"""Pull: every number the configured accounts hold, with the card each has now, as a cards frame.

    frame = await pull_async("auto", sandbox=box, photo_folder=Path("out"))

The numbers come from each provider's own listing (Blooio `GET /me/numbers`, Sendblue's lines,
Linq's phone numbers); each number's card is read on the engine's connections with its retry
policy, `max_at_once` reads at a time per provider (each worker owns one connection, as in a
run). The frame is a sheet `cardkit plan` reads back as "unchanged" everywhere:

- `photo`: Blooio's avatar is written, byte for byte as returned, to `photos/<number>.jpg` under
  `photo_folder` and referenced relatively; a provider's photo URL (Linq) is kept as the URL;
  where the provider never returns the photo (Sendblue) the cell is `[keep: …]`, which apply
  reads as "leave the photo as it is".
- sharing settings are the words a person writes ("yes", "contacts only", "first & last").
- a number without a card, or whose card could not be read, gets `action` = `keep` and the
  reason in `note`: never a missing row.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from cardkit.columns import CARD_COLUMNS
from cardkit.engine import events as ev, routing
from cardkit.engine.changes import sharing_words
from cardkit.engine.limits import RateLimiter
from cardkit.engine.lookups import connect
from cardkit.engine.progress import ProgressBar, visible as progress_visible
from cardkit.engine.retry_policy import (
    DEFAULT_MAX_ATTEMPTS,
    RetryPolicy,
    call_with_retries,
)
from cardkit.errors import InputError
from cardkit.providers.base import DEFAULT_TIMEOUT, Current, Provider, ReadsMany
from cardkit.vocabulary import KEEP_MARKER, RowAction, Status

#: The columns of a pulled sheet: cardkit's card columns, then why a row is as it is.
PULLED_COLUMNS = (*CARD_COLUMNS, "note")
#: Where pulled photos go, under the sheet's folder.
PHOTO_FOLDER = "photos"


def keep_photo_cell(label: str) -> str:
    """The photo cell of a provider that never returns the photo (apply leaves the photo)."""
    return f"{KEEP_MARKER[:-1]}: {label} does not return photos]"


async def pull_async(providers: Any = "auto", *, accounts: Any = None, sandbox: Any = None,
                     photo_folder: Path | None = None, numbers: Iterable[str] | None = None,
                     max_at_once: int | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                     timeout: float = DEFAULT_TIMEOUT, progress: bool = True,
                     events: Callable[[ev.Event], None] | None = None) -> pd.DataFrame:
    """The cards frame of every number the providers hold (see the module docstring).

    `photo_folder`: where `photos/<number>.jpg` go (the folder of the sheet that will hold the
    frame); None keeps photos out of the file system and marks them `[keep: …]`. `numbers`
    (E.164): read only these, in this order; one the accounts don't hold is a `keep` row saying so."""
    setup = routing.setup(providers, sandbox=sandbox, photo_host=False, accounts=accounts)
    if not setup.providers:
        raise InputError("no provider is configured: set its credentials (see `cardkit providers`) "
                         "or pass --sandbox")
    policy = RetryPolicy(max_attempts=max_attempts)
    listings = await asyncio.gather(*(_listing(name, adapter, setup, policy, timeout)
                                      for name, adapter in setup.providers.items()))
    targets = [(name, number) for name, held in listings for number in held]
    wanted = list(dict.fromkeys(numbers)) if numbers is not None else None
    if wanted is not None:
        order = {number: i for i, number in enumerate(wanted)}
        targets = sorted((t for t in targets if t[1] in order), key=lambda t: order[t[1]])
    emit = ev.fan_out([ProgressBar() if progress and progress_visible() else None, events])
    if emit is not None:
        emit(ev.Started(run_id="pull", kind="pull", write=False, total=len(targets), pending=len(targets),
                        providers=tuple(setup.providers)))
    rows: dict[tuple[str, str], dict[str, str]] = {}
    await asyncio.gather(*(
        _read_all(name, setup.providers[name], [n for p, n in targets if p == name], setup, policy,
                  timeout, max_at_once, photo_folder, rows, emit)
        for name in setup.providers))
    pulled = [rows[t] for t in targets]
    providers_of = [setup.providers[account].name for account, _ in targets]   # the provider, not the account
    if wanted is not None:
        pulled, providers_of = _with_unheld(wanted, targets, pulled, providers_of, setup)
    frame = pd.DataFrame(pulled, columns=list(PULLED_COLUMNS))
    frame["provider"] = providers_of
    unlisted = {name: why for name, why in setup.unlisted.items()}
    frame.attrs["cardkit"] = {"kind": "pull", "unlisted": unlisted}
    if emit is not None:
        kept = int((frame["note"] != "").sum())
        emit(ev.Done(run_id="pull", counts={str(Status.UNCHANGED): len(frame) - kept, str(Status.SKIPPED): kept},
                     cancelled=False, results=None))
    return frame


def _with_unheld(wanted: list[str], targets: list[tuple[str, str]], pulled: list[dict[str, str]],
                 providers_of: list[str], setup: routing.Setup) -> tuple[list[dict[str, str]], list[str]]:
    """The pulled rows in the order of `wanted`, with a `keep` row for each number no account holds."""
    held = {number for _, number in targets}
    by_number: dict[str, list[tuple[dict[str, str], str]]] = {}
    for row, provider in zip(pulled, providers_of):
        by_number.setdefault(row["number"], []).append((row, provider))
    asked = ", ".join(setup.providers) or "none"
    rows, names = [], []
    for number in wanted:
        if number in held:
            for row, provider in by_number.get(number, []):
                rows.append(row)
                names.append(provider)
        else:
            rows.append({**_blank("", number), "action": str(RowAction.KEEP),
                         "note": f"not among the numbers of the accounts asked ({asked}) — check the number, "
                                 "or pass the accounts that hold it (--accounts, --provider)"})
            names.append("")
    return rows, names


async def _listing(name: str, adapter: Provider, setup: routing.Setup, policy: RetryPolicy,
                   timeout: float) -> tuple[str, list[str]]:
    connection = connect(adapter, setup, timeout=timeout)
    try:
        tried = await call_with_retries(lambda: adapter.list_numbers(connection.send), policy)
    finally:
        await connection.aclose()
    if tried.failure is not None:
        setup.unlisted[name] = tried.message
        return name, []
    return name, list(dict.fromkeys(tried.value or []))


async def _read_all(name: str, adapter: Provider, numbers: list[str], setup: routing.Setup,
                    policy: RetryPolicy, timeout: float, max_at_once: int | None,
                    photo_folder: Path | None, rows: dict[tuple[str, str], dict[str, str]],
                    emit: Callable[[ev.Event], None] | None) -> None:
    """Read `numbers` at one provider, `max_at_once` workers each on its own connection."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for number in numbers:
        queue.put_nowait(number)
    limiter = RateLimiter(adapter.limits.max_per_second)

    async def worker() -> None:
        connection = connect(adapter, setup, timeout=timeout, limiter=limiter)
        try:
            while not queue.empty():
                number = queue.get_nowait()
                tried = await call_with_retries(functools.partial(adapter.read, connection.send, number), policy)
                row = (_failed_row(name, number, tried.message) if tried.failure is not None
                       else _row(name, adapter, number, tried.value, photo_folder))
                rows[(name, number)] = row
                if emit is not None:
                    emit(ev.Finished({"row": 0, "number": number, "provider": name,
                                      "status": str(Status.UNCHANGED if not row["note"] else Status.SKIPPED),
                                      "message": row["note"]}))
        finally:
            await connection.aclose()

    if numbers and isinstance(adapter, ReadsMany):     # Linq: every card with one listing request
        connection = connect(adapter, setup, timeout=timeout, limiter=limiter)
        try:
            listed = await call_with_retries(functools.partial(adapter.read_many, connection.send, numbers), policy)
        finally:
            await connection.aclose()
        for number, current in (listed.value or {}).items() if listed.failure is None else ():
            if number in numbers:
                rows[(name, number)] = _row(name, adapter, number, current, photo_folder)
                if emit is not None:
                    emit(ev.Finished({"row": 0, "number": number, "provider": name,
                                      "status": str(Status.UNCHANGED), "message": ""}))
        queue = asyncio.Queue()
        for number in numbers:
            if (name, number) not in rows:       # not in the listing: read one by one
                queue.put_nowait(number)
    size = max(1, min(max_at_once or adapter.limits.max_at_once, queue.qsize()))
    if not queue.empty():
        await asyncio.gather(*(worker() for _ in range(size)))


def _blank(name: str, number: str) -> dict[str, str]:
    return {**{c: "" for c in PULLED_COLUMNS}, "number": number, "provider": name}


def _failed_row(name: str, number: str, why: str) -> dict[str, str]:
    return {**_blank(name, number), "action": str(RowAction.KEEP),
            "note": f"could not be read: {why}"}


def _row(name: str, adapter: Provider, number: str, current: Current | None,
         photo_folder: Path | None) -> dict[str, str]:
    """One pulled row: the card as the sheet writes it."""
    row = _blank(name, number)
    label = getattr(adapter, "label", name)
    if current is None or not current.known:
        return {**row, "action": str(RowAction.KEEP),
                "note": f"{label} does not return this number's card: left as it is"}
    fields = current.fields
    row["first_name"] = str(fields.get("first_name") or "")
    row["last_name"] = str(fields.get("last_name") or "")
    if getattr(adapter, "sets_display_name", False):
        row["display_name"] = str(fields.get("display_name") or "")
    row.update({k: v for k, v in sharing_words(fields.get("sharing")).items() if v})
    if not current.exists or not row["first_name"]:
        note = (f"no card at {label}" + (" (its last setup did not complete)" if fields.get("inactive") else "")
                + " — to create one, fill in the names and change action to set")
        return {**row, "action": str(RowAction.KEEP), "note": note}
    row["photo"] = _photo_cell(number, label, adapter, current, photo_folder)
    return row


def _photo_cell(number: str, label: str, adapter: Provider, current: Current,
                photo_folder: Path | None) -> str:
    if current.photo_bytes:
        if photo_folder is None:
            return f"{KEEP_MARKER[:-1]}: {label} photo not saved — pull with an output file to save it]"
        relative = Path(PHOTO_FOLDER) / f"{number.lstrip('+')}.jpg"
        target = photo_folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(current.photo_bytes)
        return relative.as_posix()
    photo = str(current.fields.get("photo") or "")
    if "photo" not in current.fields:
        return keep_photo_cell(label)
    return photo          # a URL (Linq), or "" when the card has no photo
