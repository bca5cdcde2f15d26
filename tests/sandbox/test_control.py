"""Controls for rehearsals and tests: reset the sandbox, move its clock forward (also over loopback)."""

from __future__ import annotations

import httpx
import pytest

from cardkit.sandbox import Sandbox
from cardkit.sandbox.server import LoopbackServer

pytestmark = pytest.mark.anyio

LINQ_LINE = "+14085550111"


async def linq_writes(client, headers, count: int) -> list[int]:
    statuses = []
    for i in range(count):
        if not statuses or statuses[0] != 200:
            response = await client.post("/linq/api/partner/v3/contact_card", headers=headers,
                                         json={"phone_number": LINQ_LINE, "first_name": f"A{i}"})
        else:
            response = await client.patch("/linq/api/partner/v3/contact_card", params={"phone_number": LINQ_LINE},
                                          json={"first_name": f"A{i}"}, headers=headers)
        statuses.append(response.status_code)
    return statuses


async def test_clock_endpoint_frees_the_linq_budget_over_loopback():
    """POST /_sandbox/clock moves time for a served sandbox, so the 10-minute window can be crossed at once."""
    sandbox = Sandbox()
    headers = {"Authorization": f"Bearer {sandbox.credentials['linq']['api_key']}"}
    with LoopbackServer(sandbox) as server:
        async with httpx.AsyncClient(base_url=server.origin) as client:
            assert await linq_writes(client, headers, 4) == [200, 200, 200, 429]
            moved = await client.post("/_sandbox/clock", json={"advance": 600})
            assert moved.json() == {"offset_seconds": 600.0}
            response = await client.patch("/linq/api/partner/v3/contact_card", params={"phone_number": LINQ_LINE},
                                          json={"last_name": "B"}, headers=headers)
            assert response.status_code == 200
            refused = await client.post("/_sandbox/clock", json={"advance": -5})
            assert refused.status_code == 400


async def test_reset_forgets_what_landed_and_replays_the_same_faults():
    """After POST /_sandbox/reset the state is empty and the same requests meet the same faults again."""
    sandbox = Sandbox(fault_rate=0.5, fault_seed=4, fault_mix={"error": 1.0})
    headers = {"Authorization": f"Bearer {sandbox.credentials['blooio']['api_key']}"}
    numbers = ["+14155552671", "+14155552672", "+14155552673", "+12125550123"]

    async def run(client) -> list[int]:
        return [(await client.put(f"/blooio/v2/api/me/numbers/{n}/contact-card", json={"first_name": "A"},
                                  headers=headers)).status_code for n in numbers]

    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        first = await run(client)
        assert 200 in first and set(first) != {200}, first
        assert (await client.post("/_sandbox/reset")).json() == {"reset": True}
        assert sandbox.state()["blooio"] == {"cards": {}, "writes": 0, "requests": 0, "writes_by_number": {},
                                             "shares": {"staged": {}, "with_message": {}},
                                             "messages_by_chat": {}}
        assert sandbox.state()["faults"] == []
        assert await run(client) == first
