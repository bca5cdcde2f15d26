"""Sendblue's contact records as a batch target: read, decide, write — like a card adapter.

`GET/PUT /api/v2/contacts/{phone}` and `POST /api/v2/contacts` (see /work/shared/provider-docs);
replies are classified by the Sendblue adapter's own `failure`, so a contact's error reads like a card's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cardkit.contacts.checks import Contact
from cardkit.providers import replies
from cardkit.providers.base import Change, Current, Send
from cardkit.providers.sendblue import Sendblue, failure

#: What `POST /api/v2/contacts` takes besides `number` (the rest goes by PUT after creating).
_CREATE_FIELDS = ("first_name", "last_name", "assigned_to_email", "sendblue_number", "tags")


class SendblueContacts:
    """Sendblue's contact records as a batch target.

    Wraps a `Sendblue` adapter (its credentials and base URL); the engine drives it exactly as
    it drives the card adapters, with a `Contact` where they take a `Card`.
    """

    name = "sendblue"
    photo_transport = "none"
    limits = Sendblue.limits         # the same account and API: the same default pace

    def __init__(self, sendblue: Any, *, create_missing: bool = False) -> None:
        self.sendblue = sendblue
        self.account = getattr(sendblue, "account", "sendblue")
        self.base_url = sendblue.base_url
        self.create_missing = create_missing

    def __repr__(self) -> str:
        return f"SendblueContacts({self.sendblue!r}, create_missing={self.create_missing})"

    def auth_headers(self) -> dict[str, str]:
        return self.sendblue.auth_headers()

    def unsupported(self, contact: Contact) -> str:
        return ""

    async def list_numbers(self, send: Send) -> list[str]:
        return await self.sendblue.list_numbers(send)

    async def read(self, send: Send, number: str) -> Current:
        reply = await send("GET", f"/api/v2/contacts/{replies.path_number(number)}")
        if reply.status == 404:
            return Current(known=True, exists=False)
        if reply.status != 200:
            raise failure(reply, f"reading the contact {number}")
        record = reply.body.get("contact") if isinstance(reply.body, dict) else None
        if not isinstance(record, dict):
            raise replies.not_json("Sendblue", reply, "GET /api/v2/contacts/{phone}")
        return Current(known=True, exists=True, fields=_fields_of(record))

    def change(self, contact: Contact, current: Current) -> Change:
        wanted = contact.wanted()
        if not current.exists:
            if not self.create_missing:
                return Change("unsupported", tuple(wanted), f"Sendblue has no contact {contact.number} — "
                              "check the number, or create missing contacts (create_missing=True, "
                              "`cardkit contacts --create-missing`)")
            return Change("create", tuple(wanted))
        have = current.fields
        changed = tuple(f for f, v in wanted.items() if have.get(f) != v)
        return Change("update", changed) if changed else Change("unchanged")

    async def write(self, send: Send, contact: Contact, current: Current) -> Change:
        planned = self.change(contact, current)
        if planned.action in ("unchanged", "unsupported"):
            return planned
        fields = planned.fields
        if planned.action == "create":
            # POST takes no company_name (SDK ContactCreateParams): create, then PUT the rest.
            created = tuple(f for f in fields if f in _CREATE_FIELDS)
            reply = await send("POST", "/api/v2/contacts", json={
                "number": contact.number, **_body(contact, created), "update_if_exists": True})
            if not 200 <= reply.status < 300:
                raise failure(reply, f"creating the contact {contact.number}")
            fields = tuple(f for f in fields if f not in _CREATE_FIELDS)
            if not fields:
                return planned
        reply = await send("PUT", f"/api/v2/contacts/{replies.path_number(contact.number)}",
                           json=_body(contact, fields))
        if not 200 <= reply.status < 300:
            raise failure(reply, f"updating the contact {contact.number}")
        return planned


def _fields_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A contact as Sendblue returns it (snake_case, or the guide's camelCase) → comparable fields."""
    def pick(snake: str, camel: str) -> str:
        value = record.get(snake, record.get(camel))
        return str(value) if value not in (None, "") else ""

    tags = record.get("tags") or []
    return {
        "first_name": pick("first_name", "firstName"), "last_name": pick("last_name", "lastName"),
        "company_name": pick("company_name", "companyName"),
        "assigned_to_email": pick("assigned_to_email", "assignedToEmail"),
        "sendblue_number": pick("sendblue_number", "sendblueNumber"),
        "tags": tuple(sorted((str(t) for t in tags), key=str.casefold)),
    }


def _body(contact: Contact, fields: tuple[str, ...]) -> dict[str, Any]:
    """The PUT/POST body (snake_case, the preferred wire names) for the fields to change."""
    body: dict[str, Any] = {}
    for field in fields:
        body[field] = list(contact.tags or ()) if field == "tags" else getattr(contact, field)
    return body
