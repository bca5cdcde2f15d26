"""Sandbox features other work builds on: several accounts per provider, a re-encoding Blooio,
Blooio's Idempotency-Key on message sends and messages counted per chat."""

from __future__ import annotations

import base64
import hashlib
import io

import httpx
import pytest
from PIL import Image

from cardkit.sandbox import Sandbox, SeedError, load_seed

API = "/blooio/v2/api"
LINQ = "/linq/api/partner"
EAST, WEST = "+14155552671", "+12125550123"
LINQ_US, LINQ_EU = "+14085550111", "+13235550177"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def accounts_box() -> Sandbox:
    return Sandbox(seed="accounts")


async def in_process(box: Sandbox):
    return httpx.AsyncClient(transport=box.transport(), base_url="http://sandbox.local")


# -- several accounts ------------------------------------------------------------------------------

def test_accounts_seed_splits_the_sample_numbers_between_two_blooio_and_two_linq_accounts():
    """The packaged 'accounts' seed: same numbers as the default, each owned by exactly one account."""
    default, accounts = load_seed(), load_seed("accounts")
    for name in ("blooio", "sendblue", "linq"):
        assert set(getattr(accounts, name).lines) == set(getattr(default, name).lines)
    named = accounts.accounts()
    assert list(named["blooio"]) == ["blooio-east", "blooio-west"] and list(named["linq"]) == ["linq-us", "linq-eu"]
    for name in ("blooio", "linq"):
        seed = getattr(accounts, name)
        owners = [line.owners for line in seed.lines.values()]
        assert all(len(o) == 1 for o in owners) and len(set().union(*owners)) == 2
    assert accounts.blooio.lines["+12025550147"].plan == "standard"
    assert named["blooio"]["blooio-east"] == Sandbox().credentials["blooio"]   # the default key is the first account


@pytest.mark.anyio
async def test_each_account_lists_and_writes_only_its_own_numbers(accounts_box):
    """Blooio and Linq: an account's listing holds its numbers; writing another account's number is 403."""
    keys = {name: cred["api_key"] for provider in ("blooio", "linq")
            for name, cred in accounts_box.accounts[provider].items()}
    async with await in_process(accounts_box) as client:
        east = (await client.get(API + "/me/numbers", headers=bearer(keys["blooio-east"]))).json()["numbers"]
        west = (await client.get(API + "/me/numbers", headers=bearer(keys["blooio-west"]))).json()["numbers"]
        assert EAST in {n["phone_number"] for n in east} and WEST not in {n["phone_number"] for n in east}
        assert {n["phone_number"] for n in west} == {WEST, "+13105551234", "+16175550199"}
        wrong = await client.put(f"{API}/me/numbers/%2B{WEST[1:]}/contact-card", json={"first_name": "A"},
                                 headers=bearer(keys["blooio-east"]))
        right = await client.put(f"{API}/me/numbers/%2B{WEST[1:]}/contact-card", json={"first_name": "A"},
                                 headers=bearer(keys["blooio-west"]))
        assert (wrong.status_code, right.status_code) == (403, 200)
        us = (await client.get(LINQ + "/v3/phone_numbers", headers=bearer(keys["linq-us"]))).json()
        eu_card = await client.post(LINQ + "/v3/contact_card", headers=bearer(keys["linq-us"]),
                                    json={"phone_number": LINQ_EU, "first_name": "Eu"})
        assert LINQ_US in str(us) and LINQ_EU not in str(us)
        assert eu_card.status_code == 403 and eu_card.json()["error"]["code"] in (2005, 2006)
    assert "bl_test" not in str(accounts_box.state())


def test_a_number_under_two_accounts_is_owned_by_both():
    """The accounts form: listing a number under two accounts gives it two owners (to be reported, not guessed)."""
    seed = load_seed({"linq": {"accounts": [{"name": "a", "api_key": "ka", "numbers": ["+15550001111"]},
                                            {"name": "b", "api_key": "kb", "numbers": ["+15550001111", "+15550002222"]}]}})
    assert seed.linq.lines["+15550001111"].owners == {"ka", "kb"}
    assert seed.linq.lines["+15550002222"].owners == {"kb"}
    assert seed.accounts()["linq"] == {"a": {"api_key": "ka"}, "b": {"api_key": "kb"}}


