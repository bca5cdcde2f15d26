"""Photo URLs are fetched and checked once per run, and a later run (apply after plan) asks the
server "changed since?" with the validators it gave: a 304 costs no download."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from cardkit.engine.operations import PhotoShop
from cardkit.errors import Permanent
from cardkit.photo_cache import PhotoCache
from cardkit.sandbox import Sandbox
from cardkit.urls import local_origins

PHOTO = (Path(__file__).resolve().parents[2] / "cardkit" / "sample" / "photos" / "chloe.jpg").read_bytes()


class Counting(httpx.AsyncBaseTransport):
    """The sandbox's own transport, recording each answer's status (only to count them)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.statuses = inner, []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.statuses.append(response.status_code)
        return response


def _check(box: Sandbox, transport: httpx.AsyncBaseTransport, cache: PhotoCache, *urls: str) -> list:
    """One run's PhotoShop checking `urls` (each possibly several times); its outcomes."""
    async def go():
        shop = PhotoShop(transport=transport, cache=cache, allow_private=local_origins(["http://sandbox.local"]))
        try:
            return await asyncio.gather(*(shop.checked_url(u) for u in urls), return_exceptions=True)
        finally:
            await shop.close()              # a cache given stays open: the next run reuses it
    return asyncio.run(go())


def test_a_url_is_downloaded_once_per_run_and_revalidated_with_its_etag_next_run(tmp_path):
    """Three rows with one URL: one GET; the next run: one conditional GET answered 304, same digest."""
    box = Sandbox()
    url = box.upload(PHOTO)
    cache = PhotoCache(tmp_path / "photos.sqlite")
    first = Counting(box.transport())
    keys = _check(box, first, cache, url, url, url)
    assert first.statuses == [200] and len(set(keys)) == 1 and keys[0].startswith("sha256:")
    second = Counting(box.transport())
    assert _check(box, second, cache, url) == keys[:1]
    assert second.statuses == [304]


def test_a_url_gone_since_the_last_run_is_a_verdict_again_not_a_stale_ok(tmp_path):
    """A fresh sandbox without the upload answers 404 to the conditional GET: the row's verdict is
    `Permanent` (invalid), never the earlier run's remembered "fine"."""
    box = Sandbox()
    url = box.upload(PHOTO)
    cache = PhotoCache(tmp_path / "photos.sqlite")
    _check(box, box.transport(), cache, url)
    fresh = Sandbox()
    [outcome] = _check(fresh, fresh.transport(), cache, url)
    assert isinstance(outcome, Permanent) and "answered 404" in outcome.message
    assert cache.url_check(url) is None


@pytest.mark.parametrize("kind", ["page", "gone"])
def test_a_bad_link_is_checked_once_however_many_rows_share_it(tmp_path, kind):
    """A web page or a 404 shared by many rows is fetched once; each row gets the same failure."""
    box = Sandbox()
    url = box.upload(b"<html>profile</html>", "text/html") if kind == "page" else \
        "http://sandbox.local/_sandbox/media/0123456789abcdef01234567"
    counting = Counting(box.transport())
    outcomes = _check(box, counting, PhotoCache(None), url, url, url, url)
    assert len(counting.statuses) == 1
    assert all(isinstance(o, Permanent) for o in outcomes) and len({o.message for o in outcomes}) == 1
