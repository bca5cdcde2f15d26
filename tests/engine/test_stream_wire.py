"""The network wire (asyncio streams + h11) against a real HTTP/1.1 server on loopback.

The server here is a small asyncio one speaking h11 as the server side, because the cases it
plays — closing after an answer, closing without one, never answering, chunked bodies, TLS with
a test CA — are what a real provider's edge does now and then, and no provider can be reached.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl

import h11
import pytest
import trustme

from cardkit.engine import connections
from cardkit.engine.connections import StreamWire, failure_kind, open_wire
from cardkit.sandbox.server import bind


class EdgeServer:
    """An HTTP/1.1 server whose behaviour per request is chosen by the path."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.connections = 0
        self.requests: list[tuple[str, str, bytes]] = []
        self._handlers: set[asyncio.Task] = set()
        self.hosts: list[bytes] = []

    async def __aenter__(self) -> EdgeServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Since Python 3.12, wait_closed() also waits for every connection's handler to end.
        self._server.close()
        for handler in self._handlers:
            handler.cancel()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        protocol = h11.Connection(h11.SERVER)
        try:
            while True:
                request, body = None, b""
                while True:
                    event = protocol.next_event()
                    if event is h11.NEED_DATA:
                        data = await reader.read(65536)
                        if not data:
                            return
                        protocol.receive_data(data)
                    elif isinstance(event, h11.Request):
                        request = event
                    elif isinstance(event, h11.Data):
                        body += event.data
                    elif isinstance(event, h11.EndOfMessage):
                        break
                    elif isinstance(event, h11.ConnectionClosed):
                        return
                assert request is not None
                path = request.target.decode()
                self.hosts.extend(value for name, value in request.headers if name == b"host")
                self.requests.append((request.method.decode(), path, body))
                if path == "/drop":
                    return                                   # closes without answering
                if path == "/hang":
                    await reader.read()                      # never answers; ends when the client hangs up
                    return
                answer = json.dumps({"path": path, "got": body.decode()}).encode()
                headers = [("content-type", "application/json")]
                if path == "/chunked":
                    headers.append(("transfer-encoding", "chunked"))
                else:
                    headers.append(("content-length", str(len(answer))))
                if path == "/close":
                    headers.append(("connection", "close"))
                out = protocol.send(h11.Response(status_code=200, headers=headers))
                if path == "/chunked":
                    out += protocol.send(h11.Data(data=answer[:5])) + protocol.send(h11.Data(data=answer[5:]))
                else:
                    out += protocol.send(h11.Data(data=answer))
                out += protocol.send(h11.EndOfMessage())
                writer.write(out)
                await writer.drain()
                if path in ("/close", "/then-idle-close"):
                    return                                   # the server ends the connection
                protocol.start_next_cycle()
        finally:
            writer.close()
            self._handlers.discard(handler)


async def _get(wire: StreamWire, path: str, body: bytes | None = None) -> tuple[int, dict]:
    status, _, content = await wire.exchange("POST" if body else "GET", path, [(b"accept", b"*/*")], body)
    return status, json.loads(content)


def test_requests_share_one_keep_alive_connection_and_bodies_arrive_whole():
    """Three requests (one with a body) go over one connection; each answer is read whole."""
    async def main() -> None:
        async with EdgeServer() as server:
            wire = StreamWire(f"http://127.0.0.1:{server.port}", timeout=5)
            assert await _get(wire, "/a") == (200, {"path": "/a", "got": ""})
            assert await _get(wire, "/b", b'{"first_name":"Ada"}') == (200, {"path": "/b", "got": '{"first_name":"Ada"}'})
            assert await _get(wire, "/chunked") == (200, {"path": "/chunked", "got": ""})
            await wire.aclose()
            assert server.connections == 1
            assert [m for m, _, _ in server.requests] == ["GET", "POST", "GET"]

    asyncio.run(main())


def test_a_base_url_path_prefixes_every_target():
    """The base URL's path (a provider's /v2/api) comes before each request's target."""
    async def main() -> None:
        async with EdgeServer() as server:
            wire = StreamWire(f"http://127.0.0.1:{server.port}/v2/api/", timeout=5)
            assert (await _get(wire, "/me/numbers"))[1]["path"] == "/v2/api/me/numbers"
            await wire.aclose()

    asyncio.run(main())


