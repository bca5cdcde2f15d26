"""An httpx transport that reaches the sandbox's ASGI app in process, faults included.

``httpx.ASGITransport`` enforces no timeout and turns an incomplete response into an assertion.
This transport makes the sandbox look from the client's side as it does over a socket:

- the request's read timeout (``httpx.Timeout``) is enforced: a hung response ends in
  ``httpx.ReadTimeout`` and the app sees the client disconnect, as uvicorn would tell it;
- a response the app leaves incomplete (a dropped connection) raises ``httpx.RemoteProtocolError``;
- cancelling the caller (its own deadline) tells the app the client went away.

In both cases the app is not cancelled: like a server whose client hung up, it finishes on its
own (a hung request stops waiting at once; one still in its latency sleep applies afterwards, as
it would over a socket).
"""

from __future__ import annotations

import asyncio

import httpx


class SandboxTransport(httpx.AsyncBaseTransport):
    """Send httpx requests straight into an ASGI app, without sockets."""

    def __init__(self, app, *, client: tuple[str, int] = ("127.0.0.1", 50000)):
        self.app = app
        self.client = client
        self._abandoned: set[asyncio.Task] = set()

    def _abandon(self, task: asyncio.Task, gone: asyncio.Event) -> None:
        """The client gave up: tell the app, and let it finish on its own as a server would."""
        gone.set()
        self._abandoned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not warn about it

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = b"".join([chunk async for chunk in request.stream])
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,  # httpx gives it percent-decoded, as servers do
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": self.client,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        }
        gone = asyncio.Event()
        sent_body = False
        status = 500
        headers: list = []
        chunks: list[bytes] = []
        complete = False

        async def receive() -> dict:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    complete = True

        timeout = request.extensions.get("timeout", {}).get("read")
        task = asyncio.ensure_future(self.app(scope, receive, send))
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except asyncio.CancelledError:  # the caller's own deadline: the client went away
            self._abandon(task, gone)
            raise
        if not done:
            self._abandon(task, gone)
            raise httpx.ReadTimeout(f"the sandbox did not answer within {timeout:g} s", request=request)
        gone.set()
        task.result()  # an exception in the app is a bug in the sandbox: let it show
        if not complete:
            raise httpx.RemoteProtocolError("Server disconnected without sending a complete response.",
                                            request=request)
        return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)

