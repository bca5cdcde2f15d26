"""Linq partner v3 emulator, in process over its httpx transport."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.anyio

API = "/linq/api/partner/v3"
LINE = "+14085550111"


async def create(client, auth, **fields):
    body = {"phone_number": LINE, "first_name": "Ada", **fields}
    return await client.post(API + "/contact_card", json=body, headers=auth["linq"])


async def patch(client, auth, body, number=LINE):
    return await client.patch(API + "/contact_card", params={"phone_number": number}, json=body, headers=auth["linq"])


def assert_linq_error(response, status: int, code: int) -> dict:
    body = response.json()
    assert response.status_code == status
    assert body["success"] is False and body["error"]["status"] == status and body["error"]["code"] == code
    assert body["trace_id"]
    return body["error"]


async def test_wrong_key_is_401_code_2004(client):
    """A wrong bearer key gets Linq's envelope with code 2004."""
    response = await client.get(API + "/contact_card", headers={"Authorization": "Bearer nope"})
    assert_linq_error(response, 401, 2004)


async def test_create_then_second_create_is_409_code_2014(client, auth, sandbox):
    """POST sets the card up once; a second POST is 409/2014 and leaves the card alone."""
    first = await create(client, auth, last_name="Lovelace")
    assert first.json() == {"phone_number": LINE, "first_name": "Ada", "last_name": "Lovelace", "is_active": True}
    second = await create(client, auth, first_name="Other")
    assert_linq_error(second, 409, 2014)
    assert sandbox.state()["linq"]["cards"][LINE]["first_name"] == "Ada"
    assert sandbox.state()["linq"]["writes_by_number"] == {LINE: 1}


async def test_patch_merges_and_keeps_omitted_fields(client, auth):
    """PATCH changes only the fields sent."""
    await create(client, auth, last_name="Lovelace", image_url="https://cdn.linqapp.com/contact-card/a.jpg")
    response = await patch(client, auth, {"last_name": "King"})
    assert response.json() == {"phone_number": LINE, "first_name": "Ada", "last_name": "King",
                               "image_url": "https://cdn.linqapp.com/contact-card/a.jpg", "is_active": True}


async def test_patch_without_a_card_is_404_code_2012(client, auth, sandbox):
    """A number with no card gets the documented not-found error, and no budget is spent."""
    assert_linq_error(await patch(client, auth, {"first_name": "A"}), 404, 2012)
    assert sandbox.state()["linq"]["writes"] == 0
    assert (await create(client, auth)).status_code == 200


async def test_get_lists_cards_and_filters_by_number(client, auth):
    """GET without a number lists every card; with one, only that number's (empty when none)."""
    await create(client, auth)
    everything = (await client.get(API + "/contact_card", headers=auth["linq"])).json()
    assert everything == {"contact_cards": [{"phone_number": LINE, "first_name": "Ada", "is_active": True}]}
    other = await client.get(API + "/contact_card", params={"phone_number": "+19175550133"}, headers=auth["linq"])
    assert other.json() == {"contact_cards": []}


async def test_fourth_write_in_ten_minutes_is_429_with_true_retry_after(client, auth, clock, sandbox):
    """POST+PATCH share 3 writes/10 min; Retry-After and error.retry_after are the seconds until a slot frees."""
    await create(client, auth)           # t = 0
    clock.advance(100)
    await patch(client, auth, {"last_name": "B"})  # t = 100
    clock.advance(100)
    await patch(client, auth, {"last_name": "C"})  # t = 200
    clock.advance(50)                    # t = 250: the oldest call leaves the window at t = 600
    limited = await patch(client, auth, {"last_name": "D"})
    error = assert_linq_error(limited, 429, 1007)
    assert error["retry_after"] == 350 and limited.headers["Retry-After"] == "350"
    assert sandbox.state()["linq"]["cards"][LINE]["last_name"] == "C"
    clock.advance(349.5)                 # half a second early: still limited, rounded up to 1 s
    early = await patch(client, auth, {"last_name": "D"})
    assert assert_linq_error(early, 429, 1007)["retry_after"] == 1
    clock.advance(0.5)
    assert (await patch(client, auth, {"last_name": "D"})).status_code == 200


async def test_budget_is_per_number(client, auth):
    """Another number's writes do not spend this number's budget."""
    for name in ("A", "B", "C"):
        await (create(client, auth) if name == "A" else patch(client, auth, {"first_name": name}))
    other = await client.post(API + "/contact_card", json={"phone_number": "+19175550133", "first_name": "Z"},
                              headers=auth["linq"])
    assert other.status_code == 200


async def test_rejected_writes_spend_no_budget(client, auth):
    """409s and 400s do not use the 3-per-10-minutes budget."""
    await create(client, auth)
    for _ in range(3):
        assert (await create(client, auth)).status_code == 409
    assert (await patch(client, auth, {"first_name": 5})).status_code == 400
    assert (await patch(client, auth, {"last_name": "B"})).status_code == 200
    assert (await patch(client, auth, {"last_name": "C"})).status_code == 200


@pytest.mark.parametrize("body, code", [
    ({"first_name": "A"}, 1001),
    ({"phone_number": LINE}, 1001),
    ({"phone_number": "4085550111", "first_name": "A"}, 1002),
    ({"phone_number": LINE, "first_name": "A", "firstName": "B"}, 1003),
    ({"phone_number": LINE, "first_name": "A", "last_name": 3}, 1005),
])
async def test_malformed_create_bodies_are_400_with_linq_codes(client, auth, body, code):
    """Missing fields, non-E.164 numbers, unknown fields and bad types get their documented codes."""
    response = await client.post(API + "/contact_card", json=body, headers=auth["linq"])
    assert_linq_error(response, 400, code)


async def test_number_of_another_partner_is_403(client, auth):
    """A valid number not in the seed is 403/2005."""
    response = await client.post(API + "/contact_card", json={"phone_number": "+15550009999", "first_name": "A"},
                                 headers=auth["linq"])
    assert_linq_error(response, 403, 2005)


async def test_image_url_on_the_media_host_is_fetched(client, auth, sandbox, png_bytes):
    """An uploaded image URL is accepted and recorded by digest."""
    url = (await client.post("/_sandbox/media", content=png_bytes, headers={"content-type": "image/png"})).json()["url"]
    response = await create(client, auth, image_url=url)
    assert response.json()["image_url"] == url
    assert sandbox.state()["linq"]["cards"][LINE]["image"]["bytes"] == len(png_bytes)


async def test_unreachable_image_is_400_code_5007(client, auth, sandbox):
    """An image URL that cannot be fetched is 400/5007 and nothing is stored."""
    response = await create(client, auth, image_url="https://photos.internal.test/a.jpg")
    assert_linq_error(response, 400, 5007)
    assert sandbox.state()["linq"]["cards"] == {}


async def test_non_image_url_is_400_code_5004(client, auth):
    """A fetched file that is not JPEG/PNG is 400/5004."""
    url = (await client.post("/_sandbox/media", content=b"%PDF-1.7", headers={"content-type": "application/pdf"})).json()["url"]
    assert_linq_error(await create(client, auth, image_url=url), 400, 5004)


async def test_phone_numbers_and_deprecated_listing(client, auth):
    """Both listings return the seeded lines in their own shapes."""
    current = (await client.get(API + "/phone_numbers", headers=auth["linq"])).json()["phone_numbers"]
    old = (await client.get(API + "/phonenumbers", headers=auth["linq"])).json()["phone_numbers"]
    assert [n["phone_number"] for n in current] == [n["phone_number"] for n in old]
    assert len(current) == 6 and current[0]["reputation"]["status"] == "HEALTHY"
    assert old[0]["capabilities"]["sms"] is True and old[0]["country_code"] is None
    assert current[0]["id"] == old[0]["id"]


async def test_share_needs_an_active_card_and_is_limited_per_chat(client, auth, clock, sandbox):
    """Share is 404/2012 without a card, 204 with one, then 429 within five minutes of the last share."""
    chat = str(uuid.uuid4())
    url = f"{API}/chats/{chat}/share_contact_card"
    assert_linq_error(await client.post(url, headers=auth["linq"]), 404, 2012)
    await create(client, auth)
    shared = await client.post(url, headers=auth["linq"])
    assert shared.status_code == 204 and shared.content == b""
    clock.advance(60)
    assert assert_linq_error(await client.post(url, headers=auth["linq"]), 429, 1007)["retry_after"] == 240
    clock.advance(240)
    assert (await client.post(url, headers=auth["linq"])).status_code == 204
    assert sandbox.state()["linq"]["shares"] == {chat: 2}


async def test_share_with_a_chat_id_that_is_not_a_uuid_is_404(client, auth):
    """Chat ids are UUIDs."""
    await create(client, auth)
    assert_linq_error(await client.post(API + "/chats/not-a-chat/share_contact_card", headers=auth["linq"]), 404, 2001)


async def test_patch_cannot_empty_the_first_name_but_can_clear_the_last(client, auth, sandbox):
    """first_name "" is 400/1005 (a card always has a first name); last_name "" clears it."""
    await create(client, auth, last_name="Lovelace")
    assert_linq_error(await patch(client, auth, {"first_name": ""}), 400, 1005)
    cleared = await patch(client, auth, {"last_name": ""})
    assert cleared.json() == {"phone_number": LINE, "first_name": "Ada", "is_active": True}
    assert sandbox.state()["linq"]["cards"][LINE]["last_name"] is None


async def test_image_over_ten_megabytes_is_400_code_5005(client, auth, sandbox, make_image):
    """A fetched image above Linq's 10 MB limit for media by URL is 400/5005."""
    big = make_image("PNG", size=1900, noise=True)
    assert len(big) > 10 * 1024 * 1024
    url = sandbox.upload(big, "image/png")
    assert_linq_error(await create(client, auth, image_url=url), 400, 5005)
    assert sandbox.state()["linq"]["cards"] == {}