def test_connection_close_and_an_idle_close_by_the_server_are_noticed_before_the_next_request():
    """After `Connection: close`, or a server that hangs up once idle, the next request opens a
    new connection instead of failing on the dead one."""
    async def main() -> None:
        async with EdgeServer() as server:
            wire = StreamWire(f"http://127.0.0.1:{server.port}", timeout=5)
            assert (await _get(wire, "/close"))[0] == 200
            assert (await _get(wire, "/then-idle-close"))[0] == 200
            await asyncio.sleep(0.2)                        # the server's FIN reaches the client
            assert (await _get(wire, "/after"))[0] == 200
            await wire.aclose()
            assert server.connections == 3
            assert len(server.requests) == 3                # nothing was sent into a dead connection

    asyncio.run(main())


def test_no_answer_is_a_broken_connection_and_the_next_request_reconnects():
    """A server that closes without answering: "broken" (a write may have landed); the wire then
    opens a fresh connection."""
    async def main() -> None:
        async with EdgeServer() as server:
            wire = StreamWire(f"http://127.0.0.1:{server.port}", timeout=5)
            with pytest.raises(Exception) as caught:
                await _get(wire, "/drop", b"{}")
            assert failure_kind(caught.value) == "broken"
            assert (await _get(wire, "/next"))[0] == 200
            await wire.aclose()
            assert server.connections == 2

    asyncio.run(main())


def test_a_request_cancelled_part_way_leaves_no_half_used_connection():
    """A hedged read abandoned (cancelled) mid-answer: its connection is dropped, the next request
    gets a clean one."""
    async def main() -> None:
        async with EdgeServer() as server:
            wire = StreamWire(f"http://127.0.0.1:{server.port}", timeout=5)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await _get(wire, "/hang")
            assert await _get(wire, "/after") == (200, {"path": "/after", "got": ""})
            await wire.aclose()
            assert server.connections == 2

    asyncio.run(main())


def test_nothing_listening_is_a_connect_failure():
    """A refused connection is "connect": nothing was sent, so even a write is simply retried."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]                       # bound but not listening: refused

    async def main() -> None:
        wire = StreamWire(f"http://127.0.0.1:{port}", timeout=5)
        with pytest.raises(Exception) as caught:
            await _get(wire, "/x")
        assert failure_kind(caught.value) == "connect"
        await wire.aclose()

    asyncio.run(main())


def test_https_checks_the_certificate_and_works_with_a_trusted_one(monkeypatch):
    """TLS: a certificate from an unknown CA is refused as a connect failure; trusted, the same
    server answers (a test CA made by trustme stands in for a public one)."""
    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_tls)

    async def main() -> None:
        async with EdgeServer(tls=server_tls) as server:
            url = f"https://localhost:{server.port}"
            untrusted = StreamWire(url, timeout=5)
            with pytest.raises(Exception) as caught:
                await _get(untrusted, "/x")
            assert failure_kind(caught.value) == "connect"
            assert "certificate" in str(caught.value).lower()

            trusting = ssl.create_default_context()
            authority.configure_trust(trusting)
            monkeypatch.setattr(connections, "ssl_context", lambda: trusting)
            wire = StreamWire(url, timeout=5)
            assert await _get(wire, "/secure") == (200, {"path": "/secure", "got": ""})
            await wire.aclose()

    asyncio.run(main())


def test_a_proxy_named_by_the_environment_is_used(monkeypatch):
    """HTTPS_PROXY / HTTP_PROXY for the origin: the proxy wire; NO_PROXY or none: the direct one."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert type(open_wire("http://api.example.test/v2", None, timeout=5)).__name__ == "ProxyWire"
    monkeypatch.setenv("NO_PROXY", "api.example.test")
    assert isinstance(open_wire("http://api.example.test/v2", None, timeout=5), StreamWire)


def test_a_request_through_a_proxy_names_the_origin_its_path_and_body(monkeypatch):
    """Through an HTTP proxy the request goes in absolute form (the origin and the base URL's
    path), with the origin's Host and the body whole; the answer comes back as from the origin.
    The edge server plays the forwarding proxy: it answers what it was asked."""
    async def main() -> None:
        async with EdgeServer() as proxy:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            wire = open_wire("http://api.example.test:8080/v2/", None, timeout=5)
            assert type(wire).__name__ == "ProxyWire"
            status, _, content = await wire.exchange("POST", "/cards?x=1", [(b"accept", b"*/*")], b'{"a":1}')
            await wire.aclose()
            assert status == 200
            assert json.loads(content) == {"path": "http://api.example.test:8080/v2/cards?x=1", "got": '{"a":1}'}
            assert proxy.hosts == [b"api.example.test:8080"]

    asyncio.run(main())


def test_the_served_sandbox_turns_nagles_algorithm_off():
    """The listening socket names TCP (asyncio then sets TCP_NODELAY on each accepted one) and
    sets it itself: with Nagle on, every answer waited ~40 ms for the client's delayed ACK."""
    sock = bind()
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()
