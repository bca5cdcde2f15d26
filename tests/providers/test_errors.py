"""Error classification from the providers' documented error bodies.

These replies are built from the bodies the providers' own pages document (provider-docs/,
providers.md §1.3, §2.2, §3.6): the documented wire shape, fed through a scripted Send. Some
cases (Linq 4004, 2022; a Retry-After as an HTTP date) can't be provoked on demand from the
sandbox, which is why they are checked here; the sandbox tests cover the same paths over HTTP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import time

import pytest

from cardkit.providers import Blooio, Card, Current, Linq, Permanent, Reply, Sendblue, Transient

KEYS = {"blooio": "bl_live_k3y_v4lue", "sb_id": "sb_k3y_id_v4lue", "sb_secret": "sb_s3cr3t_v4lue",
        "linq": "linq_k3y_v4lue"}
BLOOIO, SENDBLUE, LINQ = (Blooio(api_key=KEYS["blooio"]),
                          Sendblue(api_key=KEYS["sb_id"], api_secret=KEYS["sb_secret"]),
                          Linq(api_key=KEYS["linq"]))
CARD = Card(number="+14085550111", first_name="Ada", last_name="Lovelace",
            photo_url="https://cdn.example.com/ada.jpg", photo_source="https://cdn.example.com/ada.jpg")


class Script:
    """A Send that answers with the given replies in order and records every request."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, str, dict | None, object]] = []

    async def __call__(self, method, path, *, params=None, json=None):
        self.requests.append((method, path, params, json))
        return self.replies.pop(0)


def linq_error(status: int, code: int, message: str, **extra) -> Reply:
    error = {"status": status, "code": code, "message": message, **extra}
    return Reply(status, {"success": False, "error": error, "trace_id": "tr_123"}, {})


def run(coro):
    return asyncio.run(coro)


def test_linq_409_2014_switches_to_patch_and_never_resends_the_post():
    """POST answering 409/2014 is followed by one PATCH with ?phone_number=, not another POST."""
    send = Script(linq_error(409, 2014, "A contact card already exists for this phone number"),
                  Reply(200, {"phone_number": CARD.number, "first_name": "Ada", "is_active": True}, {}))
    done = run(LINQ.write(send, CARD, Current(known=True, exists=False)))
    assert [r[0] for r in send.requests] == ["POST", "PATCH"]
    assert send.requests[1][2] == {"phone_number": CARD.number}
    assert send.requests[1][3] == {"first_name": "Ada", "last_name": "Lovelace",
                                   "image_url": "https://cdn.example.com/ada.jpg"}
    assert done.action == "update"


def test_linq_429_waits_as_long_as_retry_after_says():
    """429 is transient and carries the Retry-After wait, at whatever length."""
    reply = linq_error(429, 1007, "Rate limit exceeded", retry_after=412)
    reply = Reply(429, reply.body, {"Retry-After": "540"})
    with pytest.raises(Transient) as caught:
        run(LINQ.write(Script(reply), CARD, Current(known=True, exists=False)))
    assert caught.value.retry_after == 540 and caught.value.error_code == "1007"
    assert "3 card writes per 10 minutes" in caught.value.message


def test_linq_429_falls_back_to_the_body_retry_after():
    """Without the header, Linq's `error.retry_after` gives the wait."""
    with pytest.raises(Transient) as caught:
        run(LINQ.write(Script(linq_error(429, 1007, "Rate limit exceeded", retry_after=300)),
                       CARD, Current(known=True, exists=False)))
    assert caught.value.retry_after == 300


def test_retry_after_as_an_http_date_is_understood():
    """A Retry-After given as an HTTP date becomes seconds from now."""
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    with pytest.raises(Transient) as caught:
        run(BLOOIO.write(Script(Reply(429, {"error": "rate_limited"}, {"retry-after": when})),
                         Card("+14155552671", "Ada"), Current(known=False)))
    assert 100 < caught.value.retry_after <= 121


def test_linq_2022_is_transient_and_4004_waits_at_least_30_seconds():
    """500/2022 is retried; 503/4004 is retried no sooner than 30 s, even if told less."""
    with pytest.raises(Transient) as setup:
        run(LINQ.write(Script(linq_error(500, 2022, "Contact card setup failed")), CARD,
                       Current(known=True, exists=False)))
    assert setup.value.error_code == "2022" and "few seconds" in setup.value.message
    busy = linq_error(503, 4004, "Service unavailable")
    with pytest.raises(Transient) as waited:
        run(LINQ.write(Script(Reply(503, busy.body, {"Retry-After": "5"})), CARD,
                       Current(known=True, exists=False)))
    assert waited.value.retry_after == 30 and waited.value.error_code == "4004"
    assert "tr_123" in waited.value.message


