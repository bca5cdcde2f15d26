"""Sendblue emulator (contact sharing, contacts, lines), in process over its httpx transport."""

from __future__ import annotations

import httpx
import pytest

from cardkit.sandbox import Sandbox

pytestmark = pytest.mark.anyio

API = "/sendblue/api/v2"
PROFILE = API + "/contact-sharing/profile"
STATE = API + "/contact-sharing/state"
LINE = "+13125550182"


def profile(**overrides) -> dict:
    body = {"fromNumber": LINE, "firstName": "Grace", "lastName": "Hopper",
            "photoUrl": "https://example.com/team/grace.jpg", "displayName": "Grace at Acme"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize("headers", [
    {}, {"sb-api-key-id": "sb_key_test_7f3a91c2e5d84b06"},
    {"sb-api-key-id": "sb_key_test_7f3a91c2e5d84b06", "sb-api-secret-key": "wrong"},
])
async def test_missing_or_wrong_credentials_are_401(client, headers):
    """Both headers must match one seeded pair; else 401 {status: ERROR, message}."""
    response = await client.get(STATE, params={"fromNumber": LINE}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": "ERROR", "message": "Invalid or missing API credentials"}


async def test_profile_post_then_state_reads_it_back_without_photo(client, auth, sandbox):
    """POST creates the profile; GET state shows the names and never the photo."""
    created = await client.post(PROFILE, json=profile(), headers=auth["sendblue"])
    assert created.status_code == 200
    assert created.json() == {"status": "OK", "data": {"hasProfile": True, "firstName": "Grace",
                                                       "lastName": "Hopper", "displayName": "Grace at Acme"}}
    state = await client.get(STATE, params={"fromNumber": LINE}, headers=auth["sendblue"])
    assert state.json() == created.json()
    card = sandbox.state()["sendblue"]["cards"][LINE]
    assert card["photoUrl"] == "https://example.com/team/grace.jpg" and card["photo"]["bytes"] > 0


async def test_profile_post_replaces_the_whole_profile(client, auth, sandbox):
    """A second POST without displayName drops the old displayName (full replace)."""
    await client.post(PROFILE, json=profile(), headers=auth["sendblue"])
    await client.post(PROFILE, json=profile(firstName="G", displayName=None), headers=auth["sendblue"])
    card = sandbox.state()["sendblue"]["cards"][LINE]
    assert card["firstName"] == "G" and card["displayName"] is None
    assert sandbox.state()["sendblue"]["writes_by_number"] == {LINE: 2}


@pytest.mark.parametrize("missing", ["fromNumber", "firstName", "lastName", "photoUrl"])
async def test_every_documented_field_is_required(client, auth, sandbox, missing):
    """Leaving out any of fromNumber, firstName, lastName, photoUrl is a 400 naming it."""
    body = profile()
    del body[missing]
    response = await client.post(PROFILE, json=body, headers=auth["sendblue"])
    assert response.status_code == 400
    assert missing in response.json()["message"] and response.json()["status"] == "ERROR"
    assert sandbox.state()["sendblue"]["cards"] == {}


async def test_photo_from_the_media_host_is_fetched(client, auth, sandbox, jpeg_bytes):
    """A photo uploaded to /_sandbox/media is fetched and recorded by digest."""
    url = (await client.post("/_sandbox/media", content=jpeg_bytes, headers={"content-type": "image/jpeg"})).json()["url"]
    response = await client.post(PROFILE, json=profile(photoUrl=url), headers=auth["sendblue"])
    assert response.status_code == 200
    assert sandbox.state()["sendblue"]["cards"][LINE]["photo"]["bytes"] == len(jpeg_bytes)


@pytest.mark.parametrize("url", ["https://photos.internal.test/a.jpg", "http://sandbox.local/_sandbox/media/nope",
                                 "ftp://example.com/a.jpg", "not a url"])
async def test_unreachable_photo_is_500_as_documented(client, auth, sandbox, url):
    """A photoUrl the emulator cannot fetch fails with 500 and stores nothing."""
    response = await client.post(PROFILE, json=profile(photoUrl=url), headers=auth["sendblue"])
    assert response.status_code == 500
    assert response.json()["status"] == "ERROR"
    assert sandbox.state()["sendblue"]["cards"] == {}


async def test_photo_that_is_not_jpeg_or_png_is_500(client, auth):
    """Fetched bytes that are not an image fail like an invalid photo."""
    url = (await client.post("/_sandbox/media", content=b"hello", headers={"content-type": "text/plain"})).json()["url"]
    response = await client.post(PROFILE, json=profile(photoUrl=url), headers=auth["sendblue"])
    assert response.status_code == 500 and "JPEG or PNG" in response.json()["message"]


async def test_placeholder_hosts_can_be_turned_off():
    """With placeholder_hosts=() an example.com photo is unreachable."""
    sandbox = Sandbox(placeholder_hosts=())
    creds = sandbox.credentials["sendblue"]
    headers = {"sb-api-key-id": creds["key_id"], "sb-api-secret-key": creds["secret"]}
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        response = await client.post(PROFILE, json=profile(), headers=headers)
    assert response.status_code == 500


async def test_delete_profile_takes_a_json_body(client, auth, sandbox):
    """DELETE with {fromNumber} removes the profile; state then says hasProfile false."""
    await client.post(PROFILE, json=profile(), headers=auth["sendblue"])
    deleted = await client.request("DELETE", PROFILE, json={"fromNumber": LINE}, headers=auth["sendblue"])
    assert deleted.json() == {"status": "OK", "data": {"hasProfile": False}}
    state = await client.get(STATE, params={"fromNumber": LINE}, headers=auth["sendblue"])
    assert state.json()["data"] == {"hasProfile": False, "firstName": None, "lastName": None, "displayName": None}
    assert sandbox.state()["sendblue"]["cards"] == {}


async def test_unknown_number_is_404_and_foreign_number_is_403():
    """A number not in the seed is 404; one owned by another credential is 403."""
    sandbox = Sandbox({"sendblue": {"credentials": [{"key_id": "a", "secret": "sa"}, {"key_id": "b", "secret": "sb"}],
                                    "numbers": [{"number": LINE, "owners": ["a"]}]}})
    headers = {"sb-api-key-id": "b", "sb-api-secret-key": "sb"}
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
        foreign = await client.get(STATE, params={"fromNumber": LINE}, headers=headers)
        unknown = await client.get(STATE, params={"fromNumber": "+15550001111"}, headers=headers)
    assert foreign.status_code == 403 and "does not own" in foreign.json()["message"]
    assert unknown.status_code == 404 and "No active Sendblue number" in unknown.json()["message"]


@pytest.mark.parametrize("number", [None, "3125550182", "+1 312 555 0182"])
async def test_state_needs_an_e164_from_number(client, auth, number):
    """fromNumber is required and must be E.164."""
    params = {} if number is None else {"fromNumber": number}
    response = await client.get(STATE, params=params, headers=auth["sendblue"])
    assert response.status_code == 400 and "fromNumber" in response.json()["message"]


async def test_lines_state_lists_the_seeded_lines(client, auth):
    """GET /api/v2/lines/state returns every line as ONLINE and assigned."""
    response = await client.get(API + "/lines/state", headers=auth["sendblue"])
    body = response.json()
    assert body["status"] == "OK" and "snapshot_at" in body
    assert [line["sendblue_number"] for line in body["data"]][0] == LINE
    assert len(body["data"]) == 6 and {line["status"] for line in body["data"]} == {"ONLINE"}


# -- contacts ------------------------------------------------------------------------------------

CONTACT = "+15557654321"


async def test_contact_create_read_update_delete(client, auth, sandbox):
    """The contact lifecycle: create, read, partial PUT, delete."""
    created = await client.post(API + "/contacts", headers=auth["sendblue"], json={
        "number": CONTACT, "first_name": "Ann", "tags": ["vip"], "custom_variables": {"tier": "gold"}})
    assert created.status_code == 200 and created.json()["contact"]["phone"] == CONTACT
    read = await client.get(API + "/contacts/%2B15557654321", headers=auth["sendblue"])
    assert read.json()["contact"]["first_name"] == "Ann"
    updated = await client.put(API + "/contacts/+15557654321", headers=auth["sendblue"], json={
        "last_name": "Lee", "tags": ["new"], "custom_variables": {"region": "west"}})
    contact = updated.json()["contact"]
    assert contact["first_name"] == "Ann" and contact["last_name"] == "Lee"  # partial
    assert contact["tags"] == ["new"]  # tags replace
    assert contact["custom_variables"] == {"tier": "gold", "region": "west"}  # variables merge
    assert sandbox.state()["sendblue"]["contacts"][CONTACT]["last_name"] == "Lee"
    deleted = await client.delete(API + "/contacts/%2B15557654321", headers=auth["sendblue"])
    assert deleted.json() == {"status": "OK"}
    assert (await client.get(API + "/contacts/%2B15557654321", headers=auth["sendblue"])).status_code == 404


async def test_contact_create_twice_needs_update_if_exists(client, auth):
    """A second create is 409 unless update_if_exists is true, which then merges."""
    await client.post(API + "/contacts", json={"number": CONTACT, "first_name": "Ann"}, headers=auth["sendblue"])
    again = await client.post(API + "/contacts", json={"number": CONTACT, "first_name": "Bo"}, headers=auth["sendblue"])
    assert again.status_code == 409
    merged = await client.post(API + "/contacts", headers=auth["sendblue"],
                               json={"number": CONTACT, "last_name": "Lee", "update_if_exists": True})
    assert merged.json()["contact"]["first_name"] == "Ann" and merged.json()["contact"]["last_name"] == "Lee"


async def test_deprecated_camel_case_fields_are_accepted(client, auth):
    """firstName/companyName work like their snake_case twins; the snake_case one wins when both are sent."""
    await client.post(API + "/contacts", json={"phoneNumber": CONTACT, "firstName": "Ann"}, headers=auth["sendblue"])
    updated = await client.put(API + "/contacts/%2B15557654321", headers=auth["sendblue"],
                               json={"companyName": "Old", "company_name": "Acme", "optOut": True})
    assert updated.json()["contact"]["first_name"] == "Ann"
    assert updated.json()["contact"]["company_name"] == "Acme" and updated.json()["contact"]["opt_out"] is True


@pytest.mark.parametrize("body, words", [
    ({"first_name": "A"}, "number"),
    ({"number": "5557654321"}, "E.164"),
    ({"number": CONTACT, "tags": "vip"}, "tags"),
    ({"number": CONTACT, "custom_variables": {"a": 1}}, "custom_variables"),
])
async def test_bad_contact_bodies_are_400(client, auth, body, words):
    """Missing number, non-E.164, or mistyped tags/variables get a 400 naming the field."""
    response = await client.post(API + "/contacts", json=body, headers=auth["sendblue"])
    assert response.status_code == 400 and words in response.json()["message"]


async def test_contact_list_is_a_bare_array_and_pages(client, auth):
    """GET /api/v2/contacts returns a JSON array honouring limit, offset and phone_number."""
    for i in range(5):
        await client.post(API + "/contacts", json={"number": f"+1555765430{i}"}, headers=auth["sendblue"])
    listed = await client.get(API + "/contacts", params={"limit": 2, "offset": 1}, headers=auth["sendblue"])
    assert isinstance(listed.json(), list) and [c["phone"] for c in listed.json()] == ["+15557654301", "+15557654302"]
    one = await client.get(API + "/contacts", params={"phone_number": "+15557654304"}, headers=auth["sendblue"])
    assert [c["phone"] for c in one.json()] == ["+15557654304"]
    count = await client.get(API + "/contacts/count", headers=auth["sendblue"])
    assert count.json() == {"count": 5}


async def test_put_of_a_missing_contact_is_404(client, auth, sandbox):
    """Updating a contact that does not exist is 404 and creates nothing."""
    response = await client.put(API + "/contacts/%2B15557654321", json={"first_name": "A"}, headers=auth["sendblue"])
    assert response.status_code == 404
    assert sandbox.state()["sendblue"]["contacts"] == {}


async def test_bulk_create_checks_every_item_before_storing_any(client, auth, sandbox):
    """One bad item in a bulk create is a 400 naming its index, and no contact is stored."""
    response = await client.post(API + "/contacts/bulk", headers=auth["sendblue"], json={
        "contacts": [{"phone": CONTACT}, {"number": "+15557654322"}]})
    assert response.status_code == 400 and response.json()["message"].startswith("contacts[1]: ")
    assert sandbox.state()["sendblue"]["contacts"] == {}
