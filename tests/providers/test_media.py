"""Photos as URLs: fetch_photo's checks over real HTTP, URL rules, and a PhotoHost of your own."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from cardkit.providers import Permanent, PhotoHost, SandboxPhotoHost, Transient, fetch_photo, url_problem
from cardkit.providers.media import redact

from .conftest import jpeg_bytes, serve

JPEG = jpeg_bytes()


async def photo(request):
    return Response(JPEG, media_type="image/jpeg")


async def page(request):
    return Response("<html>not a photo</html>", media_type="text/html")


async def huge(request):
    async def chunks():
        for _ in range(40):  # 2.6 MB, chunked: no Content-Length to trust
            yield b"\xff" * 65536
    return StreamingResponse(chunks(), media_type="image/jpeg")


async def slow(request):
    await asyncio.sleep(1.5)
    return Response(JPEG, media_type="image/jpeg")


async def broken(request):
    return Response("oops", status_code=503)


async def gone(request):
    return Response("no", status_code=404)


APP = Starlette(routes=[
    Route("/photo.jpg", photo), Route("/page", page), Route("/huge", huge), Route("/slow", slow),
    Route("/broken", broken), Route("/gone", gone),
    Route("/hop", lambda r: RedirectResponse("/photo.jpg")),
    Route("/loop", lambda r: RedirectResponse("/loop")),
    Route("/to-insecure", lambda r: RedirectResponse("http://photos.example.com/a.jpg")),
])


@pytest.fixture(scope="module")
def origin():
    with serve(APP) as url:
        yield url


def fetch(url: str, **kw) -> bytes:
    """fetch_photo with this machine's loopback allowed (the test server lives there; by default
    private addresses are refused — see tests/reliability/test_photo_urls.py)."""
    kw.setdefault("allow_private", "127.0.0.0/8")

    async def go():
        async with httpx.AsyncClient() as client:
            return await fetch_photo(url, client=client, **kw)
    return asyncio.run(go())


def test_fetch_photo_downloads_real_image_bytes_over_loopback(origin):
    """A JPEG served on loopback comes back byte for byte, also through a redirect."""
    assert fetch(f"{origin}/photo.jpg") == JPEG
    assert fetch(f"{origin}/hop") == JPEG


def test_fetch_photo_refuses_a_web_page(origin):
    """An HTML page is not a photo: Permanent, telling to link the file itself."""
    with pytest.raises(Permanent, match="not an image"):
        fetch(f"{origin}/page")


def test_fetch_photo_stops_at_the_size_cap(origin):
    """A 2.6 MB body without Content-Length is cut at max_bytes with a message naming the limit."""
    with pytest.raises(Permanent, match="larger than 1 MB"):
        fetch(f"{origin}/huge", max_bytes=1_000_000)


def test_fetch_photo_gives_up_after_the_timeout(origin):
    """A host that doesn't answer in time is a Transient failure, not a hang."""
    with pytest.raises(Transient, match="longer than 0.3 s"):
        fetch(f"{origin}/slow", timeout=0.3)


def test_fetch_photo_rechecks_every_redirect(origin):
    """A redirect to plain http off loopback is refused; a redirect loop ends with a message."""
    with pytest.raises(Permanent, match="must use https"):
        fetch(f"{origin}/to-insecure")
    with pytest.raises(Permanent, match="redirects more than"):
        fetch(f"{origin}/loop")


def test_fetch_photo_classifies_http_errors(origin):
    """5xx is worth retrying; 404 is not."""
    with pytest.raises(Transient):
        fetch(f"{origin}/broken")
    with pytest.raises(Permanent, match="404"):
        fetch(f"{origin}/gone")


def test_fetch_photo_refuses_plain_http_off_loopback_before_connecting():
    """http:// on a public host is refused without any request (no network needed)."""
    with pytest.raises(Permanent, match="https"):
        fetch("http://photos.example.com/a.jpg")


def test_fetch_photo_unreachable_host_is_transient():
    """A closed loopback port is a Transient failure naming the problem."""
    from .conftest import free_port
    with pytest.raises(Transient, match="reachable"):
        fetch(f"http://127.0.0.1:{free_port()}/a.jpg", timeout=3)


def test_url_rules():
    """https anywhere, http only on loopback (and the in-process sandbox), never other schemes."""
    assert url_problem("https://cdn.example.com/a.jpg") == ""
    assert url_problem("http://127.0.0.1:8787/_sandbox/media/x") == ""
    assert url_problem("http://[::1]:8787/a.jpg") == ""
    assert url_problem("http://localhost/a.jpg") == ""
    assert "https" in url_problem("http://10.0.0.5/a.jpg")
    assert "https" in url_problem("ftp://example.com/a.jpg")
    assert "no host" in url_problem("https:///a.jpg")
    assert url_problem("http://127.10.0.1/a.jpg") == ""   # all of 127.0.0.0/8 is loopback


def test_provider_and_sheet_checks_refuse_the_same_urls_with_the_same_words():
    """fetch's url_problem and check_photo (validation's face) apply one rule and one wording."""
    from cardkit.photos import check_photo

    for url in ("https://cdn.example.com/a.jpg", "http://127.0.0.1/a.jpg", "http://photos.example.com/a.jpg",
                "ftp://example.com/a.jpg", "https:///a.jpg"):
        problem, check = url_problem(url), check_photo(url)
        assert check.ok == (problem == "")
        if problem:
            assert problem == f"photo URL {url!r} {check.problems[0].message}"


def test_redact_hides_query_and_userinfo():
    """Presigned URLs' signatures and user:password never reach a message."""
    shown = redact("https://user:pw@bucket.s3.amazonaws.com/a.jpg?X-Amz-Signature=abc#frag")
    assert shown == "https://bucket.s3.amazonaws.com/a.jpg?…"


def test_a_class_with_upload_is_a_photo_host():
    """Any object with `async upload(data, content_type) -> url` satisfies PhotoHost."""

    class Bucket:
        async def upload(self, data: bytes, content_type: str) -> str:
            return "https://bucket.example.com/x.jpg"

    assert isinstance(Bucket(), PhotoHost)
    assert isinstance(SandboxPhotoHost("http://127.0.0.1:1/_sandbox/media"), PhotoHost)
    assert not isinstance(object(), PhotoHost)


def test_fetch_photo_refuses_a_decompression_bomb(origin):
    """A tiny file declaring a gigantic image is refused without decoding it."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG")   # 1-bit: small file, 400 Mpixels

    async def bomb(request):
        return Response(buffer.getvalue(), media_type="image/png")

    APP.router.routes.append(Route("/bomb.png", bomb))
    with pytest.raises(Permanent, match="too many pixels"):
        fetch(f"{origin}/bomb.png")


def test_sandbox_photo_host_down_is_transient_with_a_hint():
    """Uploading to a media host that isn't running says so, as a Transient failure."""
    from .conftest import free_port

    host = SandboxPhotoHost(f"http://127.0.0.1:{free_port()}/_sandbox/media")
    with pytest.raises(Transient, match="sandbox serve"):
        asyncio.run(host.upload(JPEG, "image/jpeg"))