def test_linq_inactive_after_post_is_transient():
    """A 200 whose card is not active (setup didn't reach the device) is tried again."""
    send = Script(Reply(200, {"phone_number": CARD.number, "first_name": "Ada", "is_active": False}, {}))
    with pytest.raises(Transient, match="is_active false"):
        run(LINQ.write(send, CARD, Current(known=True, exists=False)))


@pytest.mark.parametrize("status, code, kind, words", [
    (401, 2004, Permanent, "LINQ_API_V3_API_KEY"),
    (403, 2006, Permanent, "no permission for this phone number"),
    (400, 5007, Permanent, "public, direct https link"),
    (500, 3006, Transient, "internal error"),
])
def test_linq_codes_map_to_permanent_or_transient_with_a_remedy(status, code, kind, words):
    """Each documented Linq code gets the right class, its code as text and what to do."""
    with pytest.raises(kind) as caught:
        run(LINQ.write(Script(linq_error(status, code, "documented message")), CARD,
                       Current(known=True, exists=False)))
    assert caught.value.error_code == str(code) and caught.value.http_status == status
    assert words in caught.value.message and "documented message" in caught.value.message


def test_linq_patch_without_a_card_falls_back_to_post():
    """PATCH answering 404/2012 (no active card) sets the card up with one POST."""
    send = Script(linq_error(404, 2012, "Contact card not found"),
                  Reply(200, {"phone_number": CARD.number, "first_name": "Augusta", "is_active": True}, {}))
    have = Current(known=True, exists=True, fields={"first_name": "Ada", "last_name": "Lovelace",
                                                    "photo": CARD.photo_url})
    done = run(LINQ.write(send, dataclasses.replace(CARD, first_name="Augusta"), have))
    assert [r[0] for r in send.requests] == ["PATCH", "POST"] and done.action == "create"


def test_sendblue_500_about_the_photo_is_permanent_and_names_the_url_without_its_query():
    """A photo-download 500 says to fix the URL (query string hidden); other 500s are retried."""
    card = Card(number="+13125550182", first_name="Ada", last_name="Lovelace",
                photo_url="https://bucket.example.com/ada.jpg?X-Amz-Signature=SIGNATURE")
    bad_photo = Reply(500, {"status": "ERROR", "message": "Failed to download photo from photoUrl"}, {})
    with pytest.raises(Permanent) as caught:
        run(SENDBLUE.write(Script(bad_photo), card, Current(known=True, exists=False)))
    assert "bucket.example.com/ada.jpg" in caught.value.message
    assert "SIGNATURE" not in caught.value.message
    device = Reply(500, {"status": "ERROR", "message": "Operation failed on the device"}, {})
    with pytest.raises(Transient):
        run(SENDBLUE.write(Script(device), card, Current(known=True, exists=False)))


@pytest.mark.parametrize("status, kind, words", [
    (401, Permanent, "SENDBLUE_API_API_KEY"), (403, Permanent, "does not own this number"),
    (404, Permanent, "one of your lines"), (503, Transient, "temporarily unavailable"),
])
def test_sendblue_statuses_map_as_documented(status, kind, words):
    """Sendblue's documented statuses map to the documented retry advice and a remedy."""
    reply = Reply(status, {"status": "ERROR", "message": "as documented"}, {})
    with pytest.raises(kind) as caught:
        run(SENDBLUE.read(Script(reply), "+13125550182"))
    assert words in caught.value.message and caught.value.http_status == status


def test_blooio_403_for_an_owned_number_blames_the_plan():
    """A 403 on a number the key owns says the plan is the cause and how to get around it."""
    send = Script(Reply(403, {"error": "forbidden", "message": "Setting first_name … Dedicated", "status": 403}, {}),
                  Reply(200, {"numbers": [{"phone_number": "+12025550147", "is_active": True}]}, {}))
    with pytest.raises(Permanent) as caught:
        run(BLOOIO.write(send, Card("+12025550147", "Ada", "Lovelace"), Current(known=False)))
    message = caught.value.message
    assert "belongs to this API key" in message and "Dedicated" in message and "sharing" in message
    assert caught.value.error_code == "forbidden" and caught.value.http_status == 403
    assert send.requests[1][:2] == ("GET", "/me/numbers")


