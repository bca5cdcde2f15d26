"""Blooio (API v2): the card of a number via `PUT /me/numbers/{number}/contact-card`.

PUT merges (only fields sent change); the photo travels as base64 of the prepared JPEG; the
sharing settings ride along. GET of the card is documented but marked "coming soon" in the
SDK: when it isn't answered, the card reads as unknown and every given field is sent.
Setting name or photo needs a Dedicated plan; other plans get 403 — the same status as
"not your number", so a 403 is told apart by asking `GET /me/numbers`. That listing does not
say a number's plan, so a plan is known before writing only when someone said it: the
accounts file (`plan`, `plans`), or the journal of an earlier run in which Blooio refused
(`know_plans`; `learned_plans` is what this run found out).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cardkit.errors import Permanent, Transient
from cardkit.photos import BLOOIO_PHOTO
from cardkit.providers import replies
from cardkit.providers._adapter import (
    BearerAdapter,
    bytes_of_base64,
    decide,
    differing,
    digest,
    digest_of_base64,
    list_numbers_at,
)
from cardkit.providers.base import Card, Change, Current, Limits, Reply, Send, Shared, Sharing
from cardkit.providers.config import EnvNames
from cardkit.providers.media import has_photo

#: The largest avatar sent: what `prepare_photo` makes for Blooio (under Blooio's ~1 MB limit).
MAX_AVATAR_BYTES = BLOOIO_PHOTO.max_bytes
#: Blooio plans that may set first_name / last_name / avatar.
NAME_PLANS = ("dedicated_commercial", "dedicated_enterprise")
_NAME_FIELDS = ("first_name", "last_name", "photo")
_LEARNED_PLAN = "not Dedicated"
_UNREADABLE = (404, 405, 410, 501)
_PLAN_HELP = ("Blooio lets only Dedicated Commercial and Dedicated Enterprise plans set the name "
              "and photo; other plans can change the sharing settings only")


class Blooio(BearerAdapter):
    """Blooio adapter. `Blooio(api_key=..., base_url=...)`, or `BLOOIO_API_KEY` / `BLOOIO_BASE_URL`."""

    name = "blooio"
    label = "Blooio"
    env = EnvNames(secrets=(("api_key", "BLOOIO_API_KEY"),), base_url="BLOOIO_BASE_URL",
                   default_base_url="https://backend.blooio.com/v2/api")
    photo_transport = "bytes"
    # Blooio publishes no rate limit: concurrency is the real bound, the rate a safety net.
    limits = Limits(max_at_once=64, max_per_second=2000.0)

    def __init__(self, api_key: str | None = None, *, base_url: str | None = None,
                 env: Mapping[str, str] | None = None, account: str | None = None,
                 plan: str = "", plans: Mapping[str, str] | None = None,
                 plan_source: str = "declared") -> None:
        """`plan` (of every number of the key) and `plans` ({number: plan}) say what Blooio's
        API never does, so name/photo on a standard plan is `unsupported` at plan time."""
        super().__init__(api_key, base_url=base_url, env=env, account=account)
        self._declared = {n: (p, plan_source) for n, p in (plans or {}).items()}
        self._declared_plan = (plan, plan_source) if plan else None
        self._remembered: dict[str, tuple[str, str]] = {}   # number → (date, run) of an earlier refusal
        self.learned_plans: dict[str, str] = {}   # number → plan a 403 showed in this run
        self._avatars = _Avatars()

    def know_plans(self, refusals: Mapping[str, tuple[str, str]]) -> None:
        """Numbers whose name/photo Blooio refused in an earlier run: {number: (date, run)}.
        A plan declared in the accounts file wins (the way to say "it is Dedicated now")."""
        self._remembered.update(refusals)

    def plan_of(self, number: str, current: Current | None = None) -> tuple[str, str]:
        """What is known of `number`'s plan and where from (("", "") nothing): Blooio's own
        answer, this run's 403, the accounts file, an earlier run's refusal — in that order."""
        read = str(current.fields.get("plan") or "") if current is not None else ""
        if read:
            return read, ""
        if number in self.learned_plans:
            return self.learned_plans[number], ""
        declared = self._declared.get(number) or self._declared_plan
        if declared:
            return declared
        if number in self._remembered:
            when, run = self._remembered[number]
            return _LEARNED_PLAN, f"Blooio refused name and photo for {number} on {when[:10]} (run {run})"
        return "", ""

    # ---- planning (pure) ---------------------------------------------------------------
    def unsupported(self, card: Card) -> str:
        if card.delete:
            return ("Blooio has no API to remove a card (its card is only updated with PUT): change "
                    "the row's action to set, or route it to a provider that can delete")
        if card.clear:
            return (f"Blooio's API does not say how to clear {', '.join(sorted(card.clear))} (its PUT "
                    "changes only the fields given) — cardkit won't guess: write a value instead")
        if card.photo_bytes is not None and len(card.photo_bytes) > MAX_AVATAR_BYTES:
            return (f"the prepared photo is {len(card.photo_bytes) // 1024} KB; Blooio takes at most "
                    f"~{MAX_AVATAR_BYTES // 1000} KB — use a smaller or simpler image")
        return ""

    def change(self, card: Card, current: Current) -> Change:
        wanted = _wanted(card)
        if "photo" in wanted and current.fields.get("photo") in card.photo_aliases:
            wanted["photo"] = current.fields["photo"]    # the same photo, as Blooio stores it
        current = _as_compared(current, card.sharing)
        plan, source = self.plan_of(card.number, current)
        if plan and plan not in NAME_PLANS:
            # The plan is known (read, declared, or learned from a 403 in this run or an
            # earlier one): name and photo would be refused, the sharing settings still apply.
            names = {f: v for f, v in wanted.items() if f in _NAME_FIELDS}
            blocked = list(differing(names, current) if current.known else names)   # only what would change
            allowed = {f: v for f, v in wanted.items() if f not in _NAME_FIELDS}
            why = _plan_reason(plan, source, blocked)
            if blocked and not allowed:
                return Change("unsupported", tuple(blocked), why)
            result = decide(allowed, current)
            if not blocked:
                return result
            done = "" if result.action != "unchanged" else "the sharing is already as given; "
            return Change(result.action, result.fields, f"{done}not set: {', '.join(blocked)} — {why}",
                          refused=tuple(blocked))
        return decide(wanted, current)

    # ---- protocol ----------------------------------------------------------------------
    async def list_numbers(self, send: Send) -> list[str]:
        return await list_numbers_at(send, "/me/numbers", "numbers", "phone_number",
                                     label=self.label, failure=_failure)

    async def read(self, send: Send, number: str) -> Current:
        reply = await send("GET", f"/me/numbers/{replies.path_number(number)}/contact-card")
        if reply.status in _UNREADABLE or _coming_soon(reply):
            return Current(known=False)
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise _failure(reply, f"reading the card of {number}")
        body = reply.body
        fields: dict[str, Any] = {
            "first_name": body.get("first_name") or "",
            "last_name": body.get("last_name") or "",
            "display_name": body.get("name") or "",
            "photo": digest_of_base64(body.get("avatar")),
        }
        photo = bytes_of_base64(body.get("avatar"))
        sharing = body.get("sharing")
        if isinstance(sharing, dict):
            fields["sharing"] = Sharing(sharing.get("enabled"), sharing.get("audience"),
                                        sharing.get("name_format"))
        if body.get("plan"):
            fields["plan"] = str(body["plan"])
        exists = bool(fields["first_name"] or fields["last_name"] or fields["photo"])
        return Current(known=True, exists=exists, fields=fields, photo_bytes=photo)

    async def write(self, send: Send, card: Card, current: Current) -> Change:
        planned = self.planned_write(card, current)
        if planned.action in ("unchanged", "unsupported"):
            return planned
        body = _body(card, planned.fields, self._avatars)
        reply = await self._put(send, card, body)
        if reply.status == 403:
            failure, owned = await self._explain_403(send, reply, card, planned.fields)
            if not (owned and any(f in _NAME_FIELDS for f in planned.fields)):
                raise failure
            # The plan refuses name/photo: remember it, and send what the plan allows.
            self.learned_plans[card.number] = _LEARNED_PLAN
            planned = self.change(card, current)
            if planned.action == "unsupported":
                raise failure
            if planned.action == "unchanged":
                return planned            # partial: the sharing is as given, name/photo refused
            reply = await self._put(send, card, _body(card, planned.fields, self._avatars))
        if not 200 <= reply.status < 300:
            raise _failure(reply, f"updating the card of {card.number}")
        return planned

    async def _put(self, send: Send, card: Card, body: dict[str, Any]) -> Reply:
        return await send("PUT", f"/me/numbers/{replies.path_number(card.number)}/contact-card", json=body)

    async def share(self, send: Send, chat: str, *, text: str = "", from_number: str = "",
                    idempotency_key: str = "") -> Shared:
        """With `text`: one message carrying the card (`share_contact: true`), from `from_number`
        when given, under `idempotency_key` (Blooio's documented `Idempotency-Key`: a second
        send with the same key is refused with 409, so a retried or resumed send can't post
        twice). Without: the card is staged for the next message in the chat."""
        chat_path = f"/chats/{replies.path_number(chat)}"
        if text:
            body: dict[str, Any] = {"text": text, "share_contact": True}
            if from_number:
                body["from_number"] = from_number
            extra = {"headers": {"Idempotency-Key": idempotency_key}} if idempotency_key else {}
            reply = await send("POST", f"{chat_path}/messages", json=body, **extra)
            if reply.status == 409 and idempotency_key and _duplicate_key(reply):
                return Shared(f"already sent to {chat}: Blooio refused a second copy of this message "
                              "(same Idempotency-Key), so an earlier attempt had landed", from_number,
                              landed_before=True)
        else:
            # Staging is idempotent by Blooio's docs ("calling it multiple times is harmless"):
            # a retried or resumed stage can't put the card into the chat twice, so it needs no key.
            # The endpoint takes no sending number: the card goes with the next message, from
            # whichever of the key's numbers sends it — so no number is reported for it.
            reply = await send("POST", f"{chat_path}/contact-card")
        if reply.status == 403:
            raise _failure(reply, f"sharing the card into {chat}", todo=(
                "Blooio shares cards only from Dedicated Commercial/Enterprise plans — check the "
                "number's plan" + (" and that from_number is one of this API key's numbers"
                                   if text and from_number else "")))
        if not 200 <= reply.status < 300:
            raise _failure(reply, f"sharing the card into {chat}")
        if text:
            status = reply.body.get("status", "queued") if isinstance(reply.body, dict) else "queued"
            return Shared(f"card sent with a message to {chat} (message {status})", from_number)
        said = reply.body.get("message") if isinstance(reply.body, dict) else ""
        staged = replies.provider_text(said) or "it goes with the next message"
        return Shared(f"card staged in {chat}: {staged}"
                      + (f" (Blooio's staging takes no sending number: from_number {from_number} was "
                         "not used)" if from_number else ""))

    async def _explain_403(self, send: Send, reply: Reply, card: Card,
                           fields: tuple[str, ...]) -> tuple[Permanent, bool | None]:
        """Tell "plan restriction" from "not your number" by asking which numbers the key has.

        Returns the failure to raise and whether the key owns the number (None: unknown)."""
        try:
            owned = card.number in await self.list_numbers(send)
        except Exception:  # the listing failing too must not hide the original 403
            owned = None
        asks_name = any(f in _NAME_FIELDS for f in fields)
        if owned and asks_name:
            todo = (f"{card.number} belongs to this API key, so its plan is the cause: only "
                    "Dedicated plans may set name and photo — move the number to a Dedicated plan "
                    "(its sharing_* columns can be set on any plan)")
        elif owned is False:
            todo = (f"{card.number} is not among this API key's numbers (GET /me/numbers): use the "
                    "key that owns it, or route the row to the provider that does")
        else:
            todo = ("either the number is not accessible with this API key (check GET /me/numbers) "
                    f"or its plan forbids it ({_PLAN_HELP})")
        failure = _failure(reply, f"updating the card of {card.number}", todo=todo)
        assert isinstance(failure, Permanent)
        return failure, owned


def _plan_reason(plan: str, source: str, blocked: list[str]) -> str:
    """Why name/photo won't be set, saying how the plan is known and what to do."""
    fields = ", ".join(blocked)
    if plan == _LEARNED_PLAN and source:
        return (f"{source}: its plan is not Dedicated, so only sharing can be set — "
                f"{_PLAN_HELP}. Moved it to a Dedicated plan since? declare plan = \"dedicated_commercial\" "
                "for it in the accounts file (--accounts)")
    shown = f"{plan}, {source}" if source else plan
    return f"this number's plan ({shown}) can't set {fields}: {_PLAN_HELP}"


