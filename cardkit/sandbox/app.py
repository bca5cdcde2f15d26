"""The Sandbox: the three emulators behind one ASGI app, plus inspection and the media host.

Mounts: Blooio ``/blooio/v2/api``, Sendblue ``/sendblue``, Linq ``/linq/api/partner``;
``GET /_sandbox/state`` (what landed), ``POST /_sandbox/media`` (upload image bytes, get a URL the
emulators can fetch), ``GET /_sandbox/media/{id}``, ``POST /_sandbox/reset`` (forget what landed)
and ``POST /_sandbox/clock`` with ``{"advance": seconds}`` (move time forward).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from cardkit.sandbox.blooio import BlooioEmulator
from cardkit.sandbox.emulator import JSON, Shared
from cardkit.sandbox.faults import FaultPlan
from cardkit.sandbox.linq import LinqEmulator
from cardkit.sandbox.media import DEFAULT_PLACEHOLDER_HOSTS, MEDIA_PATH, PLACEHOLDER_PHOTO, MediaStore, image_kind
from cardkit.sandbox.seed import Seed, load_seed
from cardkit.sandbox.sendblue import SendblueEmulator
from cardkit.sandbox.transport import SandboxTransport

MOUNTS = {"blooio": "/blooio/v2/api", "sendblue": "/sendblue", "linq": "/linq/api/partner"}
MEDIA_MAX_BYTES = 20 * 1024 * 1024


class Sandbox:
    """Stateful, in-memory emulators of Blooio, Sendblue and Linq.

    ``Sandbox(seed=None, latency_ms=0, fault_rate=0.0, fault_seed=0)``; keyword-only extras:
    ``jitter_ms`` (default latency/5), ``fault_mix`` ({"error", "hang", "drop"} weights),
    ``hang_seconds`` (how long a hung response waits for the client to give up, default 300),
    ``clock`` (seconds, default ``time.monotonic``; Linq's 3-writes/10-min budget reads it),
    ``blooio_card_read`` ("working" as S1 documents, or "coming_soon": 404 as the SDK warns),
    ``linq_failed_setup`` ("error": a failed POST is 500/2022, as the SDK says; "inactive": 200 with
    ``is_active: false``, as the create page says),
    ``linq_4004`` ("holds": after 503/4004 the number's writes meet 4004 for 30 s, each attempt
    moving the 30 s on, as Linq documents; "once": only the drawn fault — for runs whose waits are
    scaled down by `cardkit.engine.testing`, where the engine's 30 s wait is shorter than the hold),
    ``placeholder_hosts`` (photo URL hosts that count as fetchable; () turns them off; loopback
    URLs are really downloaded),
    ``blooio_avatar`` ("as_sent", or "reencoded": GET returns a re-encoded JPEG, not the bytes sent),
    ``blooio_idempotency`` ("conflict": a reused Idempotency-Key on a message send is 409, as
    documented; "replay": the first answer again).

    Choices where the providers' docs are silent or disagree are listed in docs/sandbox.md and in
    each emulator's module docstring.
    """

    def __init__(
        self,
        seed: str | Path | Mapping[str, Any] | Seed | None = None,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        *,
        jitter_ms: float | None = None,
        fault_mix: Mapping[str, float] | None = None,
        hang_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        blooio_card_read: str = "working",
        linq_failed_setup: str = "error",
        linq_4004: str = "holds",
        placeholder_hosts: tuple[str, ...] = DEFAULT_PLACEHOLDER_HOSTS,
        blooio_avatar: str = "as_sent",
        blooio_idempotency: str = "conflict",
    ):
        self.seed = load_seed(seed)
        self.faults = FaultPlan(rate=fault_rate, seed=fault_seed, latency_ms=latency_ms, jitter_ms=jitter_ms,
                                mix=dict(fault_mix) if fault_mix is not None else None)
        self.media = MediaStore(placeholder_hosts)
        self.shared = Shared(faults=self.faults, media=self.media, clock=clock, hang_seconds=hang_seconds)
        self.blooio = BlooioEmulator(self.seed.blooio, self.shared, card_read=blooio_card_read,
                                    avatar=blooio_avatar, idempotency=blooio_idempotency)
        self.sendblue = SendblueEmulator(self.seed.sendblue, self.shared)
        self.linq = LinqEmulator(self.seed.linq, self.shared, failed_setup=linq_failed_setup,
                                 upstream_4004=linq_4004)
        self.emulators = {"blooio": self.blooio, "sendblue": self.sendblue, "linq": self.linq}
        self.app = _PlaceholderHosts(Starlette(routes=self._routes()), self.media)

    def __repr__(self) -> str:
        return (f"Sandbox(numbers={{blooio: {len(self.seed.blooio.lines)}, sendblue: "
                f"{len(self.seed.sendblue.lines)}, linq: {len(self.seed.linq.lines)}}}, "
                f"latency_ms={self.faults.latency_s * 1000:g}, fault_rate={self.faults.rate:g}, "
                f"fault_seed={self.faults.seed})")

    # -- the contract ------------------------------------------------------------------------
    @property
    def credentials(self) -> dict[str, dict[str, str]]:
        """The first credential of each provider in the seed (sandbox test keys)."""
        return self.seed.first_credentials()

    @property
    def accounts(self) -> dict[str, dict[str, dict[str, str]]]:
        """Every credential of each provider by account name: {"blooio": {"blooio-east": {"api_key": …}}}."""
        return self.seed.accounts()

    def base_urls(self, origin: str = "http://sandbox.local") -> dict[str, str]:
        origin = origin.rstrip("/")
        urls = {name: origin + mount for name, mount in MOUNTS.items()}
        urls["media"] = origin + MEDIA_PATH.rstrip("/")
        return urls

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport reaching this sandbox in process (timeouts and drops as on a socket)."""
        return SandboxTransport(self.app)

    def state(self) -> dict:
        """What landed: per provider its cards, writes and requests (+ Sendblue contacts), faults.

        A detached copy, equal to what ``GET /_sandbox/state`` sends. Safe to call from another
        thread while a LoopbackServer serves (a snapshot racing a write is simply taken again).
        """
        for _ in range(20):
            try:
                out: dict[str, Any] = {name: emulator.snapshot() for name, emulator in self.emulators.items()}
                out["faults"] = [dict(entry) for entry in self.shared.fault_log]
                out["media"] = {"uploads": len(self.media.uploads),
                                "downloads": [dict(entry) for entry in self.media.downloads]}
                return json.loads(json.dumps(out))
            except RuntimeError:  # "dictionary changed size during iteration" from the serving thread
                continue
        raise RuntimeError("the sandbox state kept changing while being read; read it via GET /_sandbox/state")

    def serve(self, host: str = "127.0.0.1", port: int = 0):
        """Serve this sandbox on loopback in a background thread: ``with sandbox.serve() as server:``
        (``server.origin``, ``server.base_urls()``). Returns a started `LoopbackServer`."""
        from cardkit.sandbox.server import LoopbackServer  # uvicorn is imported only when serving

        return LoopbackServer(self, host=host, port=port).start()

    def reset(self) -> None:
        """Forget every card, contact, counter, budget and fault (the seed, options and media stay);
        the fault draws start over, so a rerun meets the same faults as the first run."""
        for emulator in self.emulators.values():
            emulator.reset()
        self.shared.fault_log.clear()
        self.media.downloads.clear()
        self.shared.sequence = 0
        self.faults.restart()

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox's clock forward (Linq's budget and share limit read it); returns the offset."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.shared.clock_offset += seconds
        return self.shared.clock_offset

    def upload(self, data: bytes, content_type: str = "image/jpeg", *, origin: str = "http://sandbox.local") -> str:
        """Store image bytes on the media host without HTTP; returns their URL."""
        return origin.rstrip("/") + MEDIA_PATH + self.media.put(bytes(data), content_type)

    # -- the app -------------------------------------------------------------------------------
    def _routes(self) -> list:
        routes: list = [Mount(mount, routes=self.emulators[name].mounted_routes()) for name, mount in MOUNTS.items()]
        routes += [
            Route("/_sandbox/state", self._get_state, methods=["GET"]),
            Route("/_sandbox/reset", self._post_reset, methods=["POST"]),
            Route("/_sandbox/clock", self._post_clock, methods=["POST"]),
            Route("/_sandbox/media", self._post_media, methods=["POST"]),
            Route("/_sandbox/media/{media_id}", self._get_media, methods=["GET"]),
        ]
        return routes

    async def _get_state(self, request: Request) -> Response:
        return JSON(self.state())

    async def _post_reset(self, request: Request) -> Response:
        self.reset()
        return JSON({"reset": True})

    async def _post_clock(self, request: Request) -> Response:
        """``{"advance": seconds}`` moves the clock forward (over loopback, where no clock can be passed)."""
        try:
            seconds = float((await request.json())["advance"])
            offset = self.advance_clock(seconds)
        except (ValueError, KeyError, TypeError):
            return JSON({"error": 'send {"advance": seconds} with seconds >= 0'}, status_code=400)
        return JSON({"offset_seconds": offset})

    async def _post_media(self, request: Request) -> Response:
        data = await request.body()
        if not data:
            return JSON({"error": "empty body: POST the image bytes with their Content-Type"}, status_code=400)
        if len(data) > MEDIA_MAX_BYTES:
            return JSON({"error": f"{len(data):,} bytes is more than the media host keeps "
                                  f"({MEDIA_MAX_BYTES:,})"}, status_code=413)
        content_type = request.headers.get("content-type", "")
        if not content_type or content_type == "application/octet-stream":
            content_type = {"jpeg": "image/jpeg", "png": "image/png"}.get(image_kind(data) or "", "application/octet-stream")
        media_id = self.media.put(data, content_type)
        origin = str(request.base_url).rstrip("/")
        return JSON({"url": origin + MEDIA_PATH + media_id, "id": media_id, "bytes": len(data),
                     "content_type": content_type}, status_code=201)

    async def _get_media(self, request: Request) -> Response:
        media_id = request.path_params["media_id"]
        upload = self.media.get(media_id)
        if upload is None:
            return JSON({"error": "no such media"}, status_code=404)
        return _validated(request, upload.data, upload.content_type, f'"{media_id}"')


def _validated(request: Request, data: bytes, content_type: str, etag: str) -> Response:
    """The bytes with their ETag, or 304 when the client already holds them (If-None-Match),
    as a web server or CDN answers a conditional GET."""
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(data, media_type=content_type, headers={"ETag": etag})


class _PlaceholderHosts:
    """In process, the sandbox's transport is the whole network: a request for one of the
    placeholder hosts (``example.com``…, public photos the emulators pretend to download)
    gets the same built-in PNG the emulators fetch, so a client checking a photo URL sees
    what the provider would. Every other request goes to the sandbox's own routes."""

    def __init__(self, app: Any, media: MediaStore) -> None:
        self.app, self.media = app, media

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self._host(scope) in self.media.placeholder_hosts:
            response = _validated(Request(scope, receive), PLACEHOLDER_PHOTO, "image/png",
                                  '"' + hashlib.sha256(PLACEHOLDER_PHOTO).hexdigest()[:24] + '"')
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _host(scope: dict) -> str:
        for name, value in scope.get("headers", []):
            if name == b"host":
                return value.decode("latin-1").rsplit(":", 1)[0].strip("[]").lower()
        return ""
