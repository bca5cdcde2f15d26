"""Every adapter path against the real sandbox, in process over its httpx transport."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import httpx
import pytest

from cardkit.providers import (
    Blooio,
    Card,
    Current,
    Linq,
    Permanent,
    SandboxPhotoHost,
    Sendblue,
    Sharing,
    Transient,
    http_send,
    providers_from_sandbox,
)
from cardkit.sandbox import Sandbox

from .conftest import jpeg_bytes

BLOOIO_NUMBER, BLOOIO_STANDARD = "+14155552671", "+12025550147"
SENDBLUE_NUMBER, LINQ_NUMBER, LINQ_DE = "+13125550182", "+14085550111", "+4915123456789"
JPEG = jpeg_bytes()
DIGEST = hashlib.sha256(JPEG).hexdigest()


class Wire:
    """One sandbox, its adapters, and a recorded httpx client reaching it in process."""

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        self.sandbox = sandbox or Sandbox()
        self.blooio, self.sendblue, self.linq = providers_from_sandbox(self.sandbox)
        self.requests: list[httpx.Request] = []

    def run(self, adapter, method: str, *args, **kwargs):
        async def go():
            async def record(request):
                self.requests.append(request)
            async with httpx.AsyncClient(transport=self.sandbox.transport(),
                                         event_hooks={"request": [record]}) as client:
                return await getattr(adapter, method)(http_send(client, adapter), *args, **kwargs)
        return asyncio.run(go())

    def apply(self, adapter, card: Card):
        """Read, then write: what the engine does for one operation."""
        current = self.run(adapter, "read", card.number)
        return self.run(adapter, "write", card, current)

    def upload(self, data: bytes = JPEG) -> str:
        return asyncio.run(SandboxPhotoHost.for_sandbox(self.sandbox).upload(data, "image/jpeg"))


@pytest.fixture
def wire() -> Wire:
    return Wire()


def test_every_adapter_lists_the_numbers_its_key_owns(wire):
    """list_numbers gives each provider's seeded numbers (what routing relies on)."""
    assert BLOOIO_NUMBER in wire.run(wire.blooio, "list_numbers")
    assert BLOOIO_STANDARD in wire.run(wire.blooio, "list_numbers")
    assert SENDBLUE_NUMBER in wire.run(wire.sendblue, "list_numbers")
    linq = wire.run(wire.linq, "list_numbers")
    assert LINQ_NUMBER in linq and LINQ_DE in linq and SENDBLUE_NUMBER not in linq


# ---- Blooio -----------------------------------------------------------------------------------

def test_blooio_sets_name_photo_and_sharing_then_reads_them_back_unchanged(wire):
    """PUT lands with the avatar as base64 and %2B in the path; reading back plans no write."""
    card = Card(BLOOIO_NUMBER, "Ada", "Lovelace", photo_bytes=JPEG, photo_digest=DIGEST,
                sharing=Sharing(enabled=True, audience=0))
    done = wire.apply(wire.blooio, card)
    assert done.action == "create" and set(done.fields) == {"first_name", "last_name", "photo", "sharing"}
    put = [r for r in wire.requests if r.method == "PUT"][0]
    assert b"/me/numbers/%2B14155552671/contact-card" in put.url.raw_path
    landed = wire.sandbox.state()["blooio"]["cards"][BLOOIO_NUMBER]
    assert landed["first_name"] == "Ada" and landed["avatar"]["sha256"] == DIGEST
    assert landed["sharing"] == {"enabled": True, "audience": 0}
    again = wire.run(wire.blooio, "read", BLOOIO_NUMBER)
    assert again.fields["photo"] == DIGEST
    assert wire.blooio.change(card, again).action == "unchanged"


def test_blooio_partial_update_sends_only_what_changed(wire):
    """After a rename only first_name is sent: the photo set before stays (PUT merges)."""
    wire.apply(wire.blooio, Card(BLOOIO_NUMBER, "Ada", "Lovelace", photo_bytes=JPEG, photo_digest=DIGEST))
    done = wire.apply(wire.blooio, Card(BLOOIO_NUMBER, "Augusta", "Lovelace", photo_bytes=JPEG,
                                        photo_digest=DIGEST))
    assert (done.action, done.fields) == ("update", ("first_name",))
    last_put = [r for r in wire.requests if r.method == "PUT"][-1]
    assert last_put.content == b'{"first_name": "Augusta"}'
    assert wire.sandbox.state()["blooio"]["cards"][BLOOIO_NUMBER]["avatar"]["sha256"] == DIGEST


