"""One worker's connection on the wire: send a request, get (status, headers, body) back.

Two kinds, one interface:

- `CoreWire` — the network: an `httpcore` connection pool of **one** connection to the
  provider's origin (through the environment's proxy when it names one). httpx is built on
  httpcore; going to it directly skips httpx's request/response models, URL re-parsing,
  cookies, auth flows and redirects, none of which these JSON APIs use — measured here, that
  halves cardkit's HTTP cost per request beside `httpx.AsyncClient` (≈0.75 → ≈0.45 ms CPU).
- `TransportWire` — an httpx transport given by the caller: the in-process sandbox's.

`failure_kind(exc)` tells the engine what an exception from either means.
"""

from __future__ import annotations

import functools
import ssl
import urllib.request
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

Headers = list[tuple[bytes, bytes]]


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


class CoreWire:
    """One keep-alive connection to the origin of `base_url` (httpcore)."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        parts = urlsplit(base_url)
        self._scheme = parts.scheme.encode()
        self._host = (parts.hostname or "").encode()
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._host_header = parts.netloc.rsplit("@", 1)[-1].encode()
        self._timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        proxy = _proxy_for(parts.scheme, parts.hostname or "")
        options: dict[str, Any] = dict(ssl_context=ssl_context(), max_connections=1, max_keepalive_connections=1)
        if proxy:
            self._pool: httpcore.AsyncConnectionPool = httpcore.AsyncHTTPProxy(proxy_url=proxy, **options)
        else:
            self._pool = httpcore.AsyncConnectionPool(**options)

    async def exchange(self, method: str, target: str, headers: Headers,
                       body: bytes | None) -> tuple[int, Headers, bytes]:
        framing: Headers = [(b"host", self._host_header)]
        if body is not None:
            framing.append((b"content-length", str(len(body)).encode()))
        url = httpcore.URL(scheme=self._scheme, host=self._host, port=self._port,
                           target=(self._prefix + target).encode())
        response = await self._pool.request(method.encode(), url, headers=framing + headers,
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
    """The wire for one worker: the given transport (in-process sandbox), else the network."""
    if transport is not None:
        return TransportWire(base_url, transport, timeout=timeout)
    return CoreWire(base_url, timeout=timeout)


def failure_kind(exc: BaseException) -> str | None:
    """"timeout", "connect" (nothing was sent), "broken" (it may have been), or None (not ours)."""
    if isinstance(exc, (TimeoutError, httpx.TimeoutException, httpcore.TimeoutException)):
        return "timeout"
    if isinstance(exc, (httpx.ConnectError, httpcore.ConnectError)):
        return "connect"
    if isinstance(exc, (httpx.TransportError, httpcore.NetworkError, httpcore.ProtocolError,
                        httpcore.ProxyError, httpcore.UnsupportedProtocol)):
        return "broken"
    return None


def _proxy_for(scheme: str, host: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, ALL_PROXY, NO_PROXY …) names for this origin."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy
