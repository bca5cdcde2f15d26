"""Sendblue and Linq emulators really download loopback photo URLs, as the providers do at request time."""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from cardkit.sandbox import Sandbox
from cardkit.sandbox.media import image_size, is_loopback

SENDBLUE_LINE = "+13125550182"
LINQ_LINE = "+14085550111"


class ImageServer:
    """A real web server on 127.0.0.1 serving fixed bodies; counts what it was asked for."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.hits: list[str] = []
        files, hits = self.files, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 — the stdlib's name
                hits.append(self.path)
                path = self.path.split("?")[0]
                if path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", path[len("/redirect"):])
                    self.end_headers()
                    return
                body, kind = files.get(path, (b"not here", "text/plain"))
                self.send_response(200 if path in files else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def put(self, path: str, body: bytes, kind: str = "image/jpeg") -> str:
        self.files[path] = (body, kind)
        return self.origin + path


@pytest.fixture
def images():
    server = ImageServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height (the pixel data is one tiny row: never decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


async def sendblue_profile(client, auth, url: str) -> httpx.Response:
    return await client.post("/sendblue/api/v2/contact-sharing/profile", headers=auth["sendblue"], json={
        "fromNumber": SENDBLUE_LINE, "firstName": "Ada", "lastName": "Lovelace", "photoUrl": url})


async def linq_card(client, auth, url: str) -> httpx.Response:
    return await client.post("/linq/api/partner/v3/contact_card", headers=auth["linq"], json={
        "phone_number": LINQ_LINE, "first_name": "Ada", "image_url": url})


@pytest.mark.anyio
async def test_sendblue_downloads_a_loopback_photo_and_keeps_its_digest(client, auth, sandbox, images, jpeg_bytes):
    """POST profile with a 127.0.0.1 URL: the bytes are fetched, their sha256 is the card's photo digest."""
    url = images.put("/team/ada.jpg", jpeg_bytes)
    answer = await sendblue_profile(client, auth, url + "?X-Amz-Signature=abc")
    assert answer.status_code == 200, answer.text
    state = sandbox.state()
    assert state["sendblue"]["cards"][SENDBLUE_LINE]["photo"]["sha256"] == hashlib.sha256(jpeg_bytes).hexdigest()
    [download] = state["media"]["downloads"]
    assert download["url"] == url and download["sha256"] == hashlib.sha256(jpeg_bytes).hexdigest()
    assert (download["width"], download["height"]) == image_size(jpeg_bytes) and "Signature" not in str(state["media"])
    assert images.hits == ["/team/ada.jpg?X-Amz-Signature=abc"]


@pytest.mark.anyio
async def test_linq_downloads_a_loopback_png_following_a_loopback_redirect(client, auth, sandbox, images, png_bytes):
    """Linq POST: a redirect to another loopback path is followed; the card's image digest is the PNG's."""
    images.put("/cdn/ada.png", png_bytes, "image/png")
    answer = await linq_card(client, auth, images.origin + "/redirect/cdn/ada.png")
    assert answer.status_code == 200, answer.text
    assert sandbox.state()["linq"]["cards"][LINQ_LINE]["image"]["sha256"] == hashlib.sha256(png_bytes).hexdigest()
    assert images.hits == ["/redirect/cdn/ada.png", "/cdn/ada.png"]


@pytest.mark.anyio
async def test_unreachable_loopback_photo_fails_as_each_provider_documents(client, auth, sandbox):
    """A closed loopback port: Sendblue 500 (its documented photo failure), Linq 400/5007; nothing stored."""
    url = f"http://127.0.0.1:{closed_port()}/ada.jpg"
    sendblue = await sendblue_profile(client, auth, url)
    linq = await linq_card(client, auth, url)
    assert sendblue.status_code == 500 and sendblue.json()["status"] == "ERROR"
    assert linq.status_code == 400 and linq.json()["error"]["code"] == 5007
    state = sandbox.state()
    assert state["sendblue"]["cards"] == {} and state["linq"]["cards"] == {}
    assert [d["url"] for d in state["media"]["downloads"]] == [url, url]
    assert all("error" in d for d in state["media"]["downloads"])


