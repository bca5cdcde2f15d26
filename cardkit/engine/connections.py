"""One worker's connection: its wire to the provider, and the authenticated, timed `Send` over it.

`Connection` is what workers, number discovery and sharing send through: auth headers, the
rate limiter, the engine's deadline per request, and connection trouble turned into `Transient`.
Under it a `Wire` carries the bytes — three kinds, one interface:

- `StreamWire` — the network: **one** keep-alive HTTP/1.1 connection to the provider's origin,
  asyncio's own streams (TLS by `ssl`) with `h11` — the sans-I/O HTTP/1.1 state machine httpcore
  and uvicorn are built on — doing the protocol. A worker sends one request at a time on its
  own connection, so a pool, AnyIO's cancel scopes and httpcore's per-request bookkeeping buy
  nothing; measured on loopback (bare GETs, 128 at once) they cost 0.94 ms of client CPU per
  request against 0.33 ms for the same GETs on streams + h11. Under faults the client's
  event loop is what limits a run, so this is the run's speed.
- `ProxyWire` — the same through the proxy the environment names (HTTPS_PROXY, ALL_PROXY …):
  `httpcore`'s proxy pool, which does the CONNECT tunnel and TLS inside it.
- `TransportWire` — an httpx transport given by the caller: the in-process sandbox's.

`failure_kind(exc)` tells the engine what an exception from any of them means.
"""

from __future__ import annotations

import asyncio
import functools
import json as jsonlib
import ssl
import time
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import h11
import httpcore
import httpx

from cardkit import __version__
from cardkit.engine.limits import RateLimiter
from cardkit.errors import Transient
from cardkit.providers.base import Provider, Reply
from cardkit.providers.replies import reply_of

Headers = list[tuple[bytes, bytes]]
_USER_AGENT = f"cardkit/{__version__}"
_READ_METHODS = ("GET", "HEAD")


class Wire(Protocol):
    async def exchange(self, method: str, target: str, headers: Headers,
                       body: bytes | None) -> tuple[int, Headers, bytes]:
        """One request to `target` (path and query below the base URL); the whole answer."""

    async def aclose(self) -> None: ...


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """One TLS context for every connection: loading the CA bundle costs ~25 ms each time,
    which 64 workers would otherwise pay 64 times per run."""
    return httpx.create_ssl_context()