def test_blooio_403_for_someone_elses_number_says_so():
    """A 403 on a number missing from GET /me/numbers says to use the key that owns it."""
    send = Script(Reply(403, {"error": "forbidden", "message": "Phone number not accessible", "status": 403}, {}),
                  Reply(200, {"numbers": [{"phone_number": "+14155552671"}]}, {}))
    with pytest.raises(Permanent, match="not among this API key's numbers"):
        run(BLOOIO.write(send, Card("+19995550100", "Ada"), Current(known=False)))


def test_blooio_403_when_the_listing_fails_names_both_causes():
    """If the numbers can't be listed either, the 403 message names both possibilities."""
    send = Script(Reply(403, {"error": "forbidden", "status": 403}, {}),
                  Reply(502, {"error": "bad_gateway", "status": 502}, {}))
    with pytest.raises(Permanent) as caught:
        run(BLOOIO.write(send, Card("+14155552671", "Ada"), Current(known=False)))
    assert "either" in caught.value.message and "GET /me/numbers" in caught.value.message


@pytest.mark.parametrize("status, kind, code", [(401, Permanent, "unauthorized"), (404, Permanent, "not_found"),
                                                (502, Transient, "bad_gateway"), (503, Transient, "service_unavailable")])
def test_blooio_statuses_carry_their_code(status, kind, code):
    """Blooio's `code` (or `error`) becomes error_code; 5xx are transient, 4xx permanent."""
    body = {"error": "ApiError", "code": code, "message": "documented", "status": status}
    with pytest.raises(kind) as caught:
        run(BLOOIO.write(Script(Reply(status, body, {})), Card("+14155552671", "Ada"), Current(known=False)))
    assert caught.value.error_code == code


def test_blooio_unreadable_card_is_unknown_not_an_error():
    """GET contact-card answering 404/501 or "coming soon" reads as Current(known=False)."""
    for reply in (Reply(404, {"error": "not_found", "message": "Coming soon"}, {}),
                  Reply(501, None, {}),
                  Reply(403, {"error": "forbidden", "message": "temporarily disabled"}, {})):
        assert run(BLOOIO.read(Script(reply), "+14155552671")) == Current(known=False)


@pytest.mark.parametrize("adapter, reply", [
    (LINQ, linq_error(500, 2022, "Contact card setup failed")),
    (LINQ, linq_error(500, 3006, "Internal error")),
    (LINQ, linq_error(503, 4004, "Service unavailable")),
    (LINQ, linq_error(502, 9999, "Bad gateway")),
    (SENDBLUE, Reply(503, {"status": "ERROR", "message": "device offline"}, {})),
    (SENDBLUE, Reply(502, {"status": "ERROR", "message": "bad gateway"}, {})),
    (BLOOIO, Reply(502, {"error": "bad_gateway", "message": "upstream"}, {})),
], ids=["linq-2022", "linq-3006", "linq-4004", "linq-5xx", "sendblue-503", "sendblue-502", "blooio-502"])
def test_transient_failures_describe_what_happened_without_promising_a_retry(adapter, reply):
    """A Transient's message may end up final (the engine gave up), so it must not say "will retry"."""
    with pytest.raises(Transient) as caught:
        card = Card("+14155552671", "Ada") if adapter is BLOOIO else CARD   # Blooio takes bytes, not a URL
        run(adapter.write(Script(reply), card, Current(known=True, exists=False)))
    message = caught.value.message.lower()
    assert "will retry" not in message and "will wait" not in message
    assert f"answered {reply.status}" in message


def test_no_failure_message_contains_a_credential():
    """Whatever the failure, its message and repr carry no key."""
    failures = []
    for adapter, reply in ((LINQ, linq_error(401, 2004, "Unauthorized")),
                           (SENDBLUE, Reply(401, {"status": "ERROR", "message": "bad"}, {})),
                           (BLOOIO, Reply(401, {"error": "unauthorized"}, {}))):
        with pytest.raises(Permanent) as caught:
            run(adapter.read(Script(reply), "+14155552671") if adapter is not LINQ
                else adapter.write(Script(reply), CARD, Current(known=True, exists=False)))
        failures.append(caught.value)
    text = " ".join(f"{f!r} {f} {f.message}" for f in failures)
    assert not [key for key in KEYS.values() if key in text]
