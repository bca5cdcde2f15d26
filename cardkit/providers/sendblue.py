"""Sendblue: the card is the number's contact-sharing profile (`/api/v2/contact-sharing/…`).

`POST …/profile` replaces the profile whole and requires first name, last name and a public
photo URL, so a row missing one is unsupported *for Sendblue* before any request. `GET …/state`
returns the names but never the photo, so the photo always counts as "sent again" unless the
caller knows what was last applied (`Current.fields["photo"]`, e.g. from the journal).
Not in the vendor SDK: spoken raw with the SDK's two auth headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cardkit.errors import Permanent, Transient
from cardkit.providers import replies
from cardkit.providers._adapter import NO_FIRST_NAME, Adapter, differing, list_numbers_at
from cardkit.providers.base import Card, Change, Current, Limits, Reply, Send, Shared
from cardkit.providers.config import EnvNames
from cardkit.providers.media import photo_url_problem, redact

PROFILE = "/api/v2/contact-sharing/profile"
STATE = "/api/v2/contact-sharing/state"
LINES = "/api/v2/lines/state"
_PHOTO_WORDS = ("photo", "image", "download", "url", "fetch")


class Sendblue(Adapter):
    """Sendblue adapter. `Sendblue(api_key=..., api_secret=...)`, or `SENDBLUE_API_API_KEY` /
    `SENDBLUE_API_API_SECRET` / `SENDBLUE_API_BASE_URL` (the vendor SDK's variables)."""

    name = "sendblue"
    label = "Sendblue"
    env = EnvNames(secrets=(("api_key", "SENDBLUE_API_API_KEY"), ("api_secret", "SENDBLUE_API_API_SECRET")),
                   base_url="SENDBLUE_API_BASE_URL", default_base_url="https://api.sendblue.co")
    sandbox_credentials = {"api_key": "key_id", "api_secret": "secret"}
    photo_transport = "url"
    sets_display_name = True
    # Each write is applied on the line's device while the request waits: keep it modest.
    limits = Limits(max_at_once=16, max_per_second=50.0)

    def __init__(self, api_key: str | None = None, api_secret: str | None = None, *,
                 base_url: str | None = None, env: Mapping[str, str] | None = None,
                 account: str | None = None) -> None:
        super().__init__(base_url=base_url, env=env, account=account, api_key=api_key, api_secret=api_secret)

    def auth_headers(self) -> dict[str, str]:
        return {"sb-api-key-id": self._secret("api_key"),
                "sb-api-secret-key": self._secret("api_secret")}

    # ---- planning (pure) ---------------------------------------------------------------
    def unsupported(self, card: Card) -> str:
        if card.delete:
            return ""
        if card.clear - {"display_name"}:
            return (f"Sendblue can't clear {', '.join(sorted(card.clear - {'display_name'}))}: its profile "
                    "always has a first name, a last name and a photo — write a value, or delete the "
                    "whole profile (action delete)")
        if not card.first_name.strip():
            return NO_FIRST_NAME.format(label=self.label)
        if not card.last_name.strip():
            return ("Sendblue needs a last name (its profile is replaced whole and last name is "
                    "required) — fill last_name for this row or route it to another provider")
        if card.keep_photo:
            return ""
        return photo_url_problem(card, self.label, required=True)

    def change(self, card: Card, current: Current) -> Change:
        if card.delete:
            if current.known and not current.exists:
                return Change("unchanged")
            return Change("delete", tuple(f for f in ("first_name", "last_name", "display_name", "photo")
                                          if not current.known or current.fields.get(f, True)))
        wanted = _wanted(card, current)
        if card.keep_photo:
            wanted.pop("photo")
            changed = differing(wanted, current) if current.known and current.exists else tuple(wanted)
            if not changed:
                return Change("unchanged")
            return Change("unsupported", changed,
                          "Sendblue replaces the profile whole and never returns its photo, so the "
                          "[keep] photo can't be sent along — to change this profile, give its photo "
                          "(a file or an https URL) in the photo column")
        if not current.known:
            return Change("replace", tuple(wanted), "the current profile can't be read: it is sent whole")
        if not current.exists:
            return Change("create", tuple(wanted))
        changed = differing(wanted, current)
        if not changed:
            return Change("unchanged")
        reason = ""
        if changed == ("photo",) and "photo" not in current.fields:
            reason = "Sendblue never returns the photo, so it is sent again"
        return Change("replace", changed, reason)

    # ---- protocol ----------------------------------------------------------------------
    async def list_numbers(self, send: Send) -> list[str]:
        return await list_numbers_at(send, LINES, "data", "sendblue_number",
                                     label=self.label, failure=failure)

    async def read(self, send: Send, number: str) -> Current:
        reply = await send("GET", STATE, params={"fromNumber": number})
        if reply.status != 200:
            raise failure(reply, f"reading the profile of {number}")
        data = reply.body.get("data") if isinstance(reply.body, dict) else None
        if not isinstance(data, dict):
            raise replies.not_json(self.label, reply, f"GET {STATE}")
        fields = {"first_name": data.get("firstName") or "", "last_name": data.get("lastName") or "",
                  "display_name": data.get("displayName") or ""}
        return Current(known=True, exists=bool(data.get("hasProfile")), fields=fields)

    async def write(self, send: Send, card: Card, current: Current) -> Change:
        planned = self.planned_write(card, current)
        if planned.action in ("unchanged", "unsupported"):
            return planned
        if card.delete:
            await self.delete(send, card.number)
            return planned
        body: dict[str, Any] = {"fromNumber": card.number, "firstName": card.first_name,
                                "lastName": card.last_name, "photoUrl": card.photo_url}
        display_name = _wanted(card, current)["display_name"]
        if display_name:
            body["displayName"] = display_name
        reply = await send("POST", PROFILE, json=body)
        if not 200 <= reply.status < 300:
            raise failure(reply, f"setting the profile of {card.number}", photo_url=card.photo_url)
        return planned

    async def delete(self, send: Send, number: str) -> None:
        """Remove the number's profile (`DELETE …/profile`, which takes a JSON body)."""
        reply = await send("DELETE", PROFILE, json={"fromNumber": number})
        if not 200 <= reply.status < 300:
            raise failure(reply, f"deleting the profile of {number}")

    async def share(self, send: Send, chat: str, *, text: str = "", from_number: str = "",
                    idempotency_key: str = "") -> Shared:
        raise Permanent("Sendblue has no API to share the card into a chat: its profile is shared "
                        "automatically in the number's subsequent iMessage conversations")


def _wanted(card: Card, current: Current) -> dict[str, Any]:
    """Everything the profile will hold after the POST (it replaces the profile whole). An
    empty display-name cell leaves the display name as it is (sent again as read); only
    "[clear]" removes it."""
    display_name = card.display_name
    if not display_name and "display_name" not in card.clear and current.known:
        display_name = str(current.fields.get("display_name") or "")
    return {"first_name": card.first_name, "last_name": card.last_name,
            "display_name": display_name, "photo": card.photo_digest or card.photo_url}


def _error_body(reply: Reply) -> replies.ErrorBody:
    """Sendblue's error body `{status: "ERROR", message, code?}`."""
    body = reply.body if isinstance(reply.body, dict) else {}
    return replies.ErrorBody(replies.code_text(body.get("code") or body.get("error_code")),
                             replies.said_in(reply, body.get("message")))


def _about_the_photo(reply: Reply, error: replies.ErrorBody) -> bool:
    """A 500 saying the photo couldn't be fetched: the URL needs fixing, not another attempt."""
    return reply.status == 500 and any(w in error.said.lower() for w in _PHOTO_WORDS)


#: HTTP's rule, except a 500 about the photo (Sendblue could not download it: fix the URL).
RULES = replies.ReplyRules("sendblue", "Sendblue", _error_body, permanent=_about_the_photo)


def failure(reply: Reply, doing: str, *, photo_url: str = "") -> Transient | Permanent:
    """The failure for a Sendblue reply, with what to do about it (also for contacts)."""
    verdict = replies.classify(reply, RULES)
    todo = {
        400: f"Sendblue refused the request while {doing}: fix the value it names",
        401: "the credentials were refused — check SENDBLUE_API_API_KEY and SENDBLUE_API_API_SECRET",
        403: f"your Sendblue account does not own this number ({doing}): use the account that "
             "owns it, or route the row to its provider",
        404: f"no active Sendblue number matches ({doing}): check the number is one of your lines",
        503: "the line's device is temporarily unavailable",
    }.get(reply.status, "")
    if _about_the_photo(reply, replies.ErrorBody(verdict.code, verdict.said)):
        where = f" {redact(photo_url)}" if photo_url else ""
        todo = (f"Sendblue could not use the photo{where}: make it a public, direct https link to "
                "a JPEG or PNG and run again")
    elif not todo:
        todo = f"failed while {doing}" + (" (a temporary failure)" if verdict.transient else "")
    return replies.failure(reply, RULES, verdict, todo)