@pytest.mark.parametrize("seed, words", [
    ({"blooio": {"accounts": []}}, "blooio.accounts must be a non-empty list"),
    ({"blooio": {"accounts": [{"name": "a"}]}}, "blooio.accounts[0].api_key must be a non-empty string"),
    ({"blooio": {"accounts": [{"api_key": "k"}, {"api_key": "k"}]}}, "used by an earlier account"),
    ({"blooio": {"accounts": [{"name": "a", "api_key": "k1"}, {"name": "a", "api_key": "k2"}]}},
     "blooio.accounts[1].name must be a name no other account has"),
    ({"blooio": {"accounts": [{"api_key": "k"}], "api_keys": ["x"]}}, "unknown key blooio.api_keys"),
    ({"sendblue": {"accounts": [{"key_id": "k"}]}}, "sendblue.accounts[0].secret must be a non-empty string"),
    ({"blooio": {"accounts": [{"api_key": "k1", "numbers": [{"number": "+15550001111", "plan": "standard"}]},
                              {"api_key": "k2", "numbers": ["+15550001111"]}]}}, "give it one plan"),
    ({"linq": {"accounts": [{"api_key": "k", "numbers": [{"number": "+15550001111", "owners": ["x"]}]}]}},
     "numbers without owners"),
])
def test_malformed_accounts_name_the_key_at_fault(seed, words):
    """Every problem in the accounts form is a SeedError naming the key."""
    with pytest.raises(SeedError, match=None) as raised:
        load_seed(seed)
    assert words in str(raised.value)


def test_an_unknown_packaged_seed_name_says_which_exist():
    """--seed nonsense: the error names the packaged seeds."""
    with pytest.raises(SeedError, match="default, accounts"):
        load_seed("nonsense")


# -- Blooio re-encodes the avatar ------------------------------------------------------------------

@pytest.mark.anyio
async def test_reencoding_blooio_returns_other_bytes_of_the_same_picture(jpeg_bytes):
    """blooio_avatar='reencoded': GET's avatar is a valid JPEG of the same size whose digest differs from what was sent."""
    box = Sandbox(blooio_avatar="reencoded")
    sent = base64.b64encode(jpeg_bytes).decode()
    async with await in_process(box) as client:
        headers = bearer(box.credentials["blooio"]["api_key"])
        put = await client.put(f"{API}/me/numbers/%2B{EAST[1:]}/contact-card", json={"avatar": sent}, headers=headers)
        got = (await client.get(f"{API}/me/numbers/%2B{EAST[1:]}/contact-card", headers=headers)).json()["avatar"]
    assert put.status_code == 200
    returned = base64.b64decode(got)
    assert hashlib.sha256(returned).hexdigest() != hashlib.sha256(jpeg_bytes).hexdigest()
    with Image.open(io.BytesIO(returned)) as image:
        assert image.format == "JPEG" and image.size == Image.open(io.BytesIO(jpeg_bytes)).size
    card = box.state()["blooio"]["cards"][EAST]
    assert card["avatar_sent"]["sha256"] == hashlib.sha256(jpeg_bytes).hexdigest()
    assert card["avatar"]["sha256"] == hashlib.sha256(returned).hexdigest()


@pytest.mark.anyio
async def test_by_default_blooio_returns_the_avatar_as_sent(client, auth, png_bytes):
    """Without the option, GET returns exactly the base64 that was PUT (PNG stays PNG)."""
    sent = base64.b64encode(png_bytes).decode()
    await client.put(f"{API}/me/numbers/%2B{EAST[1:]}/contact-card", json={"avatar": sent}, headers=auth["blooio"])
    got = await client.get(f"{API}/me/numbers/%2B{EAST[1:]}/contact-card", headers=auth["blooio"])
    assert got.json()["avatar"] == sent


def test_unknown_blooio_modes_are_refused():
    """A misspelt avatar or idempotency mode is a ValueError naming the choices."""
    with pytest.raises(ValueError, match="'as_sent' or 'reencoded'"):
        Sandbox(blooio_avatar="recoded")
    with pytest.raises(ValueError, match="'conflict' or 'replay'"):
        Sandbox(blooio_idempotency="stripe")


