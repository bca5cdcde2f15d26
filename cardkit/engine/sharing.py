"""Share the card into chats, in bulk — a batch kind the engine runs like cards and contacts.

    chats = cardkit.read_chats("chats.csv")      # number, chat[, message, provider]
    results = cardkit.share(chats, message="Hi from Acme", sandbox=True)
    cardkit.share_card("+14155550100", provider="blooio", sandbox=True)   # one chat

A chats sheet has one row per chat: `number` (which of our numbers shares — it picks the account
that owns it), `chat` (Blooio: an E.164 number, an email, a group id `grp_…` or a
comma-separated list of them; Linq: the chat's id, a UUID), and optionally `message` (a row's
own text) and `provider` (a provider or account name, when the number alone can't tell).

How each provider shares (docs/providers.md):
- Blooio with a message: one `POST /chats/{chat}/messages` with `share_contact: true`, from the
  row's number, under an `Idempotency-Key` derived from the run, the row and the chat — the
  same key on every retry and on a resumed run (the journal keeps it), so the provider refuses
  a second copy (409) and the chat gets the message once.
- Blooio without a message: `POST /chats/{chat}/contact-card` stages the card for the next
  message (idempotent by the docs). It takes no sending number, so none is reported.
- Linq: `POST /v3/chats/{chat}/share_contact_card` (no message; the chat's own line sends it).
  One share per chat per 5 minutes: a 429 there means it is already in the chat.
- Sendblue: no share API (its profile goes out in the number's next conversations): reported.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cardkit.engine import routing
from cardkit.engine.bridge import run_sync
from cardkit.engine.inputs import checked_input
from cardkit.engine.operations import Op
from cardkit.engine.results import ResultsFrame
from cardkit.errors import Transient
from cardkit.providers.base import Change, Current, Limits, Send
from cardkit.vocabulary import Action, Status

#: The chats sheet's columns, in display order; `number` and `chat` are required.
CHAT_COLUMNS = ("number", "chat", "message", "provider")
_ALIASES: dict[str, tuple[str, ...]] = {
    "number": ("from", "from number", "from_number", "our number", "sender", "line", "phone",
               "business number", "sending number"),
    "chat": ("chat id", "chat_id", "to", "recipient", "recipients", "conversation", "group", "handle"),
    "message": ("text", "message text", "body"),
    "provider": ("account",),
}
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
_GROUP = re.compile(r"^grp_[A-Za-z0-9_-]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_MESSAGE_MAX = 2000
#: what a one-chat share's give-up message says to do
_AGAIN_LATER = "share the card again later"
#: what a bulk share's give-up message says to do
_AGAIN = ("run the same `cardkit share` command again with the same journal: chats already shared "
          "are skipped")


# ---- reading and checking ---------------------------------------------------------------------

def chats_schema():
    """The chats sheet for the foundation's `read_table` (headers matched by alias)."""
    from cardkit.reading import Column, TableSchema

    return TableSchema("chats", tuple(Column(name, _ALIASES.get(name, ()), required=name == "chat")
                                      for name in CHAT_COLUMNS))


def read_chats(source: Any, *, sheet: str | int | None = None, columns: Mapping[str, str] | None = None,
               region: str = "US") -> pd.DataFrame:
    """Read and check a chats sheet (CSV/XLSX path or DataFrame): numbers and phone chats in
    E.164, plus `valid` and `problems` ("row N, Header: what is wrong — what to do")."""
    from cardkit.reading import read_table

    frame = read_table(source, schema=chats_schema(), sheet=sheet, columns=columns)
    return check_chats(frame, region=region)


