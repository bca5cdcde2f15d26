"""Blooio API v2 (mounted at ``/blooio/v2/api``), from S0/S1 and providers.md §1.

- ``GET /me/numbers`` — the numbers this API key reaches.
- ``GET /me/numbers/{number}/contact-card`` — the card as S1 documents it; with
  ``card_read="coming_soon"`` it answers 404 as the SDK's "temporarily disabled" note suggests.
- ``PUT /me/numbers/{number}/contact-card`` — partial merge of ``first_name``, ``last_name``,
  ``avatar`` (base64 JPEG/PNG ≤ 1 MiB, no data: prefix, not a URL) and ``sharing`` (nested merge:
  omitted sub-fields are kept). ``null`` for a name or the avatar clears it. Unknown fields → 400.
  403 when the number is not on this key, and when a ``standard`` plan number is sent a name or
  avatar (sharing-only bodies are fine). The path takes ``%2B`` or a literal ``+``.
  With ``avatar="reencoded"`` the stored avatar is re-encoded (a JPEG at quality 80, as a service
  that normalises photos would), so GET returns other bytes than were sent.
- ``POST /chats/{chat}/contact-card`` — stage a share (idempotent, as documented: counted, no
  other effect); ``POST /chats/{chat}/messages`` with ``share_contact: true`` — share with a
  message. Both need a Dedicated number on the key.
- ``Idempotency-Key`` on a message send (documented: 409 "duplicate idempotency key"): a key
  already used by this API key sends nothing; by default the answer is that 409, with
  ``idempotency="replay"`` the first answer again (as Stripe-style APIs do). Messages are
  counted per chat in the state (``messages_by_chat``).

Errors use ``{"error": <kind>, "message": …, "status": n}`` (the documented shape; ``error`` is
the kind, as in the older docs snapshot: bad_request, unauthorized, forbidden, not_found,
method_not_allowed, bad_gateway, service_unavailable). No ``code`` is sent: none is documented
that tells the two 403s apart, so a client must not rely on one.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cardkit.sandbox.emulator import JSON, Emulator
from cardkit.sandbox.media import decode_base64_image, digest

AVATAR_MAX_BYTES = 1024 * 1024
DEDICATED = ("dedicated_commercial", "dedicated_enterprise")
CARD_FIELDS = ("first_name", "last_name", "avatar", "sharing")
SHARING_FIELDS = {"enabled": bool, "audience": int, "name_format": int}
_KINDS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 502: "bad_gateway", 503: "service_unavailable"}


class StoredCard:
    """One number's stored card: the fields requests set, as a dict would hold them (`get`,
    `card[name] = value`), in a fixed set of slots — a dict per card costs ~110 bytes more, 11 MB
    per 100,000 cards the sandbox holds. A field never set is absent (`get` gives the default)."""

    __slots__ = ("first_name", "last_name", "avatar", "avatar_sent", "sharing")

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def __setitem__(self, name: str, value: Any) -> None:
        setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__ if hasattr(self, name)}


def error(status: int, message: str) -> Response:
    return JSON({"error": _KINDS.get(status, "error"), "message": message, "status": status}, status_code=status)


class BlooioEmulator(Emulator):
    name = "blooio"

    def __init__(self, seed, shared, *, card_read: str = "working", avatar: str = "as_sent",
                 idempotency: str = "conflict"):
        if card_read not in ("working", "coming_soon"):
            raise ValueError(f"blooio_card_read must be 'working' or 'coming_soon', got {card_read!r}")
        if avatar not in ("as_sent", "reencoded"):
            raise ValueError(f"blooio_avatar must be 'as_sent' or 'reencoded', got {avatar!r}")
        if idempotency not in ("conflict", "replay"):
            raise ValueError(f"blooio_idempotency must be 'conflict' or 'replay', got {idempotency!r}")
        self.card_read = card_read
        self.avatar_mode = avatar
        self.idempotency = idempotency
        self._reencoded: dict[str, tuple[str, dict]] = {}  # sha256 sent -> (base64 stored, its digest); kept
        self.started = datetime.now(UTC).isoformat()
        super().__init__(seed, shared)

    def reset(self) -> None:
        super().reset()
        self.avatars: dict[str, str] = {}  # number -> base64 as sent (GET returns it)
        self._avatar_texts: dict[str, str] = {}  # sha256 -> that base64: one copy per distinct photo
        self.staged_shares: dict[str, int] = {}  # chat id -> times staged
        self.shared_with_messages: dict[str, int] = {}  # chat id -> messages sent with share_contact
        self.messages_by_chat: dict[str, int] = {}  # chat id -> messages sent
        self.idempotent: dict[tuple[str, str], dict] = {}  # (api key, Idempotency-Key) -> first answer
        self.messages = 0

    def routes(self):
        return [
            self.route("/me/numbers", self.list_numbers, ["GET"]),
            self.route("/me/numbers/{number}/contact-card", self.get_card, ["GET"]),
            self.route("/me/numbers/{number}/contact-card", self.put_card, ["PUT"]),
            self.route("/chats/{chat}/contact-card", self.stage_share, ["POST"]),
            self.route("/chats/{chat}/messages", self.send_message, ["POST"]),
        ]

    def transient_error(self, pick: float, request: Request) -> Response:
        if pick < 0.6:
            return error(502, "Temporary communication error")
        return error(503, "No active number available")

    def cards_snapshot(self) -> dict:
        return {number: card.as_dict() for number, card in self.cards.items()}

    def snapshot(self) -> dict:
        snap = super().snapshot()
        snap["shares"] = {"staged": dict(self.staged_shares), "with_message": dict(self.shared_with_messages)}
        snap["messages_by_chat"] = dict(self.messages_by_chat)
        return snap

    # -- auth ------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | None:
        return self.bearer_key(request, self.seed.credentials)

    def unauthorized(self) -> Response:
        return error(401, "Authentication required or invalid")

    def bad_body(self, message: str) -> Response:
        return error(400, message)

    def route_error(self, status: int, message: str) -> Response:
        return error(status, message)

    def number_for(self, request: Request, key: str) -> tuple[str, Response | None]:
        number = request.path_params["number"]  # the server has percent-decoded the path once
        if not self.is_e164(number):
            return number, error(400, f"Invalid phone number {number!r}: use E.164, e.g. %2B15551234567")
        line = self.seed.lines.get(number)
        if line is None or not line.reachable_by(key):
            return number, error(403, "Phone number not accessible with this API key")
        return line.number, None   # the seed's own string (stored cards keep no copy per request)

    # -- handlers --------------------------------------------------------------------------
    def list_numbers(self, request: Request, body: bytes, key: str) -> Response:
        numbers = [{"phone_number": line.number, "is_active": True, "last_active": self.started}
                   for line in self.seed.lines_of(key)]
        return JSON({"numbers": numbers})

    def get_card(self, request: Request, body: bytes, key: str) -> Response:
        if self.card_read == "coming_soon":
            return error(404, "Coming soon: reading the contact card is temporarily disabled")
        number, problem = self.number_for(request, key)
        if problem:
            return problem
        card = self.cards.get(number) or StoredCard()
        first, last = card.get("first_name"), card.get("last_name")
        sharing = card.get("sharing", {})
        return JSON({
            "phone_number": number,
            "first_name": first,
            "last_name": last,
            "name": " ".join(part for part in (first, last) if part) or None,
            "avatar": self.avatars.get(number),
            "has_wallpaper": False,
            "sharing": {"enabled": sharing.get("enabled", False), "audience": sharing.get("audience", 1),
                        "name_format": sharing.get("name_format", 0)},
        })

    def put_card(self, request: Request, body: bytes, key: str) -> Response:
        number, problem = self.number_for(request, key)
        if problem:
            return problem
        update, problem = self.json_object(body)
        if problem:
            return problem
        unknown = [name for name in update if name not in CARD_FIELDS]
        if unknown:
            return error(400, f"Unknown field {unknown[0]!r}; allowed: {', '.join(CARD_FIELDS)}")
        line = self.seed.lines[number]
        if line.plan not in DEDICATED and any(name in update for name in ("first_name", "last_name", "avatar")):
            return error(403, "Setting first_name, last_name or avatar is only available on Dedicated "
                              "Commercial and Dedicated Enterprise plans")
        for name in ("first_name", "last_name"):
            if name in update and update[name] is not None and not isinstance(update[name], str):
                return error(400, f"{name} must be a string")
        avatar_bytes = None
        if update.get("avatar") is not None:
            if not isinstance(update["avatar"], str):
                return error(400, "avatar must be a base64-encoded JPEG/PNG string")
            try:
                avatar_bytes = decode_base64_image(update["avatar"], max_bytes=AVATAR_MAX_BYTES)
            except ValueError as exc:
                return error(400, str(exc))
        sharing = update.get("sharing")
        if sharing is not None:
            if not isinstance(sharing, dict):
                return error(400, "sharing must be an object {enabled, audience, name_format}")
            for name, value in sharing.items():
                kind = SHARING_FIELDS.get(name)
                if kind is None:
                    return error(400, f"Unknown field 'sharing.{name}'; allowed: {', '.join(SHARING_FIELDS)}")
                if type(value) is not kind:  # bool is not an int here, and 1 is not a bool
                    return error(400, f"sharing.{name} must be {'a boolean' if kind is bool else 'an integer'}")
                if kind is int and value not in (0, 1):
                    return error(400, f"sharing.{name} must be 0 or 1, got {value}")
        # all checks passed: apply the merge in one step
        card = self.cards.get(number)
        if card is None:
            card = self.cards[number] = StoredCard()
        for name in ("first_name", "last_name"):
            if name in update:
                card[name] = update[name]
        if "avatar" in update:
            if avatar_bytes is None:
                card["avatar"] = None
                self.avatars.pop(number, None)
            elif self.avatar_mode == "reencoded":
                sent = digest(avatar_bytes)
                text, stored = self.reencode(sent["sha256"], avatar_bytes)
                card["avatar"], card["avatar_sent"] = stored, sent
                self.avatars[number] = text
            else:
                card["avatar"] = digest(avatar_bytes)
                self.avatars[number] = self._avatar_texts.setdefault(card["avatar"]["sha256"], update["avatar"])
        if sharing is not None:
            card["sharing"] = {**card.get("sharing", {}), **sharing}
        self.record_write(number)
        return JSON({"success": True, "phone_number": number, "first_name": card.get("first_name"),
                     "last_name": card.get("last_name")})

    def reencode(self, sha256: str, data: bytes) -> tuple[str, dict]:
        """The avatar as a re-encoding service would keep it: RGB JPEG, quality 80 (once per photo)."""
        known = self._reencoded.get(sha256)
        if known is None:
            from PIL import Image  # only this option needs an imaging library

            with Image.open(io.BytesIO(data)) as image:
                out = io.BytesIO()
                image.convert("RGB").save(out, format="JPEG", quality=80)
            stored = out.getvalue()
            known = (base64.b64encode(stored).decode("ascii"), digest(stored))
            self._reencoded[sha256] = known
        return known

    def _sharing_key_problem(self, key: str) -> Response | None:
        lines = self.seed.lines_of(key)
        if not lines:
            return error(503, "No active number available")
        if not any(line.plan in DEDICATED for line in lines):
            return error(403, "Contact card sharing is only available on Dedicated Commercial and "
                              "Dedicated Enterprise plans")
        return None

    def stage_share(self, request: Request, body: bytes, key: str) -> Response:
        chat = request.path_params["chat"]
        problem = self._sharing_key_problem(key)
        if problem:
            return problem
        self.staged_shares[chat] = self.staged_shares.get(chat, 0) + 1
        self.writes += 1
        return JSON({"success": True, "chat_id": chat,
                     "message": "Contact card staged. It will be sent with the next outgoing message in this chat."})

    def send_message(self, request: Request, body: bytes, key: str) -> Response:
        chat = request.path_params["chat"]
        idempotency_key = request.headers.get("idempotency-key", "").strip()
        if idempotency_key:
            first = self.idempotent.get((key, idempotency_key))
            if first is not None:
                if self.idempotency == "replay" and first["request"] == (chat, body):
                    return Response(first["answer"], status_code=first["status"], media_type="application/json")
                return error(409, "Duplicate idempotency key: a message was already sent with this "
                                  "Idempotency-Key")
        response = self._send_message(request, chat, body, key)
        if idempotency_key and response.status_code < 300:
            # only a send that happened holds its key (a failed one may be retried with it)
            self.idempotent[(key, idempotency_key)] = {"request": (chat, body), "status": response.status_code,
                                                       "answer": bytes(response.body)}
        return response

    def _send_message(self, request: Request, chat: str, body: bytes, key: str) -> Response:
        message, problem = self.json_object(body)
        if problem:
            return problem
        if not any(message.get(name) for name in ("text", "attachments", "parts")):
            return error(400, "Send text, attachments or parts")
        from_number = message.get("from_number")
        if from_number is not None:
            line = self.seed.lines.get(from_number)
            if line is None or not line.reachable_by(key):
                return error(403, "from_number is not a number assigned to this API key")
        share = message.get("share_contact", False)
        if not isinstance(share, bool):
            return error(400, "share_contact must be a boolean")
        if share:
            problem = self._sharing_key_problem(key)
            if problem:
                return problem
            self.shared_with_messages[chat] = self.shared_with_messages.get(chat, 0) + 1
        self.messages += 1
        self.messages_by_chat[chat] = self.messages_by_chat.get(chat, 0) + 1
        self.writes += 1
        return JSON({"message_id": f"msg_{self.messages:08d}", "status": "queued"}, status_code=200)
