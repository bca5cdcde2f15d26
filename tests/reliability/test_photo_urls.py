"""Photo URLs against a hostile web server of our own on 127.0.0.1: Hypothesis scripts chains of
responses (redirects anywhere, error statuses, lying Content-Length/Content-Type, endless bodies,
hangs, web pages, bombs) and cardkit's download-and-prepare path must end in a square JPEG or a
classified failure with a message — never another exception, never a hop it should have refused."""

from __future__ import annotations

import asyncio
import io
import itertools
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from PIL import Image

from cardkit.errors import InputError, Permanent, Transient
from cardkit.photos import prepare_photo
from cardkit.providers.media import fetch_photo
from cardkit.urls import origin_of

from .conftest import publish

CAP = 300_000          # bytes: the size cap used here (the default is 10 MB)
TIMEOUT = 1.0          # seconds: the download deadline used here (the default is 30 s)


def _jpeg(size: int = 200) -> bytes:
    out = io.BytesIO()
    Image.effect_mandelbrot((size, size), (-2, -1.2, 1, 1.2), 40).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def _bomb_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


BOMB = _bomb_png()
BODIES = {"jpeg": _jpeg(), "png-bomb": BOMB, "html": b"<html><body>Log in to see this photo</body></html>",
          "empty": b"", "junk": bytes(range(256)) * 4, "big-jpeg": _jpeg(200) + b"\x00" * (CAP + 1)}


class Script:
    """What the server answers for one URL path: a list of steps, one per hop."""

    registry: dict[str, list[dict]] = {}
    hits: dict[str, list[int]] = {}
    ids = itertools.count()


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:      # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        _, _, script_id, step = self.path.split("?")[0].split("/")[:4]
        steps = Script.registry[script_id]
        Script.hits.setdefault(script_id, []).append(int(step))
        spec = steps[min(int(step), len(steps) - 1)]
        kind = spec["kind"]
        if kind == "redirect":
            target = spec["to"].format(origin=self.server.origin, id=script_id, next=int(step) + 1)
            self._head(spec["status"], {"Location": target, "Content-Length": "0"})
        elif kind == "status":
            self._head(spec["status"], {"Content-Length": "2", "Content-Type": "text/plain"})
            self.wfile.write(b"no")
        elif kind == "hang":
            self._head(200, {"Content-Type": "image/jpeg", "Content-Length": "100000"})
            self.wfile.write(BODIES["jpeg"][:50])
            self.wfile.flush()
            time.sleep(TIMEOUT * 3)
        elif kind == "endless":
            self._head(200, {"Content-Type": "image/jpeg", "Transfer-Encoding": "chunked"})
            try:
                for _ in range(2_000):           # ~ 130 MB if nobody stops reading
                    self.wfile.write(b"10000\r\n" + b"\xff" * 65536 + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
        else:
            body = BODIES[spec["body"]]
            length = {"honest": str(len(body)), "huge": str(10**12), "absent": None}[spec["length"]]
            headers = {"Content-Type": spec["type"]}
            if length is None:
                headers["Connection"] = "close"
                self.close_connection = True
            else:
                headers["Content-Length"] = length
            self._head(200, headers)
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            if spec["length"] == "huge":
                self.close_connection = True

    def _head(self, status: int, headers: dict) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    httpd.daemon_threads = True
    httpd.origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


REFUSED_HOPS = ["http://photos.example.com/x.jpg", "ftp://127.0.0.1/x.jpg", "file:///etc/passwd",
                "http://10.0.0.1/x.jpg", "http://169.254.169.254/latest/meta-data/", "javascript:alert(1)",
                "https://169.254.169.254/latest/meta-data/", "https://127.0.0.1/x.jpg", "http://localhost:9/x.jpg",
                "https://[::1]/x.jpg", "https://[fd00::1]/x.jpg"]

steps = st.one_of(
    st.builds(lambda status: {"kind": "redirect", "status": status, "to": "{origin}/s/{id}/{next}"},
              st.sampled_from([301, 302, 303, 307, 308])),
    st.builds(lambda status: {"kind": "redirect", "status": status, "to": "/s/{id}/{next}?token=SECRET"},
              st.sampled_from([302, 307])),
    st.builds(lambda to: {"kind": "redirect", "status": 302, "to": to, "refused": True}, st.sampled_from(REFUSED_HOPS)),
    st.builds(lambda status: {"kind": "status", "status": status}, st.sampled_from([400, 403, 404, 410, 429, 500, 503])),
    st.just({"kind": "hang"}),
    st.just({"kind": "endless"}),
    st.builds(lambda body, ctype, length: {"kind": "body", "body": body, "type": ctype, "length": length},
              st.sampled_from(sorted(BODIES)), st.sampled_from(["image/jpeg", "text/html", "application/octet-stream", ""]),
              st.sampled_from(["honest", "huge", "absent"])),
)

OUTCOMES: dict[str, int] = {}


async def _download_and_prepare(url: str, allow_private: str | None = None) -> bytes:
    """cardkit's path for a URL photo of a bytes-taking provider (the engine's PhotoShop):
    fetch_photo, then prepare_photo — here with a small cap and deadline. Our hostile server
    is on loopback, which the rule refuses unless allowed: its one origin is allowed here,
    as the engine allows a served sandbox's (no other port or address of this machine is)."""
    if allow_private is None:
        allow_private = origin_of(url)
    async with httpx.AsyncClient() as client:
        raw = await fetch_photo(url, client=client, max_bytes=CAP, timeout=TIMEOUT, allow_private=allow_private)
    return await asyncio.get_running_loop().run_in_executor(None, prepare_photo, raw)


def _body(body: str, ctype: str = "image/jpeg", length: str = "honest") -> dict:
    return {"kind": "body", "body": body, "type": ctype, "length": length}


_HOP = {"kind": "redirect", "status": 302, "to": "{origin}/s/{id}/{next}"}
_RELATIVE_HOP = {"kind": "redirect", "status": 307, "to": "/s/{id}/{next}?token=SECRET"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chain=st.lists(steps, min_size=1, max_size=7))
@example(chain=[_body("jpeg")])
@example(chain=[_HOP, _RELATIVE_HOP, _body("jpeg", "application/octet-stream", "absent")])
@example(chain=[_body("html", "image/jpeg")])
@example(chain=[_body("big-jpeg")])
@example(chain=[_body("jpeg", "image/jpeg", "huge")])
@example(chain=[{"kind": "endless"}])
@example(chain=[{"kind": "hang"}])
@example(chain=[_HOP, _body("png-bomb", "image/png")])
@example(chain=[_HOP] * 7)
@example(chain=[_HOP, {"kind": "redirect", "status": 302, "to": "http://169.254.169.254/latest/meta-data/",
                       "refused": True}])
def test_any_chain_of_hostile_responses_ends_in_a_jpeg_or_a_classified_failure(server, chain):
    """Scripted hops: a square JPEG only from an allowed chain ending in a real, small image;
    otherwise Permanent/Transient/PhotoError with a message that hides the URL's query."""
    script_id = str(next(Script.ids))
    Script.registry[script_id] = chain
    url = f"{server.origin}/s/{script_id}/0?token=SECRET"
    started = time.monotonic()
    try:
        data = asyncio.run(_download_and_prepare(url))
    except (Permanent, Transient) as failure:
        outcome = type(failure).__name__
        assert failure.message.strip() and "SECRET" not in failure.message, failure.message
    except InputError as exc:         # PhotoError from preparing what was downloaded
        outcome = "PhotoError"
        assert str(exc).strip()
    else:
        outcome = "jpeg"
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.width == image.height
    elapsed = time.monotonic() - started
    OUTCOMES[outcome] = OUTCOMES.get(outcome, 0) + 1

    # what the server saw: hops are taken in order, and none past a refused redirect
    hits = Script.hits.get(script_id, [])
    assert hits == list(range(len(hits))), hits
    taken = [chain[min(i, len(chain) - 1)] for i in hits]
    assert elapsed < TIMEOUT + 10, f"the download ran {elapsed:.1f} s past its {TIMEOUT} s deadline"
    if outcome == "jpeg":
        last = taken[-1]
        assert last["kind"] == "body" and last["body"] == "jpeg", taken
        assert not any(s.get("refused") for s in taken)
    refused = next((i for i, s in enumerate(taken) if s.get("refused")), None)
    if refused is not None:
        assert refused == len(taken) - 1 and outcome == "Permanent", (taken, outcome)
    if len(hits) > 6:       # the 6th redirect is one too many
        assert outcome == "Permanent"


@pytest.fixture(scope="module", autouse=True)
def _publish_outcomes():
    """After the module: record the outcomes the hostile chains met (RELIABILITY.md)."""
    yield
    publish("photo_url_outcomes", dict(OUTCOMES))


@pytest.mark.parametrize("url", [
    "http://photos.example.com/face.jpg", "http://10.0.0.1/face.jpg", "http://169.254.169.254/latest/meta-data/",
    "ftp://127.0.0.1/face.jpg", "file:///etc/passwd", "gopher://127.0.0.1:70/", "https://", "not a url at all",
    # https as well: loopback, link-local (cloud metadata), private, unique-local, mapped, by name
    "https://169.254.169.254/latest/meta-data/", "https://127.0.0.1/face.jpg", "https://10.1.2.3/face.jpg",
    "https://192.168.1.1/face.jpg", "https://[::1]/face.jpg", "https://[fd12:3456::1]/face.jpg",
    "https://[fe80::1]/face.jpg", "https://[::ffff:127.0.0.1]/face.jpg", "https://localhost/face.jpg",
    "http://localhost:8080/face.jpg", "http://127.0.0.1:8787/_sandbox/media/x.jpg",
])
def test_urls_that_are_not_https_or_loopback_are_refused_before_any_connection(url):
    """Plain http off loopback, other schemes, no host: Permanent at once, nothing is fetched.
    (The client's transport fails the test on any request: the only way to see "no connection".)"""

    async def attempt() -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise AssertionError(f"cardkit connected to {request.url}")
        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
            await fetch_photo(url, client=client)

    with pytest.raises(Permanent) as caught:
        asyncio.run(attempt())
    assert caught.value.message.strip()


def test_a_photo_url_serving_a_decompression_bomb_fails_that_row_only():
    """A URL photo declaring 10 gigapixels: that row invalid with a message, the others applied."""
    import pandas as pd

    import cardkit
    from cardkit.sandbox import Sandbox

    box = Sandbox()
    bomb_url = box.upload(BOMB, "image/png", origin="https://sandbox.local")
    cards = cardkit.validate(cardkit.read_cards(pd.DataFrame({
        "Phone": ["+14155552671", "+14155552672"], "First Name": ["Ana", "Ben"], "Photo": [bomb_url, ""]})))
    results = cardkit.apply(cards, "blooio", sandbox=box, progress=False)
    assert results["status"].tolist() == ["invalid", "applied"]
    assert "pixels" in results["message"].iloc[0]


def test_a_redirect_to_a_javascript_url_is_a_permanent_failure(server):
    """A photo URL redirecting to `javascript:alert(1)`: Permanent, like any refused hop."""
    script_id = str(next(Script.ids))
    Script.registry[script_id] = [{"kind": "redirect", "status": 302, "to": "javascript:alert(1)"}]
    with pytest.raises(Permanent):
        asyncio.run(_download_and_prepare(f"{server.origin}/s/{script_id}/0"))


def test_a_photo_url_with_an_impossible_port_fails_that_row_only(tmp_path):
    """`https://127.0.0.1:99999/x.jpg`: validate refuses it, and even forced through, only that row fails."""
    import pandas as pd

    import cardkit
    from cardkit.sandbox.seed import default_seed_text

    from .conftest import soak

    (tmp_path / "seed.json").write_text(default_seed_text())
    cards = cardkit.validate(cardkit.read_cards(pd.DataFrame({
        "Phone": ["+14155552671", "+14155552672"], "First Name": ["Ana", "Ben"],
        "Photo": ["https://127.0.0.1:99999/x.jpg", ""]})))
    assert cards["valid"].tolist() == [False, True]
    assert "port" in cards["problems"].iloc[0] and "99999" in cards["problems"].iloc[0]
    cards = cards.assign(valid=True)  # a hand-edited frame: apply must still not crash
    with soak.ServedSandbox(seed=tmp_path / "seed.json") as served:
        blooio = [a for a in soak.adapters_for(served) if a.name == "blooio"]
        results = cardkit.apply(cards, blooio, journal=False, progress=False)
    assert results["status"].tolist()[1] == "applied"
    assert results["status"].iloc[0] in ("invalid", "failed") and "99999" in results["message"].iloc[0]


def test_a_url_httpx_refuses_is_a_permanent_failure():
    """A photo URL with a NUL in its host passes the URL rule but httpx refuses it: Permanent, not InvalidURL."""
    with pytest.raises(Permanent, match="isn't usable"):
        asyncio.run(_download_and_prepare("https://\x00/x.jpg"))


class _Target(BaseHTTPRequestHandler):
    """Another service on this machine (an admin API): counts every request that reaches it."""

    protocol_version = "HTTP/1.1"
    hits: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        _Target.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODIES["jpeg"])))
        self.end_headers()
        self.wfile.write(BODIES["jpeg"])


@pytest.fixture()
def admin():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    _Target.hits = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("to", ["http://127.0.0.1:{port}/admin/delete-everything?confirm=yes",
                                "https://127.0.0.1:{port}/admin/delete-everything?confirm=yes",
                                "http://localhost:{port}/admin/delete-everything?confirm=yes",
                                "http://[::ffff:127.0.0.1]:{port}/admin/delete-everything?confirm=yes"])
def test_a_redirect_to_another_service_on_this_machine_is_refused_although_the_first_host_is_allowed(server, admin, to):
    """The photo's own origin is allowed; its redirect to another port of this machine is not: Permanent, 0 hits there."""
    script_id = str(next(Script.ids))
    Script.registry[script_id] = [{"kind": "redirect", "status": 302, "to": to.format(port=admin)}]
    with pytest.raises(Permanent) as caught:
        asyncio.run(_download_and_prepare(f"{server.origin}/s/{script_id}/0"))
    assert "private address" in caught.value.message or "https" in caught.value.message, caught.value.message
    assert "confirm=yes" not in caught.value.message
    assert _Target.hits == []


def test_a_loopback_photo_url_is_refused_by_default_before_any_connection(admin):
    """No allowance (the default rule): a photo on 127.0.0.1 is refused, the service never hears of it."""
    async def attempt() -> None:
        async with httpx.AsyncClient() as client:
            await fetch_photo(f"http://127.0.0.1:{admin}/admin/delete-everything?confirm=yes", client=client)

    with pytest.raises(Permanent, match="private address.*CARDKIT_ALLOW_PRIVATE_PHOTO_HOSTS"):
        asyncio.run(attempt())
    assert _Target.hits == []


def test_an_allowed_network_lets_a_named_host_in_and_the_name_still_goes_in_the_host_header(admin):
    """`localhost` resolves, every address is checked against the allowed networks, and the request
    goes to the checked address with `Host: localhost:PORT` (the name is not looked up again)."""
    seen: list[str] = []

    class Named(_Target):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Host", ""))
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Named)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        port = httpd.server_address[1]
        data = asyncio.run(_download_and_prepare(f"http://localhost:{port}/face.jpg",
                                                 allow_private="127.0.0.0/8, ::1/128"))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert data[:2] == b"\xff\xd8" and seen == [f"localhost:{port}"]


def test_a_sheet_photo_redirecting_into_this_machine_fails_that_row_only_over_the_sandbox(tmp_path, server, admin,
                                                                                         monkeypatch):
    """apply to a served sandbox (its own media allowed), the photo server's origin opted in by the user:
    a Blooio row whose photo URL redirects to an admin URL on 127.0.0.1 fails with a message, the
    sandbox-hosted photo row is applied, the admin saw nothing."""
    monkeypatch.setenv("CARDKIT_ALLOW_PRIVATE_PHOTO_HOSTS", server.origin)
    import pandas as pd

    import cardkit
    from cardkit.sandbox.seed import default_seed_text

    from .conftest import soak

    script_id = str(next(Script.ids))
    Script.registry[script_id] = [{"kind": "redirect", "status": 302,
                                   "to": f"http://127.0.0.1:{admin}/admin/delete-everything?confirm=yes"}]
    (tmp_path / "seed.json").write_text(default_seed_text())
    with soak.ServedSandbox(seed=tmp_path / "seed.json") as served:
        own = httpx.post(f"{served.origin}/_sandbox/media", content=BODIES["jpeg"],
                         headers={"content-type": "image/jpeg"}).json()["url"]
        cards = cardkit.validate(cardkit.read_cards(pd.DataFrame({
            "Phone": ["+14155552671", "+14155552672"], "First Name": ["Ana", "Ben"],
            "Photo": [f"{server.origin}/s/{script_id}/0", own]})))
        blooio = [a for a in soak.adapters_for(served) if a.name == "blooio"]
        results = cardkit.apply(cards, blooio, journal=False, progress=False)
    assert results["status"].tolist()[1] == "applied", results[["status", "message"]]
    assert results["status"].iloc[0] in ("invalid", "failed")
    assert "private address" in results["message"].iloc[0] and "redirected from" in results["message"].iloc[0]
    assert _Target.hits == []