def _wanted(card: Card) -> dict[str, Any]:
    """The fields this card sets at Blooio, as compared with a read card."""
    wanted: dict[str, Any] = {}
    if card.first_name:           # empty: a row setting the sharing alone leaves the names as they are
        wanted["first_name"] = card.first_name
    if card.last_name:
        wanted["last_name"] = card.last_name
    if has_photo(card):
        wanted["photo"] = card.photo_digest or (digest(card.photo_bytes) if card.photo_bytes else "")
    if card.sharing is not None and any(
            v is not None for v in (card.sharing.enabled, card.sharing.audience, card.sharing.name_format)):
        wanted["sharing"] = card.sharing
    return wanted


def _as_compared(current: Current, given: Sharing | None) -> Current:
    """`current` with its sharing reduced to the settings the card gives (None = leave as is)."""
    have = current.fields.get("sharing")
    if given is None or not isinstance(have, Sharing):
        return current
    seen = Sharing(*(h if g is not None else None for h, g in (
        (have.enabled, given.enabled), (have.audience, given.audience),
        (have.name_format, given.name_format))))
    return Current(current.known, current.exists, {**current.fields, "sharing": seen})


def _body(card: Card, fields: tuple[str, ...], avatars: _Avatars) -> dict[str, Any]:
    """The PUT body for the fields to change (partial merge: nothing else is sent)."""
    body: dict[str, Any] = {}
    if "first_name" in fields:
        body["first_name"] = card.first_name
    if "last_name" in fields:
        body["last_name"] = card.last_name
    if "photo" in fields:
        if card.photo_bytes is None:
            raise Permanent(f"the photo {card.photo_source or ''!s} was not prepared as bytes, which "
                            "Blooio needs (base64 in the request) — this is a cardkit bug, please report it")
        body["avatar"] = avatars.base64(card.photo_bytes)
    if "sharing" in fields and card.sharing is not None:
        body["sharing"] = {k: v for k, v in (("enabled", card.sharing.enabled),
                                             ("audience", card.sharing.audience),
                                             ("name_format", card.sharing.name_format)) if v is not None}
    return body