def check_chats(frame: pd.DataFrame, *, region: str = "US") -> pd.DataFrame:
    """A new frame: values normalized, `valid` and `problems` set for every row."""
    from cardkit.phones import check_region, normalize_number

    region = check_region(region)
    headers = frame.attrs.get("cardkit", {}).get("headers", {})
    out = frame.copy()
    for column in CHAT_COLUMNS:
        if column not in out.columns:
            out[column] = ""
    numbers, chats, valid, problems = [], [], [], []
    first_row: dict[tuple[str, str, str], int] = {}
    for record in out[["row", *CHAT_COLUMNS]].to_dict("records"):
        row = int(record["row"])
        text = {c: ("" if record.get(c) is None or record.get(c) != record.get(c) else str(record[c]).strip())
                for c in CHAT_COLUMNS}
        messages: list[tuple[str, str]] = []
        number = text["number"]
        if number:
            result = normalize_number(number, region)
            if result.ok:
                number = result.e164
            else:
                messages.append(("number", result.message))
        elif not text["provider"]:
            messages.append(("number", "empty — write which of your numbers shares the card (it "
                             "picks the account), or the account in the provider column"))
        chat, problem = _check_chat(text["chat"], region)
        if problem:
            messages.append(("chat", problem))
        if len(text["message"]) > _MESSAGE_MAX:
            messages.append(("message", f"{len(text['message'])} characters — keep a message under "
                             f"{_MESSAGE_MAX}"))
        key = (number, chat, text["provider"].lower())
        if not messages and key in first_row:
            messages.append(("chat", f"{chat!r} from {number or text['provider']} is also on row "
                             f"{first_row[key]}: keep one row per chat (only the first is shared)"))
        elif not messages:
            first_row[key] = row
        numbers.append(number)
        chats.append(chat)
        valid.append(not messages)
        problems.append("; ".join(f"row {row}, {headers.get(col, col)}: {what}" for col, what in messages))
    out["number"] = pd.Series(numbers, index=out.index, dtype=object)
    out["chat"] = pd.Series(chats, index=out.index, dtype=object)
    out["valid"] = pd.Series(valid, index=out.index, dtype=bool)
    out["problems"] = pd.Series(problems, index=out.index, dtype=object)
    return out


def chat_kind(chat: str) -> str:
    """"linq" for a Linq chat id (a UUID), "blooio" for what Blooio takes (numbers, emails,
    group ids, comma-separated lists)."""
    try:
        uuid.UUID(chat)
        return "linq"
    except ValueError:
        return "blooio"


def _check_chat(raw: str, region: str) -> tuple[str, str]:
    """The chat normalized (phone numbers to E.164), or the problem with it."""
    from cardkit.phones import normalize_number

    if not raw:
        return "", ("empty — write the chat: a phone number, an email, a Blooio group id (grp_…), "
                    "a comma-separated list of them, or a Linq chat id")
    if chat_kind(raw) == "linq":
        return str(uuid.UUID(raw)), ""
    parts = [p.strip() for p in raw.split(",")]
    out = []
    for part in parts:
        if not part:
            return raw, f"{raw!r} has an empty entry in its list — remove the extra comma"
        if _EMAIL.match(part) or _GROUP.match(part) or _E164.match(part):
            # a recipient in E.164 is passed as written (the provider knows its own handles)
            out.append(part)
            continue
        result = normalize_number(part, region)
        if not result.ok:
            return raw, (f"{part!r} is not a phone number, an email, a group id (grp_…) or a Linq "
                         f"chat id — {result.message}")
        out.append(result.e164)
    if len(out) > 1 and any(_GROUP.match(p) for p in out):
        return raw, "a group id can't be part of a list — give the group id alone"
    return ",".join(out), ""


# ---- the target the engine drives ------------------------------------------------------------

@dataclass
class ShareItem:
    """One share: into `chat`, with `text` (or none), from `from_number` (or the provider's
    choice). `idempotency_key` is set by the run (kept across retries and resumes)."""

    chat: str
    text: str = ""
    from_number: str = ""
    idempotency_key: str = ""
    number: str = ""                # the row's number (what routed it), for messages
    in_doubt: bool = False          # an earlier attempt may have landed (timeout, cut, killed run)


