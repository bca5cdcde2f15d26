"""Faults over a real socket: a drop closes the connection, a hang lasts until the client gives up."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from cardkit.sandbox import Sandbox
from cardkit.sandbox.server import LoopbackServer

pytestmark = pytest.mark.anyio

CARD = "/blooio/v2/api/me/numbers/%2B14155552671/contact-card"


async def put_card(sandbox: Sandbox, origin: str, *, timeout: float = 5.0):
    headers = {"Authorization": f"Bearer {sandbox.credentials['blooio']['api_key']}"}
    async with httpx.AsyncClient(base_url=origin, timeout=timeout) as client:
        return await client.put(CARD, json={"first_name": "A"}, headers=headers)


async def test_dropped_connection_closes_the_socket_and_applies_nothing():
    """Over loopback a drop is a closed connection (httpx.RemoteProtocolError); the card is not written."""
    sandbox = Sandbox(fault_rate=1.0, fault_mix={"drop": 1.0})
    with sandbox.serve() as server:
        with pytest.raises(httpx.RemoteProtocolError):
            await put_card(sandbox, server.origin)
        state = httpx.get(server.origin + "/_sandbox/state").json()
    assert state["blooio"]["cards"] == {} and state["faults"][0]["fault"] == "drop"


async def test_hang_lasts_until_the_client_times_out_and_the_server_notices():
    """A hung request ends in the client's ReadTimeout; the server sees the disconnect and logs it."""
    sandbox = Sandbox(fault_rate=1.0, fault_mix={"hang": 1.0}, hang_seconds=60)
    with LoopbackServer(sandbox) as server:
        with pytest.raises(httpx.ReadTimeout):
            await put_card(sandbox, server.origin, timeout=0.3)
        for _ in range(100):  # the server learns of the disconnect asynchronously
            entry = httpx.get(server.origin + "/_sandbox/state").json()["faults"][0]
            if "hang_ended_by" in entry:
                break
            await asyncio.sleep(0.02)
    assert entry["hang_ended_by"] == "client"
    assert (entry["applied"], "+14155552671" in sandbox.state()["blooio"]["cards"]) in {(True, True), (False, False)}
