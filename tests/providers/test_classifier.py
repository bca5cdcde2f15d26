"""The one reply classifier, per provider, over replies the real sandbox gives (its seeded faults
and its documented refusals), sent through the adapters' own requests."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from cardkit.providers import blooio, http_send, linq, providers_from_sandbox, sendblue
from cardkit.providers.base import Reply
from cardkit.providers.replies import classify, temporary_status
from cardkit.sandbox import Sandbox

BLOOIO_NUMBER, SENDBLUE_NUMBER, LINQ_NUMBER = "+14155552671", "+13125550182", "+14085550111"
RULES = {"blooio": blooio.RULES, "sendblue": sendblue.RULES, "linq": linq.RULES}


def replies_from(sandbox: Sandbox, name: str, method: str, path: str, *, times: int,
                 params: dict | None = None, json=None, wrong_key: bool = False) -> list[Reply]:
    """`times` real replies from the in-process sandbox to one adapter's request."""
    adapter = {p.name: p for p in providers_from_sandbox(sandbox)}[name]
    if wrong_key:
        adapter = type(adapter)(**{argument: "wrong" for argument in adapter.sandbox_credentials},
                                base_url=adapter.base_url, env={})

    async def go() -> list[Reply]:
        async with httpx.AsyncClient(transport=sandbox.transport()) as client:
            send = http_send(client, adapter)
            return [await send(method, path, params=params, json=json) for _ in range(times)]

    return asyncio.run(go())


def faulty() -> Sandbox:
    """A sandbox whose every request meets one of its providers' own transient errors."""
    return Sandbox(fault_rate=1.0, fault_seed=7, fault_mix={"error": 1.0})


def test_blooio_faults_are_temporary_and_carry_no_invented_wait():
    """Blooio's 502/503 faults classify as transient, with the code from its body and no wait."""
    seen = replies_from(faulty(), "blooio", "PUT", f"/me/numbers/%2B{BLOOIO_NUMBER[1:]}/contact-card",
                        json={"first_name": "Ana"}, times=30)
    verdicts = [classify(reply, blooio.RULES) for reply in seen]
    assert {reply.status for reply in seen} == {502, 503}
    assert all(v.transient and v.wait is None for v in verdicts)
    assert {v.code for v in verdicts} == {"bad_gateway", "service_unavailable"}


def test_sendblue_device_faults_are_temporary_but_a_photo_it_cannot_fetch_is_not():
    """Sendblue's 503 and device 500 are transient; its 500 about the photo URL is permanent."""
    seen = replies_from(faulty(), "sendblue", "GET", "/api/v2/contact-sharing/state",
                        params={"fromNumber": SENDBLUE_NUMBER}, times=30)
    assert {reply.status for reply in seen} == {500, 503}
    assert all(classify(reply, sendblue.RULES).transient for reply in seen)
    bad_photo, = replies_from(Sandbox(), "sendblue", "POST", "/api/v2/contact-sharing/profile", times=1,
                              json={"fromNumber": SENDBLUE_NUMBER, "firstName": "Ana", "lastName": "Ng",
                                    "photoUrl": "http://sandbox.local/_sandbox/media/nope"})
    verdict = classify(bad_photo, sendblue.RULES)
    assert bad_photo.status == 500 and temporary_status(500)
    assert not verdict.transient and "photo" in verdict.said.lower()


def test_linq_faults_follow_its_documented_waits():
    """Linq: 500/2022 waits a few seconds, 503/4004 at least 30 s, 429 what Retry-After says."""
    seen = replies_from(faulty(), "linq", "POST", "/v3/contact_card",
                        json={"phone_number": LINQ_NUMBER, "first_name": "Ana"}, times=60)
    by_code = {}
    for reply in seen:
        by_code.setdefault(classify(reply, linq.RULES).code, []).append((reply, classify(reply, linq.RULES)))
    assert set(by_code) == {"2022", "4004", "1007"}
    assert all(v.transient for pairs in by_code.values() for _, v in pairs)
    assert all(v.wait == linq.WAIT_2022 for _, v in by_code["2022"])
    assert all(v.wait >= linq.WAIT_4004 for _, v in by_code["4004"])
    for reply, verdict in by_code["1007"]:
        assert reply.status == 429 and verdict.wait == float(reply.headers["retry-after"])


def test_linq_reads_meet_3006_which_is_temporary_without_a_least_wait():
    """A read's 500/3006 is retried with the policy's own backoff (no documented wait)."""
    seen = replies_from(faulty(), "linq", "GET", "/v3/contact_card", params={"phone_number": LINQ_NUMBER},
                        times=40)
    codes = Counter(classify(reply, linq.RULES).code for reply in seen)
    assert codes["3006"] and "2022" not in codes
    assert all(classify(r, linq.RULES).wait is None for r in seen if classify(r, linq.RULES).code == "3006")


@pytest.mark.parametrize("name, method, path, params", [
    ("blooio", "GET", "/me/numbers", None),
    ("sendblue", "GET", "/api/v2/lines/state", None),
    ("linq", "GET", "/v3/phone_numbers", None),
])
def test_a_refused_credential_is_permanent_at_every_provider(name, method, path, params):
    """A wrong key (401) is never worth another attempt, whoever answers it."""
    reply, = replies_from(Sandbox(), name, method, path, params=params, times=1, wrong_key=True)
    verdict = classify(reply, RULES[name])
    assert reply.status == 401 and not verdict.transient and verdict.wait is None


def test_linq_photo_it_cannot_download_is_permanent():
    """Linq's 400/5007 (image URL unreachable) says fix the URL, not try again."""
    reply, = replies_from(Sandbox(), "linq", "POST", "/v3/contact_card", times=1,
                          json={"phone_number": LINQ_NUMBER, "first_name": "Ana",
                                "image_url": "http://sandbox.local/_sandbox/media/nope"})
    verdict = classify(reply, linq.RULES)
    assert (reply.status, verdict.code, verdict.transient) == (400, "5007", False)
