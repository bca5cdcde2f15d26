"""Linq (partner API v3): `POST /v3/contact_card` to create, `PATCH ?phone_number=` to merge.

POST is for the first setup only: once a card is active it answers 409 / code 2014, which
means "use PATCH" — cardkit switches to PATCH, never re-sends the POST. POST and PATCH share a
budget of 3 calls per 10 minutes per number (`Limits.writes_per_window`); a 429 carries the
wait. 500/2022 ("setup did not complete") is worth another try after a few seconds; 503/4004
means the upstream write is rate-limited — wait at least 30 s, since hammering extends it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cardkit.errors import Permanent, Transient
from cardkit.providers import replies
from cardkit.providers._adapter import NO_FIRST_NAME, BearerAdapter, differing, list_numbers_at
from cardkit.providers.base import Card, Change, Current, Limits, Reply, Send, Shared
from cardkit.providers.config import EnvNames
from cardkit.providers.media import photo_url_problem
from cardkit.providers.s3_host import without_signature

CARD = "/v3/contact_card"
NUMBERS = "/v3/phone_numbers"
#: The least wait after 503/4004 (the error table says "retry after 30 seconds").
WAIT_4004 = 30.0
#: The least wait after 500/2022 (the docs: "retry the same POST or PATCH after a few seconds").
WAIT_2022 = 3.0
_NO_CARD = {"2012", "2001"}


class Linq(BearerAdapter):
    """Linq adapter. `Linq(api_key=..., base_url=...)`, or `LINQ_API_V3_API_KEY` / `LINQ_API_V3_BASE_URL`."""

    name = "linq"
    label = "Linq"
    env = EnvNames(secrets=(("api_key", "LINQ_API_V3_API_KEY"),), base_url="LINQ_API_V3_BASE_URL",
                   default_base_url="https://api.linqapp.com/api/partner")
    photo_transport = "url"
    limits = Limits(max_at_once=16, max_per_second=20.0, writes_per_window=3, window_seconds=600.0)

    # ---- planning (pure) ---------------------------------------------------------------
    def unsupported(self, card: Card) -> str:
        if card.delete:
            return ("Linq's API has no delete for contact cards (create, read and update only): "
                    "change the row's action to set, or remove the card in Linq's dashboard")
        if card.clear:
            return (f"Linq's PATCH keeps every field it is not given and documents no way to clear "
                    f"one ({', '.join(sorted(card.clear))}) — write a value instead")
        if not card.first_name.strip():
            return NO_FIRST_NAME.format(label=self.label)
        return photo_url_problem(card, self.label, required=False)

    def change(self, card: Card, current: Current) -> Change:
        wanted = _wanted(card)
        if not current.known:
            return Change("update", tuple(wanted), "the current card can't be read: every given field is sent")
        if not current.exists:
            reason = ("the last setup did not complete (card not active): it is set up again"
                      if current.fields.get("inactive") else "")
            return Change("create", tuple(wanted), reason)
        changed = differing(wanted, current)
        return Change("update", changed) if changed else Change("unchanged")

    # ---- protocol ----------------------------------------------------------------------
    async def list_numbers(self, send: Send) -> list[str]:
        return await list_numbers_at(send, NUMBERS, "phone_numbers", "phone_number",
                                     label=self.label, failure=_failure)

    async def read(self, send: Send, number: str) -> Current:
        reply = await send("GET", CARD, params={"phone_number": number})
        if reply.status == 404 and _code(reply) in _NO_CARD:
            return Current(known=True, exists=False)
        return _current(self._cards(reply, f"reading the card of {number}"), number)

    async def read_many(self, send: Send, numbers: Iterable[str]) -> dict[str, Current]:
        """Every card at once: `GET /v3/contact_card` without `phone_number` lists all the
        partner's cards (providers.md §3.2) — one request instead of one per number."""
        listed = self._cards(await send("GET", CARD), "listing the contact cards")
        by_number: dict[str, list[dict[str, Any]]] = {}
        for card in listed:
            if isinstance(card, dict):
                by_number.setdefault(str(card.get("phone_number") or ""), []).append(card)
        return {number: _current(by_number.get(number, []), number) for number in numbers}

    def _cards(self, reply: Reply, doing: str) -> list[Any]:
        """The `contact_cards` list of a GET reply, or the failure it stands for."""
        if reply.status != 200:
            raise _failure(reply, doing)
        cards = reply.body.get("contact_cards") if isinstance(reply.body, dict) else None
        if not isinstance(cards, list):
            raise replies.not_json(self.label, reply, f"GET {CARD}")
        return cards

    async def write(self, send: Send, card: Card, current: Current) -> Change:
        planned = self.planned_write(card, current)
        if planned.action == "unchanged":
            return planned
        if planned.action == "create" or not current.known:
            return await self._create(send, card, planned)
        return await self._update(send, card, planned.fields, may_create=True)

    async def _create(self, send: Send, card: Card, planned: Change) -> Change:
        body = {"phone_number": card.number, **_body(card, tuple(_wanted(card)))}
        reply = await send("POST", CARD, json=body)
        if reply.status == 409 and _code(reply) == "2014":
            # A card is already active: PATCH what we want; never send this POST again.
            return await self._update(send, card, tuple(_wanted(card)), may_create=False)
        _check_applied(reply, f"creating the card of {card.number}")
        return Change("create", planned.fields, planned.reason)

    async def _update(self, send: Send, card: Card, fields: tuple[str, ...], *,
                      may_create: bool) -> Change:
        reply = await send("PATCH", CARD, params={"phone_number": card.number}, json=_body(card, fields))
        if reply.status == 404 and _code(reply) in _NO_CARD and may_create:
            # No active card after all (it was removed, or never activated): set it up.
            return await self._create(send, card, Change("create", tuple(_wanted(card))))
        _check_applied(reply, f"updating the card of {card.number}")
        return Change("update", fields)

    async def share(self, send: Send, chat: str, *, text: str = "", from_number: str = "",
                    idempotency_key: str = "") -> Shared:
        """`POST /v3/chats/{chat}/share_contact_card`: Linq sends the card of the chat's own line.

        Not a message: it takes no Idempotency-Key. Linq allows one share per chat per 5 minutes
        (429 otherwise); the engine reads a 429 after an attempt whose outcome is unknown as
        "that attempt landed" (`cardkit.engine.sharing.ShareTarget`)."""
        if text:
            raise Permanent("Linq shares the card on its own, without a message (it has no share "
                            "flag on messages): leave the message empty for Linq chats")
        reply = await send("POST", f"/v3/chats/{replies.path_number(chat)}/share_contact_card")
        if not 200 <= reply.status < 300:
            raise _failure(reply, f"sharing the card into chat {chat}")
        return Shared(f"card shared into chat {chat} (from the chat's own line)")