class ShareTarget:
    """An account's adapter as a batch target for shares: nothing to read, one request to write.

    Wraps the adapter (its credentials, base URL and account); the engine's pools drive it as
    they drive the card adapters, with a `ShareItem` where they take a `Card`."""

    photo_transport = "none"
    #: a share can't be read back: a repeat is refused by the provider instead (the message's
    #: Idempotency-Key, Linq's one share per chat per 5 minutes), not found by reading
    guards_repeats = True

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self.name = adapter.name
        self.account = getattr(adapter, "account", adapter.name)
        self.base_url = adapter.base_url
        # the account's pace, without a card-write budget (Linq's 3 per 10 minutes is for cards;
        # its share limit, one per chat per 5 minutes, is answered by the adapter)
        self.limits = Limits(adapter.limits.max_at_once, adapter.limits.max_per_second)
        self.label = getattr(adapter, "label", adapter.name)

    def __repr__(self) -> str:
        return f"ShareTarget({self.adapter!r})"

    def auth_headers(self) -> dict[str, str]:
        return self.adapter.auth_headers()

    def unsupported(self, item: ShareItem) -> str:
        return ""

    async def list_numbers(self, send: Send) -> list[str]:
        return await self.adapter.list_numbers(send)

    async def read(self, send: Send, number: str) -> Current:
        return Current(known=False)      # a share can't be read back; the key and limits guard it

    def change(self, item: ShareItem, current: Current) -> Change:
        if item.text:
            how = f"a message with the card to {item.chat}" + (f", from {item.from_number}" if item.from_number else "")
        elif self.name == "linq":
            how = f"the card into chat {item.chat}, from the chat's own line"
        else:
            how = f"the card staged in {item.chat} for the next message"
        return Change(Action.SHARE, (), how)

    async def write(self, send: Send, item: ShareItem, current: Current) -> Change:
        try:
            shared = await self.adapter.share(send, item.chat, text=item.text,
                                              from_number=item.from_number or item.number,
                                              idempotency_key=item.idempotency_key)
        except Transient as failure:
            if failure.http_status == 429 and self.name == "linq" and item.in_doubt:
                # Linq takes no Idempotency-Key on a share, and allows one share per chat per
                # 5 minutes: after an attempt whose outcome is unknown, its 429 says that attempt
                # landed — so it is not sent again (a second share would be a second card)
                return Change(Action.SHARE, (), f"the card is in chat {item.chat}: an earlier attempt "
                              "had landed (Linq allows one share per chat per 5 minutes and refused "
                              "another) — not shared again")
            if failure.wrote_maybe:
                item.in_doubt = True
            raise
        return Change(Action.SHARE, (), shared.message)


class ShareBatch:
    """The engine's `Batch` for shares: one op per chat row, routed to the account owning its number."""

    kind = "share"
    routes = True

    def __init__(self, message: str = "", *, remedy: str = _AGAIN) -> None:
        self.message = message
        self.remedy = remedy

    def target(self, adapter: Any) -> ShareTarget:
        """What the pools drive for an account of the run."""
        return ShareTarget(adapter)

    async def operations(self, validated: pd.DataFrame, setup: routing.Setup) -> list[Op]:
        ops: list[Op] = []
        for record in validated.to_dict("records"):
            text = {c: str(record.get(c) or "").strip() for c in CHAT_COLUMNS}
            chat, number = text["chat"], text["number"]
            op = Op(seq=len(ops), row=int(record["row"]), number=number, provider=None,
                    provider_name=text["provider"].lower(), chat=chat, record=text)
            ops.append(op)
            if not record.get("valid", True):
                op.finish(Status.INVALID, str(record.get("problems") or "the row did not pass the checks"),
                          action=Action.NONE)
                continue
            account, why = _account_for(text["provider"], number, chat, setup)
            if why:
                op.finish(Status.INVALID, why, action=Action.NONE)
                continue
            target = setup.providers[account]
            op.provider, op.provider_name, op.account = target, target.name, account
            message = text["message"] or (self.message if target.name != "linq" else "")
            if message and target.name == "linq":
                op.finish(Status.INVALID, "message: Linq shares the card without a message (it has no "
                          "share flag on messages) — leave the message empty for Linq chats",
                          action=Action.NONE)
                continue
            if target.name == "sendblue":
                op.finish(Status.INVALID, "Sendblue has no API to share the card into a chat: its "
                          "profile goes out in the number's next iMessage conversations",
                          action=Action.UNSUPPORTED)
                continue
            # the number the share really goes from: only a Blooio message takes one
            op.number = number if (message and target.name == "blooio") else ""
            op.card = ShareItem(chat=chat, text=message, from_number=op.number, number=number)  # type: ignore[assignment]
            op.desired = hashlib.sha256(json.dumps(["share", account, op.number, chat, message]).encode()
                                        ).hexdigest()[:32]
            if message:
                op.idempotency_key = "derive"      # the run derives it (run id, row, chat)
        return ops


def idempotency_key(run_id: str, row: int, chat: str) -> str:
    """The key of a message send: stable for the run, row and chat, unique across them."""
    return "cardkit-" + hashlib.sha256(f"{run_id}|{row}|{chat}".encode()).hexdigest()[:40]


