"""The vendors' own SDKs, changed only in base URL and key, against the sandbox on a real loopback server."""

from __future__ import annotations

import base64
import uuid

import blooio
import httpx
import linq
import pytest
import sendblue_api

from cardkit.sandbox import Sandbox
from cardkit.sandbox.server import LoopbackServer

BLOOIO_LINE = "+14155552671"
STANDARD_LINE = "+12025550147"
SENDBLUE_LINE = "+13125550182"
LINQ_LINE = "+14085550111"


@pytest.fixture
def server(sandbox):
    with LoopbackServer(sandbox) as running:
        yield running


@pytest.fixture
def urls(server):
    return server.base_urls()


@pytest.fixture
def linq_client(sandbox, urls):
    with linq.LinqAPIV3(api_key=sandbox.credentials["linq"]["api_key"], base_url=urls["linq"], max_retries=0) as client:
        yield client


@pytest.fixture
def sendblue_client(sandbox, urls):
    creds = sandbox.credentials["sendblue"]
    with sendblue_api.SendblueAPI(api_key=creds["key_id"], api_secret=creds["secret"], base_url=urls["sendblue"],
                                  max_retries=0) as client:
        yield client


def async_blooio(sandbox, urls, **options) -> blooio.AsyncBlooio:
    return blooio.AsyncBlooio(api_key=sandbox.credentials["blooio"]["api_key"], base_url=urls["blooio"],
                              max_retries=0, **options)


# -- Blooio (AsyncBlooio) ---------------------------------------------------------------------------

@pytest.mark.anyio
async def test_blooio_sdk_updates_reads_and_lists(sandbox, urls, jpeg_bytes):
    """AsyncBlooio: numbers listing, card update with avatar and sharing, and card read, as typed results."""
    async with async_blooio(sandbox, urls) as client:
        numbers = await client.me.numbers.list()
        assert BLOOIO_LINE in [n.phone_number for n in numbers.numbers]
        assert numbers.numbers[0].last_active is not None  # parsed as a datetime by the SDK
        avatar = base64.b64encode(jpeg_bytes).decode()
        updated = await client.me.numbers.contact_card.update(
            BLOOIO_LINE, first_name="Ada", last_name="Lovelace", avatar=avatar,
            sharing={"enabled": True, "audience": 1, "name_format": 0})
        assert isinstance(updated, blooio.types.me.numbers.ContactCardUpdateResponse)
        assert (updated.success, updated.phone_number, updated.first_name) == (True, BLOOIO_LINE, "Ada")
        card = await client.me.numbers.contact_card.retrieve(BLOOIO_LINE)
        assert (card.name, card.avatar, card.sharing.enabled) == ("Ada Lovelace", avatar, True)
        staged = await client.chats.share_contact_card("+15557654321")
        assert staged.success is True and staged.chat_id == "+15557654321"
    assert sandbox.state()["blooio"]["cards"][BLOOIO_LINE]["avatar"]["bytes"] == len(jpeg_bytes)


@pytest.mark.anyio
async def test_blooio_sdk_raises_typed_errors(sandbox, urls):
    """AsyncBlooio: 401, 403 (plan and foreign number), 400 and 404 (coming-soon read) as the SDK's exceptions."""
    async with blooio.AsyncBlooio(api_key="bl_live_wrong", base_url=urls["blooio"], max_retries=0) as client:
        with pytest.raises(blooio.AuthenticationError):
            await client.me.numbers.list()
    async with async_blooio(sandbox, urls) as client:
        with pytest.raises(blooio.PermissionDeniedError) as plan:
            await client.me.numbers.contact_card.update(STANDARD_LINE, first_name="A")
        assert plan.value.body["status"] == 403
        with pytest.raises(blooio.PermissionDeniedError):
            await client.me.numbers.contact_card.update("+15550000000", first_name="A")
        with pytest.raises(blooio.BadRequestError):
            await client.me.numbers.contact_card.update(BLOOIO_LINE, avatar="https://example.com/a.jpg")
        sharing_only = await client.me.numbers.contact_card.update(STANDARD_LINE, sharing={"enabled": True})
        assert sharing_only.success is True
    sandbox.blooio.card_read = "coming_soon"
    async with async_blooio(sandbox, urls) as client:
        with pytest.raises(blooio.NotFoundError):
            await client.me.numbers.contact_card.retrieve(BLOOIO_LINE)