def _current(cards: list[Any], number: str) -> Current:
    """What a GET's `contact_cards` say about `number` (its active card first)."""
    mine = [c for c in cards if isinstance(c, dict) and c.get("phone_number") == number]
    if not mine:
        return Current(known=True, exists=False)
    card = next((c for c in mine if c.get("is_active")), mine[0])
    fields = {"first_name": card.get("first_name") or "", "last_name": card.get("last_name") or "",
              "photo": without_signature(card.get("image_url") or "")}
    if not card.get("is_active"):
        fields["inactive"] = True
    return Current(known=True, exists=bool(card.get("is_active")), fields=fields)


def _wanted(card: Card) -> dict[str, Any]:
    """The fields this card sets at Linq (PATCH merges: empty cells are left as they are)."""
    wanted: dict[str, Any] = {"first_name": card.first_name}
    if card.last_name:
        wanted["last_name"] = card.last_name
    if card.photo_url:
        wanted["photo"] = without_signature(card.photo_url)   # a re-signed URL of one object is no change
    return wanted


def _body(card: Card, fields: tuple[str, ...]) -> dict[str, Any]:
    names = {"first_name": card.first_name, "last_name": card.last_name, "photo": card.photo_url}
    wire = {"first_name": "first_name", "last_name": "last_name", "photo": "image_url"}
    return {wire[f]: names[f] for f in fields if f in wire}


