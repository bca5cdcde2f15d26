"""What the three provider emulators share: counters, the request pipeline, faults on the wire.

Each emulator is a subclass of :class:`Emulator` whose handlers are *synchronous* functions of
``(request, body, credential) -> Response`` (the pipeline has already answered 401 when the
credential is missing or wrong): once a request has been read and its fault drawn, the handler
checks, decides and changes state with no ``await`` in between, so concurrent requests never see
a half-applied card and a cancelled request either ran its handler or did not.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cardkit.sandbox.faults import FaultPlan, request_key
from cardkit.sandbox.media import Downloaded, MediaStore
from cardkit.sandbox.seed import E164, ProviderSeed

Handler = Callable[[Request, bytes, str], Response]


class JSON(Response):
    """A compact JSON response (the emulators answer many small bodies)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class DroppedConnection(Response):
    """Starts a response and stops halfway: the server closes the connection (a dropped socket)."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"', "more_body": True})
        # returning now leaves the response incomplete: uvicorn closes the socket, and the
        # in-process transport raises httpx.RemoteProtocolError


class Shared:
    """What all emulators of one Sandbox share: faults, the fault log, media, clock, options."""

    def __init__(self, *, faults: FaultPlan, media: MediaStore, clock: Callable[[], float], hang_seconds: float):
        self.faults = faults
        self.media = media
        self.base_clock = clock
        self.clock_offset = 0.0  # moved forward by Sandbox.advance_clock / POST /_sandbox/clock
        self.hang_seconds = hang_seconds
        self.fault_log: list[dict] = []
        self.sequence = 0  # requests seen by all providers, in arrival order

    def clock(self) -> float:
        return self.base_clock() + self.clock_offset


class Emulator:
    """One provider: its seed, its stored cards, its counters, its routes."""

    name = ""
    failing = False  # True while a handler runs a failure the provider reports in a 200 (see fails_in_place)
    photo_url_field = ""  # the body field holding a photo URL the provider downloads at request time

    def __init__(self, seed: ProviderSeed, shared: Shared):
        self.seed = seed
        self.shared = shared
        self.reset()

    def reset(self) -> None:
        """Forget everything that requests changed (subclasses extend it with their own state)."""
        self.cards: dict[str, Any] = {}  # number -> card (a dict; Blooio's a leaner StoredCard)
        self.requests = 0
        self.writes = 0
        self.writes_by_number: Counter[str] = Counter()

    # -- to be provided by each provider -------------------------------------------------
    def routes(self) -> list[Route]:
        raise NotImplementedError

    def transient_error(self, pick: float, request: Request) -> Response:
        """The provider's own typical transient failure (nothing applied)."""
        raise NotImplementedError

    def fails_in_place(self, pick: float, request: Request) -> bool:
        """Whether this error fault is one the provider reports inside a normal answer (Linq's
        documented failed setup: 200 with ``is_active: false``); the handler then runs with
        ``self.failing`` set. No provider does this by default."""
        return False

    def authenticate(self, request: Request) -> str | None:
        """The credential the request carries when it is one of the seed's, else None."""
        raise NotImplementedError

    def unauthorized(self) -> Response:
        raise NotImplementedError

    def bad_body(self, message: str) -> Response:
        """The provider's 400 for a body that is not the JSON object it expects."""
        raise NotImplementedError

    def route_error(self, status: int, message: str) -> Response:
        """The provider's 404 (no such endpoint) or 405 (wrong method) in its own envelope."""
        raise NotImplementedError

    def mounted_routes(self) -> list[Route]:
        """The provider's routes, then a catch-all answering unknown paths and methods in its envelope."""
        routes = self.routes()

        def no_such_route(request: Request, body: bytes, credential: str) -> Response:
            path = "/" + request.path_params["path"]
            if any(route.path_regex.match(path) for route in routes):
                return self.route_error(405, f"{request.method} is not allowed on {path}")
            return self.route_error(404, f"No such endpoint: {request.method} {path}")

        return routes + [self.route("/{path:path}", no_such_route, ["GET", "POST", "PUT", "PATCH", "DELETE"])]

    def cards_snapshot(self) -> dict:
        return {number: dict(card) for number, card in self.cards.items()}

    # -- shared --------------------------------------------------------------------------
    def snapshot(self) -> dict:
        return {"cards": self.cards_snapshot(), "writes": self.writes, "requests": self.requests,
                "writes_by_number": dict(self.writes_by_number)}

    def record_write(self, number: str) -> None:
        self.writes += 1
        self.writes_by_number[number] += 1

    def route(self, path: str, handler: Handler, methods: list[str]) -> Route:
        """A Starlette route whose requests pass through counting, latency and faults."""

        async def endpoint(request: Request) -> Response:
            return await self.handle(request, handler)

        return Route(path, endpoint, methods=methods)

    async def handle(self, request: Request, handler: Handler) -> Response:
        shared = self.shared
        self.requests += 1
        shared.sequence += 1
        sequence = shared.sequence
        body = await request.body()
        request.state.body = body           # for a fault that must know what it was about (`body_field`)
        scope = request.scope
        draw = shared.faults.draw(request_key(self.name, scope["method"], scope["path"], scope["query_string"], body))
        if draw.delay_s > 0:
            await asyncio.sleep(draw.delay_s)
        if draw.fault is None:
            await self.download_photo(request, body)
            return self.run(handler, request, body)
        entry = {"request": sequence, "provider": self.name, "method": scope["method"],
                 "path": scope["path"], "fault": draw.fault, "applied": False}
        shared.fault_log.append(entry)
        if draw.fault == "error":
            if self.fails_in_place(draw.pick, request):
                await self.download_photo(request, body)
                self.failing = True
                try:
                    response = self.run(handler, request, body)
                finally:
                    self.failing = False
                entry["in_place"] = True
            else:
                response = self.transient_error(draw.pick, request)
            entry["status"] = response.status_code
            return response
        if draw.fault == "drop":
            return DroppedConnection()
        # hang: apply in full (or not at all) now, then answer only after the client gave up
        if draw.pick < 0.5:
            await self.download_photo(request, body)
            response = self.run(handler, request, body)
            entry["applied"] = response.status_code < 400
        else:
            response = self.transient_error((draw.pick - 0.5) * 2, request)
        entry["status"] = response.status_code
        entry["hang_ended_by"] = "client" if await wait_for_disconnect(request, shared.hang_seconds) else "hang_seconds"
        return response

    async def download_photo(self, request: Request, body: bytes) -> None:
        """Before a handler that takes a photo URL runs: really download a loopback URL, as the
        provider would at request time, so the synchronous handler finds the outcome in
        ``request.state.downloaded`` (see `photo`). Only for an authenticated request."""
        if not self.photo_url_field or request.method not in ("POST", "PUT", "PATCH"):
            return
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return
        url = payload.get(self.photo_url_field) if isinstance(payload, dict) else None
        if not self.shared.media.needs_download(url) or self.authenticate(request) is None:
            return
        request.state.downloaded = {url: await self.shared.media.download(url)}

    def photo(self, request: Request, url: object) -> bytes:
        """The photo at `url` as the provider got it (raises media.FetchError)."""
        downloaded: dict[str, Downloaded] = getattr(request.state, "downloaded", {})
        return self.shared.media.fetch(url, downloaded)

    def run(self, handler: Handler, request: Request, body: bytes) -> Response:
        credential = self.authenticate(request)
        if credential is None:
            return self.unauthorized()
        return handler(request, body, credential)

    # -- helpers for handlers ------------------------------------------------------------
    @staticmethod
    def body_field(request: Request, name: str) -> object:
        """Field `name` of the request's JSON object body (None when there is no such field)."""
        try:
            payload = json.loads(getattr(request.state, "body", b"") or b"null")
        except (ValueError, UnicodeDecodeError):
            return None
        return payload.get(name) if isinstance(payload, dict) else None

    @staticmethod
    def bearer_key(request: Request, keys: dict[str, str]) -> str | None:
        """The `Authorization: Bearer <key>` key when it is one of `keys`."""
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            key = header[7:].strip()
            if key in keys:
                return key
        return None

    def json_object(self, body: bytes) -> tuple[dict, Response | None]:
        """The body as a JSON object, or the provider's 400 saying why it is not one."""
        if not body:
            return {}, self.bad_body("the request body is empty; send a JSON object")
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return {}, self.bad_body(f"the request body is not valid JSON ({exc})")
        if not isinstance(value, dict):
            return {}, self.bad_body("the request body must be a JSON object")
        return value, None

    @staticmethod
    def is_e164(value: object) -> bool:
        return isinstance(value, str) and E164.match(value) is not None


async def wait_for_disconnect(request: Request, limit_s: float) -> bool:
    """Sleep until the client disconnects (True) or `limit_s` pass (False): a hung response."""
    receive = request.receive

    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(until_disconnect(), timeout=limit_s)
    except TimeoutError:
        return False
    return True
