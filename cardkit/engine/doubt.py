"""Writes in doubt: the card as it was before a write (the *before-state*), and whether a write
whose outcome was lost (a kill, a timeout, a dropped connection) landed.

The journal stores the before-state with each *sending* mark, as JSON: whether the provider
could be read, whether a card existed, and its fields as the adapter read them — names,
sharing settings, and the photo as the provider's own reference (Linq's image URL) or a digest
of its bytes (Blooio's avatar); Sendblue returns no photo at all. Photo bytes are not stored:
no provider's read returns bytes the adapters keep, and a digest is what the comparison needs
(the undo that builds on this can fetch bytes by reference; a row stays a few hundred bytes).

`verdict()` compares the card read back now with the before-state and the wanted card. A
provider that returns every field the write sets (Blooio, Linq) answers by itself: the adapter
finds nothing to change. For one that returns only some (Sendblue: names, not the photo), the
readable fields decide: all readable fields now as wanted, and some of them different before
(or no card before) — the write that set them was ours, and it set the photo in the same
request. No card at all now, after a write that set names, is as plain: it did not land. Only when the readable fields were already as wanted before the write (or the
before-state is unknown) can nothing be told, and the write is repeated with a note saying so.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from cardkit.providers.base import Change, Current

LANDED = "landed"          # the in-doubt write is at the provider: don't send again
NOT_LANDED = "not landed"  # the card is not as wanted: sending is not a repeat
UNKNOWN = "unknown"        # the provider can't tell: a write now may repeat the earlier one

_NAMES = {"first_name", "last_name"}  # every provider returns them whenever a card exists
_LIMIT = 4_000             # characters of JSON per before-state (names are short; cut, never fail)


def before_json(current: Current) -> str:
    """The before-state as the journal stores it (JSON, bounded)."""
    fields = {key: _plain(value) for key, value in current.fields.items()}
    text = json.dumps({"known": current.known, "exists": current.exists, "fields": fields},
                      ensure_ascii=False, default=str)
    if len(text) > _LIMIT:      # an adapter returned something huge: keep what the comparison uses
        fields = {k: v for k, v in fields.items() if isinstance(v, str) and len(v) <= 1_000}
        text = json.dumps({"known": current.known, "exists": current.exists, "fields": fields,
                           "cut": True}, ensure_ascii=False)
    return text


def before_from_json(text: str | None) -> Current | None:
    """The before-state read back from the journal (None when it was never recorded)."""
    if not text:
        return None
    try:
        data = json.loads(text)
        return Current(known=bool(data["known"]), exists=bool(data.get("exists")),
                       fields=dict(data.get("fields") or {}))
    except (ValueError, KeyError, TypeError):
        return None


def verdict(change: Change, now: Current, before: Current | None) -> str:
    """Did the in-doubt write land? `change` is what the adapter would still change, reading
    the card as `now`; `before` is the card as read before that write (None: not recorded)."""
    if change.action == "unchanged":
        return LANDED
    if not now.known:
        return UNKNOWN
    if not now.exists and _NAMES & set(change.fields):
        return NOT_LANDED                         # no card at all: a write that set names would show one
    unreadable = [f for f in change.fields if f not in now.fields]
    if len(unreadable) < len(change.fields):
        return NOT_LANDED                         # a field it can show is still not as wanted
    if before is None or not before.known:
        return UNKNOWN
    readable = [k for k in now.fields if k in before.fields]
    moved = (now.exists and not before.exists) or any(
        _plain(now.fields[k]) != before.fields[k] for k in readable)
    return LANDED if moved else UNKNOWN


def repeat_note(provider: str, run: str) -> str:
    """What a row's result says when its write was repeated because nothing could be told."""
    where = "this run's earlier attempt" if run == "this run" else f"the write run {run} left unconfirmed"
    return (f"sent again: {provider} can't show whether {where} landed (what it returns was "
            "already as wanted before), so this card may have been written twice")


def landed_message(provider: str, run: str) -> str:
    where = "the write that timed out" if run == "this run" else f"the write run {run} left unconfirmed"
    return (f"{where} had landed ({provider}'s card read back changed from before that write to "
            "exactly what the sheet asks): not sent again")


def _plain(value: Any) -> Any:
    """A JSON-comparable form of a field (sharing settings are a dataclass or a tuple)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [_plain(v) for v in dataclasses.astuple(value)]
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