def _check_applied(reply: Reply, doing: str) -> None:
    """Raise unless the write landed and the card is active on the device."""
    if not 200 <= reply.status < 300:
        raise _failure(reply, doing)
    if isinstance(reply.body, dict) and reply.body.get("is_active") is False:
        raise Transient(f"Linq stored the card but could not apply it to the device (is_active "
                        f"false) while {doing}", provider="linq", reply=reply)


def _code(reply: Reply) -> str | None:
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code not in (None, "") else None


_TODO = {
    "1001": "a required field is missing: fill it in the sheet",
    "1002": "the number must be in E.164 format (+ and country code)",
    "1003": "the request body was refused: check the row's values",
    "1005": "a value was refused: check the row's values",
    "2001": "not found: check the number or chat belongs to this Linq account",
    "2004": "the API key was refused — check LINQ_API_V3_API_KEY (or api_key=)",
    "2005": "access denied — this API key can't change this resource",
    "2006": "this API key has no permission for this phone number: use the account that owns it",
    "2011": "the feature is not enabled for this account — contact Linq support",
    "2012": "the line has no active contact card: apply a card to it first",
    "2015": "conflicts with the card's current state: run again to re-read it",
    "2022": "the card setup did not complete on the device yet (temporary: it usually does within a few seconds)",
    "2027": "the line is temporarily ineligible for new activity: try again once Linq lists it as eligible",
    "3006": "Linq had an internal error (temporary; contact Linq support with the trace id if it persists)",
    "4004": f"Linq's upstream write is rate-limited; it needs at least {WAIT_4004:g} s between attempts (retrying sooner extends it)",
    "5002": "Linq could not download the photo: make the URL publicly reachable",
    "5004": "the photo's file type was refused: use a JPEG or PNG",
    "5005": "the photo is too large: use a smaller image",
    "5006": "the photo's content does not match its type: re-save it as JPEG",
    "5007": "Linq could not download the photo from its URL: make it a public, direct https link",
}


def _error_body(reply: Reply) -> replies.ErrorBody:
    """Linq's envelope `{success: false, error: {status, code, message, retry_after?}, trace_id}`."""
    body = reply.body if isinstance(reply.body, dict) else {}
    error = body["error"] if isinstance(body.get("error"), dict) else {}
    return replies.ErrorBody(_code(reply), replies.said_in(reply, error.get("message")),
                             error.get("retry_after"))


#: HTTP's rule, with Linq's documented departures: 500/5002 (it could not download the photo)
#: needs the URL fixed; 500/2022 is retried after a few seconds; 503/4004 after 30 s at least.
RULES = replies.ReplyRules(
    "linq", "Linq", _error_body,
    permanent=lambda reply, error: error.code == "5002",
    least_wait={"2022": WAIT_2022, "4004": WAIT_4004},
)


def _failure(reply: Reply, doing: str) -> Transient | Permanent:
    """The failure for a Linq reply, with what to do about it and Linq's trace id."""
    verdict = replies.classify(reply, RULES)
    todo = _TODO.get(verdict.code or "", "")
    if reply.status == 429:
        todo = ("Linq allows 3 card writes per 10 minutes per number (1 share per chat per 5 min): "
                "waiting as it asks")
    elif not todo:
        todo = f"failed while {doing}" + (" (a temporary failure)" if verdict.transient else "")
    trace = reply.body.get("trace_id") if isinstance(reply.body, dict) else None
    if trace:
        todo += f" (trace_id {trace})"
    return replies.failure(reply, RULES, verdict, todo)