@pytest.mark.anyio
async def test_blooio_sdk_idempotency_key_sends_one_message(sandbox, urls):
    """AsyncBlooio: send(idempotency_key=…) twice → one message; the repeat is the SDK's ConflictError (409)."""
    async with async_blooio(sandbox, urls) as client:
        sent = await client.chats.messages.send("+15557654321", text="hi", share_contact=True,
                                                idempotency_key="run-1-row-2")
        assert sent.status == "queued" and sent.message_id
        with pytest.raises(blooio.ConflictError):
            await client.chats.messages.send("+15557654321", text="hi", share_contact=True,
                                             idempotency_key="run-1-row-2")
    assert sandbox.state()["blooio"]["messages_by_chat"] == {"+15557654321": 1}


@pytest.mark.anyio
async def test_blooio_sdk_reads_a_reencoded_avatar(jpeg_bytes):
    """AsyncBlooio against a re-encoding sandbox: retrieve() gives a base64 JPEG that is not what was sent."""
    box = Sandbox(blooio_avatar="reencoded")
    with LoopbackServer(box) as running:
        async with async_blooio(box, running.base_urls()) as client:
            sent = base64.b64encode(jpeg_bytes).decode()
            await client.me.numbers.contact_card.update(BLOOIO_LINE, avatar=sent)
            card = await client.me.numbers.contact_card.retrieve(BLOOIO_LINE)
    assert card.avatar != sent and base64.b64decode(card.avatar)[:3] == b"\xff\xd8\xff"


@pytest.mark.anyio
async def test_blooio_and_linq_sdks_see_each_account_of_the_accounts_seed():
    """The vendors' SDKs, one client per account of the 'accounts' seed, list disjoint numbers."""
    box = Sandbox(seed="accounts")
    with LoopbackServer(box) as running:
        urls = running.base_urls()
        blooio_numbers, linq_numbers = [], []
        for cred in box.accounts["blooio"].values():
            async with blooio.AsyncBlooio(api_key=cred["api_key"], base_url=urls["blooio"], max_retries=0) as client:
                blooio_numbers.append({n.phone_number for n in (await client.me.numbers.list()).numbers})
        for cred in box.accounts["linq"].values():
            async with linq.AsyncLinqAPIV3(api_key=cred["api_key"], base_url=urls["linq"], max_retries=0) as client:
                listed = await client.phone_numbers.list()
                linq_numbers.append({n.phone_number for n in listed.phone_numbers})
    for first, second in (blooio_numbers, linq_numbers):
        assert first and second and not first & second


# -- Sendblue (SendblueAPI) --------------------------------------------------------------------------

def test_sendblue_sdk_contacts_and_lines(sandbox, sendblue_client):
    """SendblueAPI: contact create/update/retrieve/list/delete and lines state, as typed results."""
    created = sendblue_client.contacts.create(number="+15557654321", body_first_name_1="Ann", tags=["vip"],
                                              custom_variables={"tier": "gold"})
    assert created.contact.phone == "+15557654321" and created.contact.first_name == "Ann"
    updated = sendblue_client.contacts.update("+15557654321", body_last_name_1="Lee", custom_variables={"region": "w"})
    assert updated.contact.last_name == "Lee"
    assert updated.contact.custom_variables == {"tier": "gold", "region": "w"}
    fetched = sendblue_client.contacts.retrieve("+15557654321")
    assert fetched.contact.created_at is not None  # parsed as a datetime by the SDK
    listed = sendblue_client.contacts.list()
    assert [c.phone for c in listed] == ["+15557654321"]
    assert sendblue_client.contacts.count().count == 1
    lines = sendblue_client.lines.get_state()
    assert SENDBLUE_LINE in [line.sendblue_number for line in lines.data]
    sendblue_client.contacts.delete("+15557654321")
    with pytest.raises(sendblue_api.NotFoundError):
        sendblue_client.contacts.retrieve("+15557654321")
    assert sandbox.state()["sendblue"]["contacts"] == {}