def _account_for(cell: str, number: str, chat: str, setup: routing.Setup) -> tuple[str, str]:
    """The one account a chat row goes to: routed by number (or the provider cell), then the
    one whose provider takes this kind of chat."""
    accounts, why = routing.route(cell, number, setup)
    if why:
        return "", why.replace("provider column", "provider column (a provider or account name)")
    kind = chat_kind(chat)
    fitting = [a for a in accounts if setup.provider_of(a) == kind]
    if len(fitting) == 1:
        return fitting[0], ""
    if len(fitting) > 1:
        return "", (f"{number} is routed to several {kind} accounts ({', '.join(fitting)}) — write "
                    "the account in the provider column")
    if all(setup.provider_of(a) == "sendblue" for a in accounts):
        return "", ("Sendblue has no API to share the card into a chat (its profile goes out in the "
                    f"number's next iMessage conversations): {number} is a Sendblue number")
    names = ", ".join(f"{a} ({setup.provider_of(a)})" for a in accounts)
    what = "a Linq chat id" if kind == "linq" else "a Blooio chat (number, email, group or list)"
    return "", (f"chat: {chat!r} is {what}, but {number or cell} goes to {names} — put the chat with "
                "a number of that provider, or check the chat")


# ---- the faces -------------------------------------------------------------------------------

def _share_run(chats: Any, *, message: str = "", options: Any = None, remedy: str = _AGAIN, **more: Any):
    """The engine run of a share batch (built outside the loop, like `cardkit.apply`'s)."""
    from cardkit.engine.options import RunOptions
    from cardkit.engine.run import Run

    chosen = options.replace(**more) if options is not None else RunOptions(**more)
    frame = checked_input(chats, read_chats, chosen.region, "chats")
    return Run(frame, chosen.replace(photo_host=False), batch=ShareBatch(message or "", remedy=remedy))


async def share_async(chats: Any, *, message: str = "", **options: Any) -> ResultsFrame:
    """Share the card into every valid row's chat; one results row per sheet row (`chat` column).

    `chats`: a frame from `read_chats` (checked here if it isn't) or a file path. `message`:
    text sent with the card where the provider can (Blooio; a row's own `message` wins).
    Other options as `cardkit.apply` (`providers`, `accounts`, `sandbox`, `region`, `journal`,
    `resume`, `dry_run`, `max_at_once`, `progress`, `cancel`, `events`, …), as keywords or as one
    `RunOptions` (`options=`). Journaled and resumable: run it again with the same journal and
    chats already shared are skipped; a message is never posted twice (Idempotency-Key)."""
    return await _share_run(chats, message=message, **options).execute()


def share(chats: Any, *, message: str = "", **options: Any) -> ResultsFrame:
    """Sync `share_async` (scripts and notebooks alike; Ctrl-C returns partial results)."""
    run = _share_run(chats, message=message, **options)
    return run_sync(run.execute, partial=run.partial_results)


def _one_chat(chat: str, provider: Any, text: str, from_number: str) -> tuple[pd.DataFrame, Any]:
    """A one-row chats frame for `share_card`, and the providers to give the run."""
    name = provider if isinstance(provider, str) else getattr(provider, "account", provider.name)
    frame = pd.DataFrame({"row": [1], "number": [from_number], "chat": [chat], "message": [text],
                          "provider": [name]})
    return frame, provider if isinstance(provider, str) else [provider]


async def share_card_async(chat: str, *, provider: Any, text: str = "", from_number: str = "",
                           sandbox: Any = None, max_attempts: int | None = None, **options: Any) -> ResultsFrame:
    """Share the card into one `chat` (a phone number or chat id) at one provider or account.

    `text` sends a message with the card where the provider can (Blooio); otherwise the card is
    staged for the next message. `from_number` picks the sending number (a message only)."""
    frame, providers = _one_chat(chat, provider, text, from_number)
    if max_attempts is not None:
        options["max_attempts"] = max_attempts
    return await _share_run(frame, providers=providers, sandbox=sandbox, journal=False, progress=False,
                            remedy=_AGAIN_LATER, **options).execute()


def share_card(chat: str, **options: Any) -> ResultsFrame:
    """Sync `share_card_async` (scripts and notebooks alike)."""
    holder: list[ResultsFrame] = []

    async def main() -> ResultsFrame:
        holder.append(await share_card_async(chat, **options))
        return holder[0]

    from cardkit.engine.results import results_frame

    return run_sync(main, partial=lambda: holder[0] if holder else results_frame([]))
