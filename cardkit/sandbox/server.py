"""Serve a Sandbox on loopback with uvicorn: in the foreground (the CLI) or in a thread (tests).

    >>> with LoopbackServer(Sandbox()) as server:
    ...     urls = server.base_urls()      # {"blooio": "http://127.0.0.1:PORT/blooio/v2/api", …}

The socket is bound before uvicorn starts, so port 0 picks a free port and the real one is known
before the first request. A dropped-connection fault makes uvicorn log "ASGI callable returned
without completing response"; that line is the fault working, so it is filtered out.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

import uvicorn

from cardkit.sandbox.app import Sandbox

_DROP_MESSAGE = "ASGI callable returned without completing response."


class _HideIntendedDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_MESSAGE


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one).

    Made with ``IPPROTO_TCP`` named, not the default protocol 0: asyncio turns Nagle's algorithm
    off (TCP_NODELAY) only on accepted sockets whose ``proto`` says TCP. With it on, every answer —
    its head and body go out as two writes — waited ~40 ms for the client's delayed ACK: 44 ms per
    request at zero configured latency, which capped the served sandbox far below what it emulates.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets on Linux
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def make_server(sandbox: Sandbox, *, log_level: str = "warning", access_log: bool = False) -> uvicorn.Server:
    logging.getLogger("uvicorn.error").addFilter(_HideIntendedDrops())
    config = uvicorn.Config(sandbox.app, log_level=log_level, access_log=access_log, lifespan="off",
                            timeout_graceful_shutdown=2, backlog=2048)
    return uvicorn.Server(config)


def origin_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_forever(sandbox: Sandbox, sock: socket.socket, *, on_ready: Callable[[], None] | None = None,
                  log_level: str = "warning", access_log: bool = False) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn handles both and shuts down cleanly)."""
    server = make_server(sandbox, log_level=log_level, access_log=access_log)
    if on_ready is not None:
        on_ready()
    server.run(sockets=[sock])


class LoopbackServer:
    """A Sandbox served by uvicorn in a background thread, for tests, benchmarks and notebooks."""

    def __init__(self, sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.sandbox = sandbox
        self._sock = bind(host, port)
        self.origin = origin_of(self._sock)
        self._server = make_server(sandbox, log_level=log_level)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"cardkit-sandbox {self.origin}", daemon=True)

    def base_urls(self) -> dict[str, str]:
        return self.sandbox.base_urls(self.origin)

    def start(self, timeout: float = 10.0) -> LoopbackServer:
        """Start serving and wait until the server accepts connections (once; later calls do nothing)."""
        if self._thread.ident is not None:
            return self
        self._thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive() or waited > timeout:
                raise RuntimeError(f"the sandbox server did not start on {self.origin}")
            deadline.wait(0.01)
            waited += 0.01
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
