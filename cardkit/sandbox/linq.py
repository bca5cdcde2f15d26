"""Linq partner API v3 (mounted at ``/linq/api/partner``), from S3 and providers.md §3.

- ``GET /v3/contact_card[?phone_number=]`` → ``{contact_cards: [...]}``; a number with no card
  gives an empty list (the docs are silent; an empty list is what a filter usually answers).
- ``POST /v3/contact_card`` — one-time setup: ``phone_number`` and ``first_name`` required;
  409/2014 once the number has an active card. A failed setup is a 500/2022 fault by default; with
  ``linq_failed_setup="inactive"`` it is instead what the create page describes: 200 with
  ``is_active: false``, the card stored inactive (GET shows it, PATCH is 404/2012, POST may retry).
- ``PATCH /v3/contact_card?phone_number=`` — merge of ``first_name``/``last_name``/``image_url``;
  a number without a card → 404/2012 "Contact card not found" (the error table's code for it).
- POST and PATCH share **3 calls per 10 minutes per number**: the 4th → 429/1007 with
  ``Retry-After`` and ``error.retry_after`` = the true whole seconds until the oldest call leaves
  the window (rounded up). Only calls that would change the card spend the budget (rejected
  ones — 400, 403, 404, 409, faults — do not).
- 503/4004 ("upstream write rate-limited"): the error table says to retry after 30 seconds and the
  create/update docstrings that "repeated attempts extend the rate limit" — so after a 4004 for a
  number, every POST/PATCH to it within 30 s is answered 4004 again and moves the 30 s on (nothing
  applied, no budget spent; ``linq_4004="once"`` turns the hold off). Reads never answer 4004 (not among the GET's documented errors: its
  faults are 500/3006).
- ``image_url`` is fetched at request time: unreachable → 400/5007, not a JPEG/PNG → 400/5004,
  over the generic 10 MB limit for media by URL → 400/5005.
  The card keeps the URL as sent (the real service rehosts it on its CDN).
- ``GET /v3/phone_numbers`` and the deprecated ``GET /v3/phonenumbers``.
- ``POST /v3/chats/{chat_id}/share_contact_card`` — ``chat_id`` a UUID; the chat's line is this
  key's first line with an active card (chats are not modelled), none → 404/2012; at most one share
  per chat per 5 minutes (429). Answers 204.

Errors: ``{"success": false, "error": {"status", "code", "message"[, "retry_after"]}, "trace_id"}``.
"""

from __future__ import annotations

import math
import uuid

from starlette.requests import Request
from starlette.responses import Response

from cardkit.sandbox.emulator import JSON, Emulator
from cardkit.sandbox.media import FetchError, digest

WINDOW_S = 600.0
UPSTREAM_WAIT_S = 30.0  # after 503/4004: "Retry the request after 30 seconds" (error table)
WRITES_PER_WINDOW = 3
SHARE_WINDOW_S = 300.0
IMAGE_MAX_BYTES = 10 * 1024 * 1024  # the generic limit for media fetched by URL (no card-specific one)
CARD_FIELDS = ("first_name", "last_name", "image_url")