def test_sendblue_sdk_raises_typed_errors(sandbox, urls, sendblue_client):
    """SendblueAPI: wrong secret is AuthenticationError; a duplicate create is ConflictError."""
    with sendblue_api.SendblueAPI(api_key=sandbox.credentials["sendblue"]["key_id"], api_secret="wrong",
                                  base_url=urls["sendblue"], max_retries=0) as wrong:
        with pytest.raises(sendblue_api.AuthenticationError):
            wrong.lines.get_state()
    sendblue_client.contacts.create(number="+15557654321")
    with pytest.raises(sendblue_api.ConflictError):
        sendblue_client.contacts.create(number="+15557654321")


def test_sendblue_contact_sharing_with_plain_httpx(sandbox, urls, jpeg_bytes):
    """Contact sharing is not in the SDK: the documented bodies over plain httpx, photo from the media host."""
    creds = sandbox.credentials["sendblue"]
    headers = {"sb-api-key-id": creds["key_id"], "sb-api-secret-key": creds["secret"]}
    with httpx.Client(base_url=urls["sendblue"], headers=headers) as client:
        photo_url = httpx.post(urls["media"], content=jpeg_bytes, headers={"content-type": "image/jpeg"}).json()["url"]
        assert photo_url.startswith(urls["media"])
        assert httpx.get(photo_url).content == jpeg_bytes
        created = client.post("/api/v2/contact-sharing/profile", json={
            "fromNumber": SENDBLUE_LINE, "firstName": "Jane", "lastName": "Smith", "photoUrl": photo_url})
        assert created.json() == {"status": "OK", "data": {"hasProfile": True, "firstName": "Jane",
                                                           "lastName": "Smith", "displayName": None}}
        state = client.get("/api/v2/contact-sharing/state", params={"fromNumber": SENDBLUE_LINE})
        assert state.json()["data"]["hasProfile"] is True
        deleted = client.request("DELETE", "/api/v2/contact-sharing/profile", json={"fromNumber": SENDBLUE_LINE})
        assert deleted.json() == {"status": "OK", "data": {"hasProfile": False}}
    assert sandbox.state()["sendblue"]["writes_by_number"] == {SENDBLUE_LINE: 2}


# -- Linq (LinqAPIV3) --------------------------------------------------------------------------------

def test_linq_sdk_create_update_retrieve_and_list(sandbox, linq_client):
    """LinqAPIV3: create, update, retrieve and both number listings come back as typed results."""
    created = linq_client.contact_card.create(phone_number=LINQ_LINE, first_name="Ada",
                                              image_url="https://cdn.linqapp.com/contact-card/example.jpg")
    assert isinstance(created, linq.types.SetContactCard) and created.is_active is True
    updated = linq_client.contact_card.update(phone_number=LINQ_LINE, last_name="Lovelace")
    assert (updated.first_name, updated.last_name) == ("Ada", "Lovelace")
    cards = linq_client.contact_card.retrieve(phone_number=LINQ_LINE).contact_cards
    assert [(c.phone_number, c.last_name, c.image_url) for c in cards] == [
        (LINQ_LINE, "Lovelace", "https://cdn.linqapp.com/contact-card/example.jpg")]
    numbers = linq_client.phone_numbers.list().phone_numbers
    assert LINQ_LINE in [n.phone_number for n in numbers] and numbers[0].reputation.status == "HEALTHY"
    with pytest.warns(DeprecationWarning):  # the SDK marks /v3/phonenumbers deprecated; it still answers
        assert LINQ_LINE in [n.phone_number for n in linq_client.phonenumbers.list().phone_numbers]
    assert linq_client.chats.share_contact_card(str(uuid.uuid4())) is None


