"""The Sandbox: the three emulators behind one ASGI app, plus inspection and the media host.

Mounts: Blooio ``/blooio/v2/api``, Sendblue ``/sendblue``, Linq ``/linq/api/partner``;
``GET /_sandbox/state`` (what landed), ``POST /_sandbox/media`` (upload image bytes, get a URL the
emulators can fetch) and ``GET /_sandbox/media/{id}``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from cardkit.sandbox.blooio import BlooioEmulator
from cardkit.sandbox.emulator import JSON, Shared
from cardkit.sandbox.faults import FaultPlan
from cardkit.sandbox.linq import LinqEmulator
from cardkit.sandbox.media import DEFAULT_PLACEHOLDER_HOSTS, MEDIA_PATH, MediaStore, image_kind
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
    ``placeholder_hosts`` (photo URL hosts that count as fetchable; () turns them off).

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
        placeholder_hosts: tuple[str, ...] = DEFAULT_PLACEHOLDER_HOSTS,
    ):
        self.seed = load_seed(seed)
        self.faults = FaultPlan(rate=fault_rate, seed=fault_seed, latency_ms=latency_ms, jitter_ms=jitter_ms,
                                mix=dict(fault_mix) if fault_mix is not None else None)
        self.media = MediaStore(placeholder_hosts)
        self.shared = Shared(faults=self.faults, media=self.media, clock=clock, hang_seconds=hang_seconds)
        self.blooio = BlooioEmulator(self.seed.blooio, self.shared, card_read=blooio_card_read)
        self.sendblue = SendblueEmulator(self.seed.sendblue, self.shared)
        self.linq = LinqEmulator(self.seed.linq, self.shared)
        self.emulators = {"blooio": self.blooio, "sendblue": self.sendblue, "linq": self.linq}
        self.app = Starlette(routes=self._routes())

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

    def base_urls(self, origin: str = "http://sandbox.local") -> dict[str, str]:
        origin = origin.rstrip("/")
        urls = {name: origin + mount for name, mount in MOUNTS.items()}
        urls["media"] = origin + MEDIA_PATH.rstrip("/")
        return urls

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport reaching this sandbox in process (timeouts and drops as on a socket)."""
        return SandboxTransport(self.app)

    def state(self) -> dict:
        """What landed: per provider its cards, writes and requests (+ Sendblue contacts), faults."""
        out: dict[str, Any] = {name: emulator.snapshot() for name, emulator in self.emulators.items()}
        out["faults"] = [dict(entry) for entry in self.shared.fault_log]
        out["media"] = {"uploads": len(self.media.uploads)}
        return json.loads(json.dumps(out))  # a detached copy, equal to what GET /_sandbox/state sends

    def upload(self, data: bytes, content_type: str = "image/jpeg", *, origin: str = "http://sandbox.local") -> str:
        """Store image bytes on the media host without HTTP; returns their URL."""
        return origin.rstrip("/") + MEDIA_PATH + self.media.put(bytes(data), content_type)

    # -- the app -------------------------------------------------------------------------------
    def _routes(self) -> list:
        routes: list = [Mount(mount, routes=self.emulators[name].routes()) for name, mount in MOUNTS.items()]
        routes += [
            Route("/_sandbox/state", self._get_state, methods=["GET"]),
            Route("/_sandbox/media", self._post_media, methods=["POST"]),
            Route("/_sandbox/media/{media_id}", self._get_media, methods=["GET"]),
        ]
        return routes

    async def _get_state(self, request: Request) -> Response:
        return JSON(self.state())

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
        upload = self.media.get(request.path_params["media_id"])
        if upload is None:
            return JSON({"error": "no such media"}, status_code=404)
        return Response(upload.data, media_type=upload.content_type)