# -- Blooio Idempotency-Key and messages per chat ---------------------------------------------------

async def send(client, headers, chat: str, key: str | None, text: str = "hello") -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    return await client.post(f"{API}/chats/{chat}/messages", json={"text": text, "share_contact": True},
                             headers={**headers, **extra})


@pytest.mark.anyio
async def test_a_reused_idempotency_key_sends_nothing_and_answers_409(client, auth, sandbox):
    """Same Idempotency-Key twice: one message in the chat; the repeat is Blooio's documented 409."""
    first = await send(client, auth["blooio"], "+15551230001", "run1-row2")
    again = await send(client, auth["blooio"], "+15551230001", "run1-row2")
    other = await send(client, auth["blooio"], "+15551230001", "run1-row3")
    assert first.status_code == 200 and other.status_code == 200
    assert again.status_code == 409 and "idempotency" in again.json()["message"].lower()
    blooio = sandbox.state()["blooio"]
    assert blooio["messages_by_chat"] == {"+15551230001": 2}
    assert blooio["shares"]["with_message"] == {"+15551230001": 2}
    assert "run1-row2" not in str(sandbox.state())


@pytest.mark.anyio
async def test_replay_mode_answers_the_first_message_again(auth):
    """blooio_idempotency='replay': the repeat gets the first answer (same message_id), nothing is sent."""
    box = Sandbox(blooio_idempotency="replay")
    async with await in_process(box) as client:
        headers = bearer(box.credentials["blooio"]["api_key"])
        first = await send(client, headers, "+15551230001", "k1")
        again = await send(client, headers, "+15551230001", "k1")
        changed = await send(client, headers, "+15551230001", "k1", text="another text")
    assert again.status_code == 200 and again.json() == first.json()
    assert changed.status_code == 409    # the same key with another request is a conflict in any mode
    assert box.state()["blooio"]["messages_by_chat"] == {"+15551230001": 1}


@pytest.mark.anyio
async def test_a_failed_send_does_not_use_up_its_key(client, auth, sandbox):
    """A send refused with 400 may be retried with the same key and then goes through once."""
    bad = await client.post(f"{API}/chats/%2B15551230001/messages", json={}, headers={**auth["blooio"],
                                                                                     "Idempotency-Key": "k"})
    good = await send(client, auth["blooio"], "+15551230001", "k")
    assert (bad.status_code, good.status_code) == (400, 200)
    assert sandbox.state()["blooio"]["messages_by_chat"] == {"+15551230001": 1}


@pytest.mark.anyio
async def test_keys_are_per_api_key(accounts_box):
    """Two accounts may use the same Idempotency-Key: each sends its own message."""
    keys = [cred["api_key"] for cred in accounts_box.accounts["blooio"].values()]
    async with await in_process(accounts_box) as client:
        answers = [await send(client, bearer(key), "+15551230001", "same") for key in keys]
    assert [a.status_code for a in answers] == [200, 200]
    assert accounts_box.state()["blooio"]["messages_by_chat"] == {"+15551230001": 2}


@pytest.mark.anyio
async def test_a_hung_send_that_landed_then_retried_with_its_key_is_one_message():
    """Faults on: every send carries one key per chat; however often it is retried, each chat gets one message."""
    box = Sandbox(fault_rate=0.5, fault_seed=3, fault_mix={"hang": 1.0}, hang_seconds=5)
    headers = bearer(box.credentials["blooio"]["api_key"])
    chats = [f"+1555123{i:04d}" for i in range(12)]
    async with httpx.AsyncClient(transport=box.transport(), base_url="http://sandbox.local",
                                 timeout=httpx.Timeout(5, read=0.2)) as client:
        for chat in chats:
            for _ in range(20):
                try:
                    answer = await send(client, headers, chat, f"run-{chat}")
                except httpx.ReadTimeout:
                    continue
                if answer.status_code in (200, 409):
                    break
    state = box.state()
    assert any(f["fault"] == "hang" and f["applied"] for f in state["faults"])   # some sends landed unseen
    assert state["blooio"]["messages_by_chat"] == {chat: 1 for chat in chats}