def test_blooio_standard_plan_403_blames_the_plan(wire):
    """Name on a standard-plan number: Permanent, naming the plan as the cause (the key owns it)."""
    with pytest.raises(Permanent) as caught:
        wire.apply(wire.blooio, Card(BLOOIO_STANDARD, "Ada", "Lovelace"))
    assert caught.value.http_status == 403 and caught.value.error_code == "forbidden"
    assert "belongs to this API key" in caught.value.message and "Dedicated" in caught.value.message
    assert BLOOIO_STANDARD not in wire.sandbox.state()["blooio"]["cards"]


def test_blooio_standard_plan_still_gets_its_sharing_and_the_plan_is_remembered(wire):
    """Name + sharing on a standard plan: sharing lands, the reason says name wasn't set;
    the next plan for that number says so before any write."""
    card = Card(BLOOIO_STANDARD, "Ada", "Lovelace", sharing=Sharing(enabled=True))
    done = wire.apply(wire.blooio, card)
    assert done.fields == ("sharing",) and "can't set first_name, last_name" in done.reason
    assert wire.sandbox.state()["blooio"]["cards"][BLOOIO_STANDARD]["sharing"] == {"enabled": True}
    current = wire.run(wire.blooio, "read", BLOOIO_STANDARD)
    assert wire.blooio.change(card, current).action == "unchanged"
    renamed = wire.blooio.change(Card(BLOOIO_STANDARD, "Augusta"), current)
    assert renamed.action == "unsupported" and "Dedicated" in renamed.reason


def test_blooio_number_of_another_key_says_so(wire):
    """A Sendblue number sent to Blooio: 403, and the message says it isn't this key's number."""
    with pytest.raises(Permanent, match="not among this API key's numbers"):
        wire.run(wire.blooio, "write", Card(SENDBLUE_NUMBER, "Ada"), Current(known=False))


def test_blooio_coming_soon_read_is_unknown_and_the_write_still_goes():
    """With GET answering "coming soon", read is unknown, plan sends every field, the PUT lands."""
    wire = Wire(Sandbox(blooio_card_read="coming_soon"))
    current = wire.run(wire.blooio, "read", BLOOIO_NUMBER)
    assert current == Current(known=False)
    done = wire.run(wire.blooio, "write", Card(BLOOIO_NUMBER, "Ada", "Lovelace"), current)
    assert done.action == "update" and "can't be read" in done.reason
    assert wire.sandbox.state()["blooio"]["cards"][BLOOIO_NUMBER]["last_name"] == "Lovelace"


def test_blooio_shares_into_a_chat_staged_or_with_a_message(wire):
    """Without text the share is staged; with text it rides on a message (share_contact)."""
    staged = wire.run(wire.blooio, "share", "+15557654321")
    assert "staged" in staged.message.lower() and staged.from_number == ""
    sent = wire.run(wire.blooio, "share", "+15557654321", text="Hi, it's Ada", from_number=BLOOIO_NUMBER)
    assert "message" in sent.message and sent.from_number == BLOOIO_NUMBER
    shares = wire.sandbox.state()["blooio"]["shares"]
    assert shares["staged"] == {"+15557654321": 1} and shares["with_message"] == {"+15557654321": 1}
    assert b"/chats/%2B15557654321/contact-card" in wire.requests[0].url.raw_path


# ---- Sendblue ---------------------------------------------------------------------------------

def sendblue_card(url: str, **kw) -> Card:
    return Card(**{"number": SENDBLUE_NUMBER, "first_name": "Ada", "last_name": "Lovelace",
                   "photo_url": url, "photo_digest": DIGEST, **kw})