class _Origin:
    """Where a base URL points (scheme, host, port, path prefix) and the headers that frame a
    request to it: `Host`, and `Content-Length` when there is a body."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self._host_header = parts.netloc.rsplit("@", 1)[-1].encode()

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    def target(self, target: str) -> bytes:
        return (self.prefix + target).encode()

    def framing(self, body: bytes | None) -> Headers:
        framing: Headers = [(b"host", self._host_header)]
        if body is not None:
            framing.append((b"content-length", str(len(body)).encode()))
        return framing


class StreamWire:
    """One keep-alive HTTP/1.1 connection to the origin of `base_url` (asyncio streams + h11).

    Opened on the first request and again whenever the last one left it unusable: the server
    closed it (a keep-alive timeout, `Connection: close`), or a request on it failed, timed out or
    was cancelled part-way (a hedged read whose copy answered first) — its state is then unknown,
    so it is dropped rather than reused. Failures come out as httpcore's exceptions (ConnectError
    before anything was sent, ReadError/WriteError/RemoteProtocolError after), the vocabulary
    `failure_kind` already speaks."""

    _CHUNK = 65536

    def __init__(self, base_url: str, *, timeout: float) -> None:
        self._origin = _Origin(base_url)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._h11: h11.Connection | None = None

    async def exchange(self, method: str, target: str, headers: Headers,
                       body: bytes | None) -> tuple[int, Headers, bytes]:
        if not self._usable():
            await self._open()
        assert self._reader is not None and self._writer is not None and self._h11 is not None
        reader, writer, protocol = self._reader, self._writer, self._h11
        try:
            data = protocol.send(h11.Request(method=method, target=self._origin.target(target),
                                             headers=self._origin.framing(body) + headers))
            if body:
                data += protocol.send(h11.Data(data=body))
            data += protocol.send(h11.EndOfMessage())
            try:
                writer.write(data)
                await writer.drain()
            except OSError as exc:
                raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc
            status, answer_headers, chunks = 0, [], []
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    try:
                        protocol.receive_data(await reader.read(self._CHUNK))
                    except OSError as exc:
                        raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc
                elif isinstance(event, h11.Response):
                    status, answer_headers = event.status_code, list(event.headers)
                elif isinstance(event, h11.Data):
                    chunks.append(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise httpcore.RemoteProtocolError("the server closed the connection without answering")
        except h11.ProtocolError as exc:
            self._drop()
            raise httpcore.RemoteProtocolError(str(exc)) from exc
        except BaseException:
            self._drop()           # failed, timed out or cancelled part-way: state unknown
            raise
        if protocol.our_state is h11.DONE and protocol.their_state is h11.DONE:
            protocol.start_next_cycle()
        else:                      # the server said `Connection: close` (or will not keep it alive)
            self._drop()
        return status, answer_headers, b"".join(chunks)

    def _usable(self) -> bool:
        """Whether the connection can take the next request: open, idle, and not closed by the
        server meanwhile (its EOF arrives while we wait, so `at_eof` knows)."""
        return (self._writer is not None and self._reader is not None and self._h11 is not None
                and self._h11.our_state is h11.IDLE and not self._writer.is_closing()
                and not self._reader.at_eof())

    async def _open(self) -> None:
        self._drop()
        origin = self._origin
        try:
            self._reader, self._writer = await asyncio.open_connection(
                origin.host, origin.port or (443 if origin.tls else 80), ssl=ssl_context() if origin.tls else None,
                server_hostname=origin.host if origin.tls else None, limit=self._CHUNK)
        except OSError as exc:     # refused, unreachable, DNS, TLS handshake or certificate
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        self._h11 = h11.Connection(h11.CLIENT)

    def _drop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = self._h11 = None

    async def aclose(self) -> None:
        writer = self._writer
        self._drop()
        if writer is not None:
            try:           # a TLS peer that never answers close_notify must not hold the run's end
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
            except (OSError, TimeoutError):   # closing a broken connection: nothing to save
                writer.transport.abort()


class ProxyWire:
    """One connection to the origin of `base_url` through `proxy` (httpcore's proxy pool)."""

    def __init__(self, base_url: str, proxy: str, *, timeout: float) -> None:
        self._origin = _Origin(base_url)
        self._timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        self._pool = httpcore.AsyncHTTPProxy(proxy_url=proxy, ssl_context=ssl_context(), max_connections=1,
                                             max_keepalive_connections=1)

    async def exchange(self, method: str, target: str, headers: Headers,
                       body: bytes | None) -> tuple[int, Headers, bytes]:
        origin = self._origin
        url = httpcore.URL(scheme=origin.scheme.encode(), host=origin.host.encode(), port=origin.port,
                           target=origin.target(target))
        response = await self._pool.request(method.encode(), url, headers=origin.framing(body) + headers,
                                            content=body, extensions={"timeout": self._timeouts})
        return response.status, response.headers, response.content

    async def aclose(self) -> None:
        await self._pool.aclose()


class TransportWire:
    """Requests through an httpx transport the run shares (not closed here)."""

    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport, *, timeout: float) -> None:
        self._base = base_url.rstrip("/")
        self._transport = transport
        self._timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}

    async def exchange(self, method: str, target: str, headers: Headers,
                       body: bytes | None) -> tuple[int, Headers, bytes]:
        request = httpx.Request(method, self._base + target, headers=headers, content=body,
                                extensions={"timeout": self._timeouts})
        response = await self._transport.handle_async_request(request)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return response.status_code, response.headers.raw, content

    async def aclose(self) -> None:
        return None


def open_wire(base_url: str, transport: httpx.AsyncBaseTransport | None, *, timeout: float) -> Wire:
    """The wire for one worker: the given transport (in-process sandbox), else the network —
    through the environment's proxy when it names one for this origin."""
    if transport is not None:
        return TransportWire(base_url, transport, timeout=timeout)
    parts = urlsplit(base_url)
    proxy = _proxy_for(parts.scheme, parts.hostname or "")
    if proxy:
        return ProxyWire(base_url, proxy, timeout=timeout)
    return StreamWire(base_url, timeout=timeout)


def failure_kind(exc: BaseException) -> str | None:
    """"timeout", "connect" (nothing was sent), "broken" (it may have been), or None (not ours)."""
    # asyncio.TimeoutError is TimeoutError from Python 3.11 on, a class of its own on 3.10
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, httpx.TimeoutException, httpcore.TimeoutException)):
        return "timeout"
    if isinstance(exc, (httpx.ConnectError, httpcore.ConnectError)):
        return "connect"
    if isinstance(exc, (httpx.TransportError, httpcore.NetworkError, httpcore.ProtocolError,
                        httpcore.ProxyError, httpcore.UnsupportedProtocol)):
        return "broken"
    return None


