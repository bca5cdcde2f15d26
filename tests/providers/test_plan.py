"""change(): what a write would do, per provider, from the card and the current state (pure)."""

from __future__ import annotations

import hashlib

from cardkit.providers import Blooio, Card, Current, Linq, Sendblue, Sharing

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 100
DIGEST = hashlib.sha256(JPEG).hexdigest()
BLOOIO, SENDBLUE, LINQ = Blooio(api_key="k"), Sendblue(api_key="k", api_secret="s"), Linq(api_key="k")


def card(**kw) -> Card:
    base = dict(number="+14155552671", first_name="Ada", last_name="Lovelace")
    return Card(**{**base, **kw})


def test_blooio_unreadable_card_sends_every_given_field():
    """When Blooio's GET is not answered, every given field is sent, and the plan says why."""
    change = BLOOIO.change(card(photo_bytes=JPEG, photo_digest=DIGEST), Current(known=False))
    assert change.action == "update"
    assert change.fields == ("first_name", "last_name", "photo")
    assert "can't be read" in change.reason


def test_blooio_same_card_is_unchanged_and_a_new_photo_is_an_update():
    """A read card equal to the sheet is unchanged; only the differing field is updated."""
    have = Current(known=True, exists=True, fields={"first_name": "Ada", "last_name": "Lovelace",
                                                    "photo": DIGEST})
    assert BLOOIO.change(card(photo_bytes=JPEG, photo_digest=DIGEST), have).action == "unchanged"
    other = BLOOIO.change(card(photo_bytes=b"\xff\xd8\xffnew", photo_digest="f" * 64), have)
    assert (other.action, other.fields) == ("update", ("photo",))


def test_blooio_sharing_compares_only_the_given_settings():
    """A sheet that sets only `enabled` is unchanged when enabled matches, whatever the rest is."""
    have = Current(known=True, exists=True, fields={"first_name": "Ada", "last_name": "Lovelace",
                                                    "sharing": Sharing(True, 1, 0)})
    assert BLOOIO.change(card(sharing=Sharing(enabled=True)), have).action == "unchanged"
    flipped = BLOOIO.change(card(sharing=Sharing(enabled=False)), have)
    assert (flipped.action, flipped.fields) == ("update", ("sharing",))


def test_blooio_standard_plan_keeps_sharing_and_names_the_plan():
    """On a plan known to be standard, name/photo are left out with the reason; sharing alone goes."""
    have = Current(known=True, exists=False, fields={"plan": "standard"})
    only_name = BLOOIO.change(card(), have)
    assert only_name.action == "unsupported" and "Dedicated" in only_name.reason
    with_sharing = BLOOIO.change(card(sharing=Sharing(enabled=True)), have)
    assert with_sharing.action in ("create", "update") and with_sharing.fields == ("sharing",)
    assert with_sharing.reason.startswith("not set") and "first_name" in with_sharing.reason
    assert with_sharing.refused == ("first_name", "last_name")


def test_blooio_refuses_an_avatar_over_one_megabyte():
    """A prepared photo above Blooio's ~1 MB limit is unsupported before any request."""
    assert "KB" in BLOOIO.unsupported(card(photo_bytes=b"x" * 1_100_000))
    assert BLOOIO.unsupported(card(photo_bytes=JPEG)) == ""


def test_sendblue_needs_last_name_and_photo_url_before_any_request():
    """Sendblue rows without a last name, a photo or a public URL are refused with the reason."""
    assert "last name" in SENDBLUE.unsupported(card(last_name="", photo_url="https://x.test/a.jpg"))
    assert "needs a photo" in SENDBLUE.unsupported(card())
    local = SENDBLUE.unsupported(card(photo_source="team/ada.jpg", photo_digest=DIGEST))
    assert "'team/ada.jpg' is a local file" in local and "photo_host" in local
    assert "https" in SENDBLUE.unsupported(card(photo_url="http://photos.example.com/a.jpg"))
    assert SENDBLUE.unsupported(card(photo_url="https://photos.example.com/a.jpg")) == ""
    assert SENDBLUE.unsupported(card(photo_url="http://127.0.0.1:8787/_sandbox/media/abc")) == ""


def test_sendblue_photo_counts_as_changed_because_it_cant_be_read():
    """Equal names still replace the profile (the photo is unknowable) and the reason says so."""
    have = Current(known=True, exists=True, fields={"first_name": "Ada", "last_name": "Lovelace",
                                                    "display_name": ""})
    change = SENDBLUE.change(card(photo_url="https://x.test/a.jpg"), have)
    assert (change.action, change.fields) == ("replace", ("photo",))
    assert "never returns the photo" in change.reason
    known = Current(known=True, exists=True, fields={**have.fields, "photo": "https://x.test/a.jpg"})
    assert SENDBLUE.change(card(photo_url="https://x.test/a.jpg"), known).action == "unchanged"


def test_sendblue_keeps_an_empty_display_name_and_clears_only_on_the_marker():
    """No profile → create; an empty display-name cell leaves it as it is (sent again as read);
    only `[clear]` (Card.clear) removes it — though the POST replaces the whole profile."""
    url = "https://x.test/a.jpg"
    assert SENDBLUE.change(card(photo_url=url), Current(known=True, exists=False)).action == "create"
    have = Current(known=True, exists=True, fields={"first_name": "Ada", "last_name": "Lovelace",
                                                    "display_name": "Ada at Acme", "photo": url})
    assert SENDBLUE.change(card(photo_url=url), have).action == "unchanged"
    change = SENDBLUE.change(card(photo_url=url, clear=frozenset({"display_name"})), have)
    assert (change.action, change.fields) == ("replace", ("display_name",))


def test_linq_create_update_unchanged():
    """Linq: no card → create; active card → update only what differs; equal → unchanged."""
    url = "https://cdn.example.com/a.jpg"
    assert LINQ.change(card(photo_url=url), Current(known=True, exists=False)).action == "create"
    have = Current(known=True, exists=True, fields={"first_name": "Ada", "last_name": "Lovelace", "photo": url})
    assert LINQ.change(card(photo_url=url), have).action == "unchanged"
    renamed = LINQ.change(card(first_name="Augusta", photo_url=url), have)
    assert (renamed.action, renamed.fields) == ("update", ("first_name",))


def test_linq_inactive_card_is_set_up_again():
    """A card whose setup never completed (is_active false) is created again, with the reason."""
    change = LINQ.change(card(), Current(known=True, exists=False, fields={"inactive": True}))
    assert change.action == "create" and "did not complete" in change.reason


def test_linq_photo_is_optional_but_a_local_file_needs_a_host():
    """Linq takes a card without a photo; a local photo without a host is refused with the fix."""
    assert LINQ.unsupported(card()) == ""
    assert "photo_host" in LINQ.unsupported(card(photo_source="/tmp/ada.png", photo_digest=DIGEST))