@pytest.mark.anyio
@pytest.mark.parametrize("body, kind, linq_code", [
    (b"<html>a web page, not a photo</html>", "text/html", 5004),
    (png_header(20_000, 20_000), "image/png", 5004),
    (b"", "image/jpeg", 5004),
])
async def test_a_loopback_url_that_is_not_a_sane_image_fails(client, auth, sandbox, images, body, kind, linq_code):
    """A web page, a PNG claiming 20,000 px a side, an empty body: Sendblue 500, Linq 400 with its code."""
    url = images.put("/ada.jpg", body, kind)
    sendblue = await sendblue_profile(client, auth, url)
    linq = await linq_card(client, auth, url)
    assert sendblue.status_code == 500 and "ada.jpg" in sendblue.json()["message"]
    assert linq.status_code == 400 and linq.json()["error"]["code"] == linq_code
    assert sandbox.state()["sendblue"]["cards"] == {}


@pytest.mark.anyio
async def test_a_404_on_loopback_is_unreachable_for_both(client, auth, images):
    """A loopback URL answering 404: Sendblue 500, Linq 5007 (download failed)."""
    url = images.origin + "/missing.jpg"
    assert (await sendblue_profile(client, auth, url)).status_code == 500
    assert (await linq_card(client, auth, url)).json()["error"]["code"] == 5007


@pytest.mark.anyio
@pytest.mark.parametrize("url", ["http://10.1.2.3/a.jpg", "https://photos.acme.test/a.jpg", "http://169.254.169.254/a"])
async def test_non_loopback_urls_are_never_fetched(client, auth, sandbox, url):
    """A non-loopback, non-placeholder URL is unreachable without any download being tried."""
    answer = await sendblue_profile(client, auth, url)
    assert answer.status_code == 500
    assert sandbox.state()["media"]["downloads"] == []


@pytest.mark.anyio
async def test_placeholder_hosts_still_yield_the_built_in_photo(client, auth, sandbox):
    """example.com stands for a public photo: accepted, no download logged."""
    assert (await sendblue_profile(client, auth, "https://example.com/ada.jpg")).status_code == 200
    assert sandbox.state()["media"]["downloads"] == []


def test_a_served_sandbox_downloads_from_itself_without_deadlock(jpeg_bytes):
    """Served on loopback, the sandbox fetches its own media URL over HTTP while answering the POST."""
    sandbox = Sandbox()
    with sandbox.serve() as server:
        urls = server.base_urls()
        creds = sandbox.credentials["sendblue"]
        with httpx.Client(timeout=20) as http:
            photo = http.post(urls["media"], content=jpeg_bytes, headers={"content-type": "image/jpeg"}).json()["url"]
            answer = http.post(urls["sendblue"] + "/api/v2/contact-sharing/profile", json={
                "fromNumber": SENDBLUE_LINE, "firstName": "Ada", "lastName": "L", "photoUrl": photo},
                headers={"sb-api-key-id": creds["key_id"], "sb-api-secret-key": creds["secret"]})
            state = http.get(server.origin + "/_sandbox/state").json()
    assert answer.status_code == 200, answer.text
    assert state["media"]["downloads"][0]["sha256"] == hashlib.sha256(jpeg_bytes).hexdigest()
    assert state["sendblue"]["cards"][SENDBLUE_LINE]["photo"]["sha256"] == hashlib.sha256(jpeg_bytes).hexdigest()


@pytest.mark.anyio
async def test_an_unauthenticated_request_downloads_nothing(client, sandbox, images, jpeg_bytes):
    """A wrong key gets 401 before any photo is fetched."""
    url = images.put("/ada.jpg", jpeg_bytes)
    answer = await client.post("/sendblue/api/v2/contact-sharing/profile", json={"photoUrl": url},
                               headers={"sb-api-key-id": "nope", "sb-api-secret-key": "nope"})
    assert answer.status_code == 401 and images.hits == [] and sandbox.state()["media"]["downloads"] == []


def test_loopback_is_localhost_127_and_ipv6_one_only():
    """is_loopback: localhost, 127.x and ::1 — not 10.x, 0.0.0.0 or a name."""
    assert all(is_loopback(h) for h in ("localhost", "127.0.0.1", "127.8.9.1", "[::1]", "::1"))
    assert not any(is_loopback(h) for h in ("10.0.0.1", "0.0.0.0", "example.com", "169.254.169.254"))


def test_image_size_reads_jpeg_and_png_headers(make_image):
    """image_size gives (width, height) of real JPEG/PNG files and None for other bytes."""
    assert image_size(make_image("JPEG", 48)) == (48, 48)
    assert image_size(make_image("PNG", 33)) == (33, 33)
    assert image_size(b"GIF89a....") is None