class ReadDeadline:
    """How long a card read may take before it is abandoned and tried again: a multiple of
    what the provider's reads take lately, never more than the write deadline — and after how
    long a read is slow enough to be worth a second copy (`hedge_after`).

    A read changes nothing, so giving up on it early is safe — and a hung read that holds a
    worker for the whole 30 s write deadline is the costliest thing a misbehaving provider
    does to a run. It learns from the pool's own reads: `FACTOR` × their 90th percentile,
    between `FLOOR` and the write deadline, starting at `START` until enough reads were seen.
    A read that times out counts as having taken the whole deadline, so a provider whose
    reads are all slow soon gets a deadline that fits them.

    `hedge_after()` is the 95th percentile of the same reads ("The Tail at Scale": a request
    slower than p95 gets a second copy; first answer wins), or None until `_EVERY` reads were
    seen. A read abandoned because its copy answered first counts with the time it had taken,
    so hedging does not pull the percentile down onto itself."""

    FLOOR = 1.0
    START = 2.0
    FACTOR = 8.0
    HEDGE_FLOOR = 0.01
    _WINDOW = 256
    _EVERY = 16

    def __init__(self, ceiling: float) -> None:
        self.ceiling = ceiling
        self._seconds = min(ceiling, self.START)
        self._hedge: float | None = None
        self._seen: list[float] = []
        self._count = 0

    def seconds(self) -> float:
        return self._seconds

    def hedge_after(self) -> float | None:
        """Seconds after which a read still unanswered gets a second copy (None: not yet known)."""
        return self._hedge

    def observe(self, took: float) -> None:
        """One read took `took` seconds (or timed out after them)."""
        if len(self._seen) < self._WINDOW:
            self._seen.append(took)
        else:
            self._seen[self._count % self._WINDOW] = took
        self._count += 1
        if self._count % self._EVERY == 0:
            ranked = sorted(self._seen)
            p90 = ranked[int(len(ranked) * 0.9)]
            self._seconds = min(self.ceiling, max(self.FLOOR, self.FACTOR * p90))
            self._hedge = min(self._seconds, max(self.HEDGE_FLOOR, ranked[int(len(ranked) * 0.95)]))


class Connection:
    """One worker's own connection (a `Wire`), and the authenticated, timed `Send` over it.

    Writes get the `deadline`; reads get the pool's `ReadDeadline` when one is given."""

    def __init__(self, provider: Provider, *, transport: httpx.AsyncBaseTransport | None,
                 limiter: RateLimiter, deadline: float, read_deadline: ReadDeadline | None = None) -> None:
        self.provider = provider
        self._base = provider.base_url.rstrip("/")
        self._wire = open_wire(self._base, transport, timeout=deadline)
        self._headers = [(b"accept", b"application/json"), (b"user-agent", _USER_AGENT.encode())]
        self._headers += [(k.lower().encode(), v.encode()) for k, v in provider.auth_headers().items()]
        self._json_headers = self._headers + [(b"content-type", b"application/json")]
        self._limiter = limiter
        self._deadline = deadline
        self._read_deadline = read_deadline
        self.requests = 0

    def __repr__(self) -> str:
        return f"Connection({self.provider.name}, {self._base!r})"

    async def aclose(self) -> None:
        await self._wire.aclose()

    async def send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                   json: Any = None, headers: Mapping[str, str] | None = None) -> Reply:
        """One request; connection trouble and the deadline become `Transient`. `headers` adds
        request headers (an `Idempotency-Key`); the credentials are the connection's own."""
        await self._limiter.acquire()
        writes = method.upper() not in _READ_METHODS
        self.requests += 1
        target = path + ("?" + urlencode(params) if params else "")
        body = None if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        sent = self._headers if body is None else self._json_headers
        if headers:
            sent = sent + [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
        headers = None
        label = self.provider.name
        learn = self._read_deadline if not writes else None
        deadline = learn.seconds() if learn is not None else self._deadline
        began = time.perf_counter()
        try:
            status, raw_headers, content = await _within(
                self._wire.exchange(method, target, sent, body), deadline)
        except asyncio.CancelledError:
            if learn is not None:          # a hedged read whose copy answered first: it was slow
                learn.observe(time.perf_counter() - began)
            raise
        except Exception as exc:
            kind = failure_kind(exc)
            if learn is not None and kind == "timeout":
                learn.observe(deadline)
            if kind == "timeout":
                raise Transient(f"{label} did not answer within {deadline:g} s"
                                + (" (the write may have landed: it is read back before any resend)"
                                   if writes else ""), provider=label, wrote_maybe=writes) from None
            if kind == "connect":
                raise Transient(f"could not connect to {label} at {self._base} ({type(exc).__name__}) — "
                                "check the network or the base URL", provider=label) from None
            if kind == "broken":
                raise Transient(f"the connection to {label} broke ({type(exc).__name__})"
                                + (" (the write may have landed: it is read back before any resend)"
                                   if writes else ""), provider=label, wrote_maybe=writes) from None
            raise
        if learn is not None:
            learn.observe(time.perf_counter() - began)
        return reply_of(status, raw_headers, content)


async def _within(awaitable: Any, seconds: float) -> Any:
    async with asyncio.timeout(seconds):
        return await awaitable


def _proxy_for(scheme: str, host: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, ALL_PROXY, NO_PROXY …) names for this origin."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy
