"""Seeded latency and faults: reproducible, provider-typical, and never corrupting state."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from cardkit.sandbox import Sandbox
from cardkit.sandbox.faults import FaultPlan

BLOOIO_NUMBERS = ["+14155552671", "+14155552672", "+14155552673", "+12125550123", "+13105551234", "+16175550199"]


def keys(n: int) -> list[bytes]:
    return [f"request-{i}".encode() for i in range(n)]


def test_same_seed_same_draws_in_any_order():
    """Each request's draw depends on its key, its repeat count and the seed, not on arrival order."""
    forward, backward = FaultPlan(rate=0.3, seed=11, latency_ms=50), FaultPlan(rate=0.3, seed=11, latency_ms=50)
    in_order = {key: forward.draw(key) for key in keys(200)}
    shuffled = keys(200)
    random.Random(3).shuffle(shuffled)
    out_of_order = {key: backward.draw(key) for key in shuffled}
    assert in_order == out_of_order


def test_other_seed_other_faults_and_repeats_draw_afresh():
    """A different seed changes the faults; the second send of one request gets a new draw."""
    a, b = FaultPlan(rate=0.5, seed=1), FaultPlan(rate=0.5, seed=2)
    faults_a = [a.draw(key).fault for key in keys(100)]
    assert faults_a != [b.draw(key).fault for key in keys(100)]
    again = [a.draw(key).fault for key in keys(100)]
    assert again != faults_a


def test_fault_rate_and_latency_bounds():
    """About `rate` of requests fault; every delay lies in [latency, latency + jitter]."""
    plan = FaultPlan(rate=0.2, seed=5, latency_ms=50, jitter_ms=10)
    draws = [plan.draw(key) for key in keys(5000)]
    share = sum(d.fault is not None for d in draws) / len(draws)
    assert 0.18 < share < 0.22
    assert all(0.050 <= d.delay_s <= 0.060 for d in draws)
    assert {d.fault for d in draws} == {None, "error", "hang", "drop"}


@pytest.mark.parametrize("bad", [dict(rate=1.5), dict(latency_ms=-1), dict(jitter_ms=-1), dict(mix={"boom": 1.0}), dict(mix={"error": 0})])
def test_bad_fault_settings_are_refused(bad):
    """Out-of-range rates, negative latency and unknown fault kinds are ValueErrors."""
    with pytest.raises(ValueError):
        FaultPlan(**bad)


async def put_cards(sandbox: Sandbox, numbers, *, timeout: float | None = None) -> list[object]:
    """PUT a card on each Blooio number concurrently; return each response or exception."""
    headers = {"Authorization": f"Bearer {sandbox.credentials['blooio']['api_key']}"}
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s", timeout=timeout) as client:
        return await asyncio.gather(*[
            client.put(f"/blooio/v2/api/me/numbers/{n}/contact-card", json={"first_name": f"N{n[-4:]}"}, headers=headers)
            for n in numbers], return_exceptions=True)


def outcome(result) -> object:
    return result.status_code if isinstance(result, httpx.Response) else type(result).__name__


@pytest.mark.anyio
async def test_a_replay_meets_the_same_faults_in_any_order():
    """Two sandboxes with one fault_seed give each request the same fate even when sent in another order."""
    options = dict(fault_rate=0.5, fault_seed=42, hang_seconds=0.05, fault_mix={"error": 0.6, "drop": 0.4})
    first, second = Sandbox(**options), Sandbox(**options)
    forward = dict(zip(BLOOIO_NUMBERS, map(outcome, await put_cards(first, BLOOIO_NUMBERS))))
    backward_numbers = BLOOIO_NUMBERS[::-1]
    backward = dict(zip(backward_numbers, map(outcome, await put_cards(second, backward_numbers))))
    assert forward == backward
    assert set(forward.values()) - {200}, "seed 42 at rate 0.5 should fault some of six requests"
    assert first.state()["blooio"]["cards"] == second.state()["blooio"]["cards"]


@pytest.mark.anyio
@pytest.mark.parametrize("provider, statuses", [("blooio", {502, 503}), ("sendblue", {500, 503}),
                                                ("linq", {500, 503, 429})])
async def test_error_faults_are_the_providers_own_and_change_nothing(provider, statuses, png_bytes):
    """At fault rate 1 every write fails with that provider's typical transient errors and no card lands."""
    sandbox = Sandbox(fault_rate=1.0, fault_seed=7, fault_mix={"error": 1.0})
    creds = sandbox.credentials[provider]
    seen = set()
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        for i in range(40):
            if provider == "blooio":
                response = await client.put("/blooio/v2/api/me/numbers/%2B14155552671/contact-card",
                                            json={"first_name": f"A{i}"}, headers={"Authorization": f"Bearer {creds['api_key']}"})
                assert set(response.json()) == {"error", "message", "status"}
            elif provider == "sendblue":
                response = await client.post("/sendblue/api/v2/contact-sharing/profile", headers={
                    "sb-api-key-id": creds["key_id"], "sb-api-secret-key": creds["secret"]}, json={
                    "fromNumber": "+13125550182", "firstName": f"A{i}", "lastName": "B",
                    "photoUrl": "https://example.com/a.jpg"})
                assert response.json()["status"] == "ERROR"
            else:
                response = await client.post("/linq/api/partner/v3/contact_card", json={
                    "phone_number": "+14085550111", "first_name": f"A{i}"}, headers={"Authorization": f"Bearer {creds['api_key']}"})
                error = response.json()["error"]
                assert (response.status_code, error["code"]) in {(500, 2022), (503, 4004), (429, 1007)}
                if response.status_code == 429:
                    assert int(response.headers["Retry-After"]) == error["retry_after"] >= 1
            seen.add(response.status_code)
    assert seen == statuses
    state = sandbox.state()[provider]
    assert state["cards"] == {} and state["writes"] == 0 and state["requests"] == 40
    assert len(sandbox.state()["faults"]) == 40


@pytest.mark.anyio
async def test_dropped_connection_is_a_protocol_error_and_applies_nothing():
    """A drop surfaces as httpx.RemoteProtocolError in process, and the card is not written."""
    sandbox = Sandbox(fault_rate=1.0, fault_mix={"drop": 1.0})
    results = await put_cards(sandbox, BLOOIO_NUMBERS[:2])
    assert all(isinstance(r, httpx.RemoteProtocolError) for r in results)
    assert sandbox.state()["blooio"]["cards"] == {}
    assert [f["fault"] for f in sandbox.state()["faults"]] == ["drop", "drop"]


@pytest.mark.anyio
async def test_hung_request_times_out_and_state_says_whether_it_applied():
    """A hang ends in the client's ReadTimeout; each hung write either landed fully or not at all, as logged."""
    sandbox = Sandbox(fault_rate=1.0, fault_seed=3, fault_mix={"hang": 1.0}, hang_seconds=30)
    results = await put_cards(sandbox, BLOOIO_NUMBERS, timeout=0.2)
    assert all(isinstance(r, httpx.ReadTimeout) for r in results)
    state = sandbox.state()
    applied = {entry["path"].split("/")[-2] for entry in state["faults"] if entry["applied"]}
    assert set(state["blooio"]["cards"]) == applied
    assert 0 < len(applied) < len(BLOOIO_NUMBERS), "seed 3 should apply some hung writes and not others"
    for number in applied:
        assert state["blooio"]["cards"][number] == {"first_name": f"N{number[-4:]}"}


@pytest.mark.anyio
async def test_hang_without_client_timeout_ends_after_hang_seconds():
    """With no client timeout the hung request still ends after hang_seconds, with its answer."""
    sandbox = Sandbox(fault_rate=1.0, fault_seed=3, fault_mix={"hang": 1.0}, hang_seconds=0.05)
    results = await put_cards(sandbox, BLOOIO_NUMBERS[:3])
    logged = {entry["path"].split("/")[-2]: entry for entry in sandbox.state()["faults"]}
    for number, result in zip(BLOOIO_NUMBERS, results):
        assert result.status_code == logged[number]["status"]
        assert (result.status_code == 200) == logged[number]["applied"]


@pytest.mark.anyio
async def test_faulted_linq_writes_spend_no_budget(clock):
    """A Linq write that failed by fault leaves the 3-per-10-minutes budget untouched."""
    sandbox = Sandbox(fault_rate=0.5, fault_seed=1, fault_mix={"error": 1.0}, clock=clock)
    headers = {"Authorization": f"Bearer {sandbox.credentials['linq']['api_key']}"}
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        statuses = []
        while statuses.count(200) < 3:
            response = await client.patch("/linq/api/partner/v3/contact_card", params={"phone_number": "+14085550111"},
                                          json={"last_name": f"L{len(statuses)}"}, headers=headers) if statuses.count(200) else \
                await client.post("/linq/api/partner/v3/contact_card", json={"phone_number": "+14085550111",
                                                                            "first_name": "A"}, headers=headers)
            statuses.append(response.status_code)
    assert len(statuses) > 3, "seed 1 should fault some of these writes"
    assert sandbox.state()["linq"]["writes_by_number"] == {"+14085550111": 3}


@pytest.mark.anyio
async def test_in_process_hang_ends_when_the_client_gives_up():
    """In process, the client's timeout or its own deadline tells the app the client left, as a socket would."""
    sandbox = Sandbox(fault_rate=1.0, fault_mix={"hang": 1.0}, hang_seconds=60)
    await put_cards(sandbox, BLOOIO_NUMBERS[:2], timeout=0.1)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(put_cards(sandbox, BLOOIO_NUMBERS[2:3]), timeout=0.1)
    for _ in range(10):
        await asyncio.sleep(0.01)
    assert [entry.get("hang_ended_by") for entry in sandbox.state()["faults"]] == ["client"] * 3


@pytest.mark.anyio
async def test_linq_inactive_setup_mode_answers_200_with_is_active_false(clock):
    """With linq_failed_setup='inactive' a failed POST is a 200 with is_active false; the card waits inactive."""
    sandbox = Sandbox(fault_rate=1.0, fault_seed=0, fault_mix={"error": 1.0}, linq_failed_setup="inactive", clock=clock)
    headers = {"Authorization": f"Bearer {sandbox.credentials['linq']['api_key']}"}
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        for i in range(30):  # every request faults; some of the POSTs fail in place
            response = await client.post("/linq/api/partner/v3/contact_card", headers=headers,
                                         json={"phone_number": f"+1{4085550111 if i % 2 else 9175550133}", "first_name": "A"})
            if response.status_code == 200:
                break
        assert response.json()["is_active"] is False
        number = response.json()["phone_number"]
        sandbox.faults.rate = 0.0  # the faults stop: the card is still inactive, PATCH needs an active one
        cards = (await client.get("/linq/api/partner/v3/contact_card", params={"phone_number": number},
                                  headers=headers)).json()["contact_cards"]
        assert [c["is_active"] for c in cards] == [False]
        patched = await client.patch("/linq/api/partner/v3/contact_card", params={"phone_number": number},
                                     json={"last_name": "B"}, headers=headers)
        assert patched.status_code == 404
        again = await client.post("/linq/api/partner/v3/contact_card", headers=headers,
                                  json={"phone_number": number, "first_name": "A"})
        assert again.json()["is_active"] is True
    state = sandbox.state()
    assert state["linq"]["writes_by_number"] == {number: 1}
    assert any(entry.get("in_place") for entry in state["faults"])



async def _linq_post(client: httpx.AsyncClient, key: str, number: str) -> tuple[int, int | None]:
    response = await client.post("/linq/api/partner/v3/contact_card", json={"phone_number": number, "first_name": "Ada"},
                                 headers={"Authorization": f"Bearer {key}"})
    return response.status_code, (response.json().get("error") or {}).get("code")


@pytest.mark.anyio
async def test_linq_4004_holds_the_numbers_writes_for_30_seconds_and_each_attempt_extends_it():
    """Linq documents "retry after 30 seconds" and "repeated attempts extend the rate limit": after
    a drawn 4004, a POST 1 s later and one 29 s after *that* are 4004 again (not drawn faults), and
    only a POST 30 s after the last attempt lands — the SDKs' retries at 0.5–1 s meet the limit."""
    number = "+14085550111"
    for seed in range(300):
        sandbox = Sandbox(fault_rate=0.3, fault_seed=seed, fault_mix={"error": 1.0})
        key = sandbox.credentials["linq"]["api_key"]
        async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
            answers = [await _linq_post(client, key, number)]
            sandbox.advance_clock(1)
            answers.append(await _linq_post(client, key, number))
            sandbox.advance_clock(29)
            answers.append(await _linq_post(client, key, number))
            sandbox.advance_clock(30)
            answers.append(await _linq_post(client, key, number))
        drawn = [entry["request"] for entry in sandbox.state()["faults"]]
        if answers[0] == (503, 4004) and drawn == [1]:      # only the first request met a drawn fault
            break
    else:
        pytest.fail("no seed below 300 draws a 4004 on the first POST alone")
    assert answers == [(503, 4004), (503, 4004), (503, 4004), (200, None)]
    assert sandbox.state()["linq"]["writes"] == 1


@pytest.mark.anyio
async def test_linq_reads_fail_only_with_the_gets_documented_500():
    """A GET of cards meets 500/3006 as its fault (its documented errors have no 4004 or 429)."""
    sandbox = Sandbox(fault_rate=1.0, fault_seed=5, fault_mix={"error": 1.0})
    key = sandbox.credentials["linq"]["api_key"]
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        codes = set()
        for i in range(30):
            response = await client.get("/linq/api/partner/v3/contact_card", params={"phone_number": f"+1408555{i:04d}"},
                                        headers={"Authorization": f"Bearer {key}"})
            codes.add((response.status_code, response.json()["error"]["code"]))
    assert codes == {(500, 3006)}