class _Avatars:
    """The last few avatars as base64: one photo often serves many numbers in a row. Held by
    the adapter (one per run unless you pass your own), at most `keep` photos (~1.3 MB each)."""

    def __init__(self, keep: int = 4) -> None:
        self._keep = keep
        self._recent: dict[bytes, str] = {}

    def base64(self, photo: bytes) -> str:
        text = self._recent.get(photo)    # bytes cache their hash: the lookup costs next to nothing
        if text is None:
            text = base64.b64encode(photo).decode("ascii")
            if len(self._recent) >= self._keep:
                self._recent.pop(next(iter(self._recent)))
            self._recent[photo] = text
        return text


def _duplicate_key(reply: Reply) -> bool:
    """A 409 that says the Idempotency-Key was used (the documented "duplicate idempotency key");
    a 409 saying nothing more on a keyed send means the same."""
    text = str(reply.body).lower() if reply.body is not None else ""
    return "idempotency" in text or "duplicate" in text or not text.strip("{}' ")


def _coming_soon(reply: Reply) -> bool:
    text = str(reply.body).lower() if reply.body is not None else ""
    return reply.status >= 400 and ("coming soon" in text or "temporarily disabled" in text)


def _error_body(reply: Reply) -> replies.ErrorBody:
    """Blooio's error body `{error, message, status, code?}` (its shape varies between pages)."""
    body = reply.body if isinstance(reply.body, dict) else {}
    return replies.ErrorBody(replies.code_text(body.get("code") or body.get("error")),
                             replies.said_in(reply, body.get("message")))


#: Blooio follows HTTP's rule as it is (no documented departures).
RULES = replies.ReplyRules("blooio", "Blooio", _error_body)


def _failure(reply: Reply, doing: str, *, todo: str = "") -> Transient | Permanent:
    """The failure for a Blooio reply, with what to do about it."""
    verdict = replies.classify(reply, RULES)
    if not todo:
        todo = {
            400: f"Blooio refused the request while {doing}: fix the value it names",
            401: "the API key was refused — check BLOOIO_API_KEY (or api_key=)",
            402: "payment required (trial limit reached?) — check the Blooio account's billing",
            403: f"not allowed while {doing}: check the number is on this API key (GET /me/numbers) "
                 "and that its plan allows it",
            404: f"not found while {doing}: check the number is one of this API key's numbers",
            409: f"conflict while {doing}: read the current state and try again",
        }.get(reply.status, f"temporary failure while {doing}" if verdict.transient else f"while {doing}")
    return replies.failure(reply, RULES, verdict, todo)