def test_sendblue_creates_the_profile_from_an_uploaded_photo_and_deletes_it(wire):
    """A photo put on the sandbox media host becomes the profile photo; delete clears it."""
    url = wire.upload()
    assert url.startswith("http://sandbox.local/_sandbox/media/")
    done = wire.apply(wire.sendblue, sendblue_card(url, display_name="Ada at Acme"))
    assert done.action == "create"
    profile = wire.sandbox.state()["sendblue"]["cards"][SENDBLUE_NUMBER]
    assert profile["firstName"] == "Ada" and profile["displayName"] == "Ada at Acme"
    current = wire.run(wire.sendblue, "read", SENDBLUE_NUMBER)
    assert current.exists and current.fields["display_name"] == "Ada at Acme"
    replan = wire.sendblue.change(sendblue_card(url, display_name="Ada at Acme"), current)
    assert (replan.action, replan.fields) == ("replace", ("photo",))
    wire.run(wire.sendblue, "delete", SENDBLUE_NUMBER)
    assert not wire.run(wire.sendblue, "read", SENDBLUE_NUMBER).exists


def test_sendblue_unreachable_photo_url_is_a_permanent_500(wire):
    """Sendblue answers 500 when it can't fetch photoUrl; cardkit says to fix the URL."""
    with pytest.raises(Permanent) as caught:
        wire.apply(wire.sendblue, sendblue_card("https://photos.unreachable.test/ada.jpg"))
    assert caught.value.http_status == 500
    assert "public, direct https link" in caught.value.message
    assert "photos.unreachable.test/ada.jpg" in caught.value.message


def test_sendblue_row_without_last_name_is_refused_before_any_request(wire):
    """The write refuses a card missing the last name without sending anything."""
    with pytest.raises(Permanent, match="last name"):
        wire.run(wire.sendblue, "write", sendblue_card("https://example.com/a.jpg", last_name=""),
                 Current(known=True, exists=False))
    assert wire.requests == []


def test_sendblue_unknown_number_is_404_permanent(wire):
    """A Linq number sent to Sendblue: 404, not retried, the message says to check your lines."""
    with pytest.raises(Permanent) as caught:
        wire.run(wire.sendblue, "read", LINQ_NUMBER)
    assert caught.value.http_status == 404 and "one of your lines" in caught.value.message


def test_sendblue_cannot_share_into_a_chat(wire):
    """Sendblue has no share API: a Permanent that says the profile is shared automatically."""
    with pytest.raises(Permanent, match="automatically"):
        wire.run(wire.sendblue, "share", "+15557654321")


# ---- Linq -------------------------------------------------------------------------------------

def linq_card(**kw) -> Card:
    return Card(**{"number": LINQ_NUMBER, "first_name": "Ada", "last_name": "Lovelace", **kw})


def test_linq_creates_then_patches_then_is_unchanged(wire):
    """POST the first time, PATCH only the changed field after, nothing when equal."""
    url = wire.upload()
    assert wire.apply(wire.linq, linq_card(photo_url=url)).action == "create"
    renamed = wire.apply(wire.linq, linq_card(first_name="Augusta", photo_url=url))
    assert (renamed.action, renamed.fields) == ("update", ("first_name",))
    patch = [r for r in wire.requests if r.method == "PATCH"][0]
    assert patch.url.params["phone_number"] == LINQ_NUMBER
    current = wire.run(wire.linq, "read", LINQ_NUMBER)
    assert wire.linq.change(linq_card(first_name="Augusta", photo_url=url), current).action == "unchanged"
    card = wire.sandbox.state()["linq"]["cards"][LINQ_NUMBER]
    assert card["first_name"] == "Augusta" and card["is_active"]


def test_linq_409_2014_switches_to_patch_without_resending_the_post(wire):
    """A stale "no card" plan: POST meets 409/2014, one PATCH follows, the card is updated."""
    wire.apply(wire.linq, linq_card())
    wire.requests.clear()
    done = wire.run(wire.linq, "write", linq_card(last_name="King"), Current(known=True, exists=False))
    assert [r.method for r in wire.requests] == ["POST", "PATCH"]
    assert done.action == "update"
    assert wire.sandbox.state()["linq"]["cards"][LINQ_NUMBER]["last_name"] == "King"


def test_linq_fourth_write_in_ten_minutes_is_429_with_the_wait(wire):
    """The sandbox's 3-writes budget: the 4th write is Transient with retry_after ≈ 600 s."""
    for name in ("A", "B", "C"):
        wire.apply(wire.linq, linq_card(first_name=name))
    with pytest.raises(Transient) as caught:
        wire.apply(wire.linq, linq_card(first_name="D"))
    assert caught.value.http_status == 429 and caught.value.error_code == "1007"
    assert 500 < caught.value.retry_after <= 600


