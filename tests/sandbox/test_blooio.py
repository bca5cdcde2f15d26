"""Blooio v2 emulator, in process over its httpx transport."""

from __future__ import annotations

import base64

import httpx
import pytest

from cardkit.sandbox import Sandbox

pytestmark = pytest.mark.anyio

API = "/blooio/v2/api"
CARD = API + "/me/numbers/{}/contact-card"
DEDICATED = "+14155552671"
STANDARD = "+12025550147"


def card_url(number: str, *, encode: bool = True) -> str:
    return CARD.format(number.replace("+", "%2B") if encode else number)


async def test_numbers_lists_every_seeded_number_of_the_key(client, auth):
    """GET /me/numbers returns the key's numbers in Blooio's shape."""
    response = await client.get(API + "/me/numbers", headers=auth["blooio"])
    assert response.status_code == 200
    numbers = response.json()["numbers"]
    assert {n["phone_number"] for n in numbers} == {
        "+14155552671", "+14155552672", "+14155552673", "+12125550123", "+13105551234", "+16175550199", STANDARD}
    assert all(n["is_active"] is True and isinstance(n["last_active"], str) for n in numbers)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer bl_live_wrong"}, {"Authorization": "Basic abc"}])
async def test_missing_or_wrong_key_is_401_with_blooio_envelope(client, headers):
    """A missing, unknown or non-bearer credential gets 401 {error, message, status}."""
    response = await client.put(card_url(DEDICATED), json={"first_name": "A"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "message": "Authentication required or invalid", "status": 401}


async def test_put_merges_only_the_fields_sent(client, auth, sandbox):
    """PUT is a partial merge, sharing merges field by field, and the response echoes the names."""
    first = await client.put(card_url(DEDICATED), headers=auth["blooio"],
                             json={"first_name": "Ada", "last_name": "Lovelace", "sharing": {"enabled": True, "audience": 0}})
    assert first.json() == {"success": True, "phone_number": DEDICATED, "first_name": "Ada", "last_name": "Lovelace"}
    second = await client.put(card_url(DEDICATED), headers=auth["blooio"],
                              json={"last_name": "King", "sharing": {"name_format": 1}})
    assert second.json()["first_name"] == "Ada" and second.json()["last_name"] == "King"
    card = (await client.get(card_url(DEDICATED), headers=auth["blooio"])).json()
    assert card["name"] == "Ada King"
    assert card["sharing"] == {"enabled": True, "audience": 0, "name_format": 1}
    assert sandbox.state()["blooio"]["writes_by_number"] == {DEDICATED: 2}


async def test_percent_encoded_and_literal_plus_reach_the_same_card(client, auth, sandbox):
    """The docs' %2B and the SDK's literal + address one number."""
    await client.put(card_url(DEDICATED, encode=False), json={"first_name": "Literal"}, headers=auth["blooio"])
    card = (await client.get(card_url(DEDICATED, encode=True), headers=auth["blooio"])).json()
    assert card["first_name"] == "Literal"
    assert list(sandbox.state()["blooio"]["cards"]) == [DEDICATED]


async def test_number_not_on_the_key_is_403(client, auth, sandbox):
    """A valid E.164 number the key does not own is refused with 403 and changes nothing."""
    response = await client.put(card_url("+15550000000"), json={"first_name": "X"}, headers=auth["blooio"])
    assert response.status_code == 403
    assert response.json()["message"] == "Phone number not accessible with this API key"
    assert sandbox.state()["blooio"]["writes"] == 0


async def test_owners_restrict_a_number_to_some_keys():
    """A seeded number with owners is 403 for any other key of the provider."""
    sandbox = Sandbox({"blooio": {"api_keys": ["bl_test_a", "bl_test_b"],
                                  "numbers": [{"number": DEDICATED, "owners": ["bl_test_a"]}]}})
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        ok = await client.put(card_url(DEDICATED), json={"first_name": "A"}, headers={"Authorization": "Bearer bl_test_a"})
        refused = await client.put(card_url(DEDICATED), json={"first_name": "B"}, headers={"Authorization": "Bearer bl_test_b"})
        listed = await client.get(API + "/me/numbers", headers={"Authorization": "Bearer bl_test_b"})
    assert (ok.status_code, refused.status_code) == (200, 403)
    assert listed.json() == {"numbers": []}


@pytest.mark.parametrize("body", [{"first_name": "A"}, {"last_name": "B"}, {"avatar": "AAAA"}])
async def test_standard_plan_refuses_name_and_avatar(client, auth, body, sandbox):
    """A standard-plan number gets 403 for first_name, last_name or avatar."""
    response = await client.put(card_url(STANDARD), json=body, headers=auth["blooio"])
    assert response.status_code == 403
    assert "Dedicated" in response.json()["message"]
    assert sandbox.state()["blooio"]["cards"] == {}


async def test_standard_plan_accepts_sharing_only(client, auth, sandbox):
    """Sharing settings alone are allowed on a standard plan."""
    response = await client.put(card_url(STANDARD), json={"sharing": {"enabled": False}}, headers=auth["blooio"])
    assert response.status_code == 200
    assert sandbox.state()["blooio"]["cards"][STANDARD] == {"sharing": {"enabled": False}}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
async def test_avatar_is_stored_and_shown_as_a_digest(client, auth, sandbox, make_image, fmt):
    """A base64 JPEG/PNG avatar lands; state shows its sha256 and size, GET returns the base64."""
    image = make_image(fmt)
    encoded = base64.b64encode(image).decode()
    response = await client.put(card_url(DEDICATED), json={"avatar": encoded}, headers=auth["blooio"])
    assert response.status_code == 200
    avatar = sandbox.state()["blooio"]["cards"][DEDICATED]["avatar"]
    assert avatar["bytes"] == len(image) and len(avatar["sha256"]) == 64
    assert (await client.get(card_url(DEDICATED), headers=auth["blooio"])).json()["avatar"] == encoded


async def test_avatar_over_one_megabyte_is_400(client, auth, make_image):
    """A real JPEG above 1 MiB is refused with a message giving the size."""
    big = make_image("JPEG", size=1100, noise=True)
    assert len(big) > 1024 * 1024
    response = await client.put(card_url(DEDICATED), json={"avatar": base64.b64encode(big).decode()}, headers=auth["blooio"])
    assert response.status_code == 400
    assert "1 MB" in response.json()["message"]


@pytest.mark.parametrize("avatar, words", [
    ("https://example.com/image.jpg", "not a URL"),
    ("data:image/jpeg;base64,/9j/4AAQ", "data:"),
    ("not base64!!", "not valid base64"),
    (base64.b64encode(b"GIF89a" + b"\0" * 20).decode(), "JPEG or PNG"),
    (42, "base64-encoded"),
])
async def test_bad_avatars_are_400_with_the_reason(client, auth, sandbox, avatar, words):
    """URLs, data: URIs, bad base64, other formats and non-strings are refused, and nothing lands."""
    response = await client.put(card_url(DEDICATED), json={"first_name": "A", "avatar": avatar}, headers=auth["blooio"])
    assert response.status_code == 400
    assert words in response.json()["message"]
    assert sandbox.state()["blooio"]["cards"] == {}


@pytest.mark.parametrize("body, words", [
    ({"firstName": "A"}, "Unknown field 'firstName'"),
    ({"sharing": {"enabled": "yes"}}, "sharing.enabled must be a boolean"),
    ({"sharing": {"audience": 2}}, "must be 0 or 1"),
    ({"sharing": {"audience": True}}, "must be an integer"),
    ({"first_name": 7}, "first_name must be a string"),
    ([1, 2], "JSON object"),
])
async def test_malformed_bodies_are_400(client, auth, body, words):
    """Bodies the docs do not describe get 400 naming the field."""
    response = await client.put(card_url(DEDICATED), json=body, headers=auth["blooio"])
    assert response.status_code == 400
    assert words in response.json()["message"]


async def test_non_json_body_is_400(client, auth):
    """A body that is not JSON at all is a 400, not a crash."""
    response = await client.put(card_url(DEDICATED), content=b"first_name=A", headers=auth["blooio"])
    assert response.status_code == 400 and response.json()["error"] == "bad_request"


@pytest.mark.parametrize("number", ["4155552671", "+1 415 555 2671", "%2B0123"])
async def test_non_e164_number_in_path_is_400(client, auth, number):
    """The path number must be E.164."""
    response = await client.put(CARD.format(number), json={"first_name": "A"}, headers=auth["blooio"])
    assert response.status_code == 400
    assert "E.164" in response.json()["message"]


async def test_null_clears_a_name(client, auth):
    """Sending null for last_name clears it (the sandbox's documented choice)."""
    await client.put(card_url(DEDICATED), json={"first_name": "A", "last_name": "B"}, headers=auth["blooio"])
    response = await client.put(card_url(DEDICATED), json={"last_name": None}, headers=auth["blooio"])
    assert response.json()["last_name"] is None


async def test_get_of_an_untouched_number_has_empty_fields(client, auth):
    """Reading a card never written gives nulls and default sharing."""
    card = (await client.get(card_url(DEDICATED), headers=auth["blooio"])).json()
    assert card["first_name"] is None and card["avatar"] is None
    assert card["sharing"] == {"enabled": False, "audience": 1, "name_format": 0}


async def test_coming_soon_mode_answers_404():
    """With blooio_card_read='coming_soon' the GET is disabled as the SDK warns; PUT still works."""
    sandbox = Sandbox(blooio_card_read="coming_soon")
    headers = {"Authorization": f"Bearer {sandbox.credentials['blooio']['api_key']}"}
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        read = await client.get(card_url(DEDICATED), headers=headers)
        write = await client.put(card_url(DEDICATED), json={"first_name": "A"}, headers=headers)
    assert read.status_code == 404 and "Coming soon" in read.json()["message"]
    assert write.status_code == 200


async def test_staging_and_message_shares_are_recorded(client, auth, sandbox):
    """POST /chats/{chat}/contact-card stages; share_contact on a message shares; both show in state."""
    staged = await client.post(API + "/chats/%2B15557654321/contact-card", headers=auth["blooio"])
    assert staged.json()["success"] is True and staged.json()["chat_id"] == "+15557654321"
    sent = await client.post(API + "/chats/%2B15557654321/messages", headers=auth["blooio"],
                             json={"text": "Hi", "share_contact": True})
    assert sent.status_code == 200 and sent.json()["status"] == "queued"
    shares = sandbox.state()["blooio"]["shares"]
    assert shares == {"staged": {"+15557654321": 1}, "with_message": {"+15557654321": 1}}


async def test_sharing_needs_a_dedicated_number_on_the_key():
    """A key with only standard-plan numbers gets 403 on share."""
    sandbox = Sandbox({"blooio": {"api_keys": ["bl_test_s"], "numbers": [{"number": STANDARD, "plan": "standard"}]}})
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        response = await client.post(API + "/chats/%2B15557654321/contact-card", headers={"Authorization": "Bearer bl_test_s"})
    assert response.status_code == 403


async def test_double_encoded_plus_is_refused(client, auth, sandbox):
    """%252B (a client encoding twice) is not a number: 400, nothing written."""
    response = await client.put(CARD.format("%252B14155552671"), json={"first_name": "A"}, headers=auth["blooio"])
    assert response.status_code == 400
    assert sandbox.state()["blooio"]["cards"] == {}
