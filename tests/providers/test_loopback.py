"""The adapters over a real socket: the sandbox served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from cardkit.providers import Card, SandboxPhotoHost, fetch_photo, http_send, providers_from_sandbox
from cardkit.sandbox import Sandbox

from .conftest import jpeg_bytes, serve

JPEG = jpeg_bytes(color="navy")


@pytest.fixture(scope="module")
def served():
    sandbox = Sandbox()
    with serve(sandbox.app) as origin:
        yield sandbox, origin


def test_all_three_adapters_over_loopback_with_a_photo_uploaded_and_fetched_back(served):
    """Upload to the media host, set cards at all three providers, fetch the photo for Blooio, over TCP."""
    sandbox, origin = served
    blooio, sendblue, linq = providers_from_sandbox(sandbox, origin=origin)
    assert blooio.base_url == f"{origin}/blooio/v2/api"

    async def go():
        url = await SandboxPhotoHost(f"{origin}/_sandbox/media").upload(JPEG, "image/jpeg")
        assert url.startswith(f"{origin}/_sandbox/media/")
        async with httpx.AsyncClient() as client:
            # loopback is refused unless allowed: allow the sandbox, as the engine does
            photo = await fetch_photo(url, client=client, allow_private=origin)
            for adapter, card in (
                (blooio, Card("+14155552673", "Ada", "Lovelace", photo_bytes=photo, photo_digest="d")),
                (sendblue, Card("+15125550110", "Ada", "Lovelace", photo_url=url, photo_digest="d")),
                (linq, Card("+19175550133", "Ada", "Lovelace", photo_url=url)),
            ):
                send = http_send(client, adapter)
                assert card.number in await adapter.list_numbers(send)
                done = await adapter.write(send, card, await adapter.read(send, card.number))
                assert done.action == "create", (adapter.name, done)
        return photo

    photo = asyncio.run(go())
    assert photo == JPEG
    state = sandbox.state()
    assert state["blooio"]["cards"]["+14155552673"]["first_name"] == "Ada"
    assert state["sendblue"]["cards"]["+15125550110"]["firstName"] == "Ada"
    assert state["linq"]["cards"]["+19175550133"]["image_url"].startswith(origin)