class LinqEmulator(Emulator):
    name = "linq"
    photo_url_field = "image_url"

    def __init__(self, seed, shared, *, failed_setup: str = "error", upstream_4004: str = "holds"):
        if failed_setup not in ("error", "inactive"):
            raise ValueError(f"linq_failed_setup must be 'error' or 'inactive', got {failed_setup!r}")
        if upstream_4004 not in ("holds", "once"):
            raise ValueError(f"linq_4004 must be 'holds' or 'once', got {upstream_4004!r}")
        self.failed_setup = failed_setup
        self.hold_after_4004 = upstream_4004 == "holds"
        super().__init__(seed, shared)

    def fails_in_place(self, pick: float, request: Request) -> bool:
        # the create page: "On failure, is_active is false" — in place of the 500/2022 share of faults
        return self.failed_setup == "inactive" and request.method == "POST" and pick < 0.4 \
            and request.url.path.endswith("/contact_card")

    def reset(self) -> None:
        super().reset()
        self.budget: dict[str, list[float]] = {}  # number -> times of its calls still in the window (≤ 3)
        self.upstream_hold: dict[str, float] = {}  # number -> until when writes meet 4004 (moved on by each)
        self.last_share: dict[str, float] = {}  # chat id -> time of the last share
        self.shares: dict[str, int] = {}  # chat id -> shares
        self._traces = 0

    def error(self, status: int, code: int, message: str, *, retry_after: int | None = None) -> Response:
        self._traces += 1
        detail = {"status": status, "code": code, "message": message}
        headers = None
        if retry_after is not None:
            detail["retry_after"] = retry_after
            headers = {"Retry-After": str(retry_after)}
        return JSON({"success": False, "error": detail, "trace_id": f"trace_sbx_{self._traces:010d}"},
                    status_code=status, headers=headers)

    def routes(self):
        return [
            self.route("/v3/contact_card", self.get_cards, ["GET"]),
            self.route("/v3/contact_card", self.create_card, ["POST"]),
            self.route("/v3/contact_card", self.update_card, ["PATCH"]),
            self.route("/v3/phone_numbers", self.phone_numbers, ["GET"]),
            self.route("/v3/phonenumbers", self.phonenumbers_deprecated, ["GET"]),
            self.route("/v3/chats/{chat_id}/share_contact_card", self.share_card, ["POST"]),
        ]

    def transient_error(self, pick: float, request: Request) -> Response:
        if request.method not in ("POST", "PATCH"):
            return self.error(500, 3006, "Internal server error")  # the GET's one documented 5xx
        if pick < 0.4:
            return self.error(500, 2022, "Contact card setup failed — retry the same request after a few seconds")
        if pick < 0.7:
            number = request.query_params.get("phone_number") or self.body_field(request, "phone_number")
            if isinstance(number, str) and self.hold_after_4004:
                self.upstream_hold[number] = self.shared.clock() + UPSTREAM_WAIT_S
            return self.upstream_limited()
        retry_after = 1 + int((pick - 0.7) / 0.3 * 10)
        return self.error(429, 1007, "Rate limit exceeded", retry_after=retry_after)

    def upstream_limited(self) -> Response:
        return self.error(503, 4004, "Service unavailable: upstream write rate-limited — wait 30 seconds before "
                                     "retrying; repeated attempts extend the limit")

    def snapshot(self) -> dict:
        snap = super().snapshot()
        snap["shares"] = dict(self.shares)
        return snap

    # -- auth, numbers, budget ----------------------------------------------------------------
    def authenticate(self, request: Request) -> str | None:
        return self.bearer_key(request, self.seed.credentials)

    def unauthorized(self) -> Response:
        return self.error(401, 2004, "Unauthorized - missing or invalid authentication token")

    def bad_body(self, message: str) -> Response:
        return self.error(400, 1003, f"Invalid request body: {message}")

    def route_error(self, status: int, message: str) -> Response:
        return self.error(status, 2001 if status == 404 else 1003, message)

    def line_problem(self, number: object, key: str) -> Response | None:
        if number is None or number == "":
            return self.error(400, 1001, "Missing required field: phone_number")
        if not self.is_e164(number):
            return self.error(400, 1002, "Phone number must be in E.164 format")
        line = self.seed.lines.get(number)
        if line is None or not line.reachable_by(key):
            return self.error(403, 2005, "Access denied - insufficient permissions for this resource")
        return None

    def spend_budget(self, number: str) -> Response | None:
        """Take one of the number's 3 writes per 10 minutes, or answer 429 with the true wait."""
        now = self.shared.clock()
        calls = [t for t in self.budget.get(number, ()) if t > now - WINDOW_S]
        self.budget[number] = calls
        if len(calls) >= WRITES_PER_WINDOW:
            wait = max(1, math.ceil(calls[0] + WINDOW_S - now))
            return self.error(429, 1007, f"Rate limit exceeded: contact card writes for {number} are limited to "
                                         f"{WRITES_PER_WINDOW} per 10 minutes", retry_after=wait)
        calls.append(now)
        return None

    def card_fields(self, body: bytes, *, required: tuple[str, ...]) -> tuple[dict | None, Response | None]:
        payload, problem = self.json_object(body)
        if problem:
            return None, problem
        for name in required:
            if payload.get(name) in (None, ""):
                return None, self.error(400, 1001, f"Missing required field: {name}")
        allowed = CARD_FIELDS + (("phone_number",) if "phone_number" in required else ())
        for name, value in payload.items():
            if name not in allowed:
                return None, self.error(400, 1003, f"Invalid request body: unknown field {name!r}")
            if name != "phone_number" and value is not None and not isinstance(value, str):
                return None, self.error(400, 1005, f"Invalid parameter value: {name} must be a string")
        if "first_name" in payload and not payload["first_name"]:
            return None, self.error(400, 1005, "Invalid parameter value: first_name cannot be empty")
        return payload, None

    def fetch_image(self, request: Request, url: str) -> tuple[dict | None, Response | None]:
        try:
            data = self.photo(request, url)
        except FetchError as exc:
            if exc.unreachable:
                return None, self.error(400, 5007, f"Failed to download image from the provided URL: {exc}")
            if exc.too_large:
                return None, self.error(400, 5005, f"File too large: {exc}; URL media is limited to 10 MB")
            return None, self.error(400, 5004, f"Invalid file type: {exc}")
        if len(data) > IMAGE_MAX_BYTES:
            return None, self.error(400, 5005, f"File too large: {len(data):,} bytes; URL media is limited to 10 MB")
        return digest(data), None

    @staticmethod
    def public(number: str, card: dict) -> dict:
        out = {"phone_number": number, "first_name": card["first_name"], "is_active": card["is_active"]}
        for name in ("last_name", "image_url"):
            if card.get(name) is not None:
                out[name] = card[name]
        return out

    # -- handlers --------------------------------------------------------------------------
    def get_cards(self, request: Request, body: bytes, key: str) -> Response:
        number = request.query_params.get("phone_number")
        if number is not None:
            problem = self.line_problem(number, key)
            if problem:
                return problem
            numbers = [number]
        else:
            numbers = [line.number for line in self.seed.lines_of(key)]
        cards = [self.public(n, self.cards[n]) for n in numbers if n in self.cards]
        return JSON({"contact_cards": cards})

    def create_card(self, request: Request, body: bytes, key: str) -> Response:
        payload, problem = self.card_fields(body, required=("phone_number", "first_name"))
        if problem:
            return problem
        number = payload["phone_number"]
        problem = self.line_problem(number, key)
        if problem:
            return problem
        existing = self.cards.get(number)
        if existing is not None and existing["is_active"]:
            return self.error(409, 2014, "A contact card already exists for this phone number — use PATCH "
                                         "/v3/contact_card?phone_number=… to change it")
        return self.write_card(request, number, payload, {"first_name": None, "last_name": None, "image_url": None,
                                                 "image": None, "is_active": True})

    def update_card(self, request: Request, body: bytes, key: str) -> Response:
        number = request.query_params.get("phone_number")
        problem = self.line_problem(number, key)
        if problem:
            return problem
        payload, problem = self.card_fields(body or b"{}", required=())
        if problem:
            return problem
        card = self.cards.get(number)
        if card is None or not card["is_active"]:
            return self.error(404, 2012, "Contact card not found — create it with POST /v3/contact_card")
        return self.write_card(request, number, payload, card)

    def write_card(self, request: Request, number: str, payload: dict, card: dict) -> Response:
        """Fetch the new image, spend the budget, then merge `payload` into `card` in one step —
        unless the number's upstream limit (an earlier 4004) still holds: then 4004 again, later."""
        now = self.shared.clock()
        if self.upstream_hold.get(number, now) > now:
            self.upstream_hold[number] = now + UPSTREAM_WAIT_S
            return self.upstream_limited()
        image = card["image"]
        if payload.get("image_url"):
            image, problem = self.fetch_image(request, payload["image_url"])
            if problem:
                return problem
        elif "image_url" in payload:
            image = None  # cleared
        problem = self.spend_budget(number)
        if problem:
            return problem
        for name in CARD_FIELDS:
            if name in payload:
                card[name] = payload[name] or None
        card["image"] = image
        self.cards[number] = card
        if self.failing:  # a failed setup: stored, not applied to the device (not counted as a write)
            card["is_active"] = False
        else:
            card["is_active"] = True
            self.record_write(number)
        return JSON(self.public(number, card))

    def phone_numbers(self, request: Request, body: bytes, key: str) -> Response:
        return self.list_lines(key, lambda line: {
            "reputation": {"status": "HEALTHY",
                           "doc_url": "https://docs.linqapp.com/guides/phone-numbers/phone-reputation#healthy"},
            "forwarding_number": None, "line_type": "iMessage"})

    def phonenumbers_deprecated(self, request: Request, body: bytes, key: str) -> Response:
        return self.list_lines(key, lambda line: {
            "capabilities": {"sms": True, "mms": True, "voice": False}, "country_code": None, "type": None})

    def list_lines(self, key: str, extra) -> Response:
        """``{phone_numbers: [{id, phone_number, …extra(line)}]}`` for the lines this key reaches."""
        return JSON({"phone_numbers": [
            {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "linq-sandbox:" + line.number)), "phone_number": line.number,
             **extra(line)} for line in self.seed.lines_of(key)]})

    def share_card(self, request: Request, body: bytes, key: str) -> Response:
        chat_id = request.path_params["chat_id"]
        try:
            uuid.UUID(chat_id)
        except ValueError:
            return self.error(404, 2001, f"Chat not found: {chat_id!r} is not a chat id (a UUID)")
        line = next((line for line in self.seed.lines_of(key)
                     if self.cards.get(line.number, {}).get("is_active")), None)
        if line is None:
            return self.error(404, 2012, "Contact card not found — set one up before sharing")
        now = self.shared.clock()
        last = self.last_share.get(chat_id)
        if last is not None and now - last < SHARE_WINDOW_S:
            wait = max(1, math.ceil(last + SHARE_WINDOW_S - now))
            return self.error(429, 1007, "Rate limit exceeded: one share per chat every 5 minutes", retry_after=wait)
        self.last_share[chat_id] = now
        self.shares[chat_id] = self.shares.get(chat_id, 0) + 1
        self.writes += 1
        return Response(status_code=204)