def test_linq_sdk_raises_conflict_and_rate_limit_with_retry_after(sandbox, linq_client, clock):
    """LinqAPIV3: a second create is ConflictError code 2014; the 4th write is RateLimitError with retry_after."""
    linq_client.contact_card.create(phone_number=LINQ_LINE, first_name="Ada")
    with pytest.raises(linq.ConflictError) as conflict:
        linq_client.contact_card.create(phone_number=LINQ_LINE, first_name="Ada")
    assert conflict.value.code == 2014
    clock.advance(30)
    linq_client.contact_card.update(phone_number=LINQ_LINE, last_name="B")
    linq_client.contact_card.update(phone_number=LINQ_LINE, last_name="C")
    clock.advance(70)
    with pytest.raises(linq.RateLimitError) as limited:
        linq_client.contact_card.update(phone_number=LINQ_LINE, last_name="D")
    assert limited.value.code == 1007 and limited.value.retry_after == 500
    assert limited.value.response.headers["retry-after"] == "500"
    assert sandbox.state()["linq"]["writes_by_number"] == {LINQ_LINE: 3}


def test_linq_sdk_raises_auth_permission_not_found_and_bad_request(sandbox, urls, linq_client):
    """LinqAPIV3: 401, 403, 404 (no card to patch) and 400 (bad number) as typed exceptions with codes."""
    with linq.LinqAPIV3(api_key="wrong", base_url=urls["linq"], max_retries=0) as wrong:
        with pytest.raises(linq.AuthenticationError) as unauthorized:
            wrong.contact_card.retrieve()
    assert unauthorized.value.code == 2004
    with pytest.raises(linq.PermissionDeniedError):
        linq_client.contact_card.create(phone_number="+15550009999", first_name="A")
    with pytest.raises(linq.NotFoundError) as missing:
        linq_client.contact_card.update(phone_number=LINQ_LINE, first_name="A")
    assert missing.value.code == 2012
    with pytest.raises(linq.BadRequestError) as bad:
        linq_client.contact_card.create(phone_number="4085550111", first_name="A")
    assert bad.value.code == 1002


@pytest.mark.slow
@pytest.mark.anyio
async def test_async_linq_sdk_under_faults_never_double_writes_and_state_tells_the_truth():
    """AsyncLinqAPIV3 under faults: no card lands twice; a hung POST that applied ends in ConflictError yet landed."""
    sandbox = Sandbox(fault_rate=0.4, fault_seed=3)
    numbers = ["+14085550111", "+19175550133", "+16465550188", "+13235550177", "+14045550166", "+4915123456789"]
    results = {}
    with LoopbackServer(sandbox) as server:
        async with linq.AsyncLinqAPIV3(api_key=sandbox.credentials["linq"]["api_key"],
                                       base_url=server.base_urls()["linq"], max_retries=3,
                                       timeout=httpx.Timeout(0.3, connect=1.0)) as client:
            for number in numbers:
                try:
                    results[number] = (await client.contact_card.create(phone_number=number, first_name="A")).is_active
                except linq.APIError as exc:
                    results[number] = type(exc).__name__
    state = sandbox.state()
    assert all(count == 1 for count in state["linq"]["writes_by_number"].values())
    assert set(state["linq"]["cards"]) == set(numbers)
    hung_and_applied = [entry for entry in state["faults"] if entry["fault"] == "hang" and entry["applied"]]
    assert len(hung_and_applied) == 1, state["faults"]
    assert [n for n, result in results.items() if result is not True] == ["+16465550188"]
    assert results["+16465550188"] == "ConflictError"


def test_sendblue_sdk_bulk_create_and_delete(sandbox, sendblue_client):
    """SendblueAPI: bulk create (items keyed `phone`) and bulk delete by E.164 ids, as typed results."""
    created = sendblue_client.contacts.bulk.create(contacts=[
        {"phone": "+15557654321", "first_name": "Ann"}, {"phone": "+15557654322", "tags": ["x"]}])
    assert [c.phone for c in created.contacts] == ["+15557654321", "+15557654322"]
    deleted = sendblue_client.contacts.bulk.delete(contact_ids=["+15557654321", "+15550000000"])
    assert deleted.amount == 1
    assert list(sandbox.state()["sendblue"]["contacts"]) == ["+15557654322"]