def test_linq_unreachable_photo_is_5007_permanent(wire):
    """An image_url Linq can't download: Permanent with code 5007 and what to do."""
    with pytest.raises(Permanent) as caught:
        wire.apply(wire.linq, linq_card(photo_url="https://photos.unreachable.test/ada.jpg"))
    assert caught.value.error_code == "5007" and "https link" in caught.value.message


def test_linq_share_needs_an_active_card_then_works(wire):
    """Sharing before any card is 404/2012 with the fix; after a card it is shared."""
    chat = "7f0c7c3e-4a51-4d8e-9a57-0a8f6d3c1b2a"
    with pytest.raises(Permanent) as caught:
        wire.run(wire.linq, "share", chat)
    assert caught.value.error_code == "2012" and "apply a card" in caught.value.message
    wire.apply(wire.linq, linq_card())
    assert "shared" in wire.run(wire.linq, "share", chat).message
    assert wire.sandbox.state()["linq"]["shares"] == {chat: 1}


def test_linq_injected_faults_map_to_transient_with_the_documented_waits():
    """Faults drawn by the sandbox on a POST: 2022 retried, 4004 waits ≥ 30 s, 429 its Retry-After."""
    seen: dict[str, Transient] = {}
    for seed in range(40):
        wire = Wire(Sandbox(fault_rate=1.0, fault_mix={"error": 1.0}, fault_seed=seed))
        with pytest.raises(Transient) as caught:
            wire.run(wire.linq, "write", linq_card(), Current(known=True, exists=False))
        seen.setdefault(caught.value.error_code, caught.value)
        if {"2022", "4004", "1007"} <= set(seen):
            break
    assert {"2022", "4004", "1007"} <= set(seen)
    assert seen["4004"].retry_after >= 30
    assert seen["1007"].retry_after is not None and seen["1007"].retry_after >= 1
    assert seen["2022"].http_status == 500


# ---- all three --------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, variable", [(Blooio, "BLOOIO_API_KEY"), (Linq, "LINQ_API_V3_API_KEY")])
def test_a_wrong_key_is_401_permanent_naming_the_variable(wire, cls, variable):
    """A refused key is Permanent (not retried) and says which variable to check."""
    wrong = cls(api_key="wrong_key_value", base_url=wire.sandbox.base_urls()[cls.name])
    with pytest.raises(Permanent) as caught:
        wire.run(wrong, "list_numbers")
    assert caught.value.http_status == 401 and variable in caught.value.message
    assert "wrong_key_value" not in caught.value.message


def test_sendblue_wrong_secret_is_401_naming_both_variables(wire):
    """Sendblue's two headers: a wrong secret names both variables, never the values."""
    key_id = wire.sandbox.credentials["sendblue"]["key_id"]
    wrong = Sendblue(api_key=key_id, api_secret="wrong_secret_value",
                     base_url=wire.sandbox.base_urls()["sendblue"])
    with pytest.raises(Permanent) as caught:
        wire.run(wrong, "list_numbers")
    assert "SENDBLUE_API_API_SECRET" in caught.value.message
    assert key_id not in caught.value.message and "wrong_secret_value" not in caught.value.message


def test_no_secret_in_any_failure_or_repr(wire):
    """Failures from every provider and every adapter's repr carry none of the sandbox's keys."""
    secrets = [v for creds in wire.sandbox.credentials.values() for v in creds.values()]
    texts = [repr(a) for a in (wire.blooio, wire.sendblue, wire.linq)]
    for adapter, card in ((wire.blooio, Card(BLOOIO_STANDARD, "Ada")),
                          (wire.sendblue, sendblue_card("https://photos.unreachable.test/a.jpg")),
                          (wire.linq, linq_card(photo_url="https://photos.unreachable.test/a.jpg"))):
        with pytest.raises(Permanent) as caught:
            wire.run(adapter, "write", card, Current(known=True, exists=False))
        texts += [caught.value.message, repr(caught.value), str(caught.value)]
    joined = " ".join(texts)
    assert not [s for s in secrets if s in joined]
    assert base64.b64encode(JPEG).decode()[:40] not in joined
