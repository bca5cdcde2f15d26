"""CardForm without a browser: set widget values, click the buttons, await the task, check the sandbox."""

from __future__ import annotations

import asyncio
import datetime
import io
from pathlib import Path

import pytest
from PIL import Image

from cardkit.providers.registry import credential_variables
from cardkit.sandbox import Sandbox
from cardkit.widgets import CardForm

pytestmark = pytest.mark.timeout(60)

PHOTOS = Path(__file__).resolve().parents[2] / "cardkit" / "sample" / "photos"
BLOOIO_STANDARD = "+12025550147"   # the default seed: a number whose plan sets only sharing


def run(coro):
    """Run a test body inside an event loop, as the kernel's loop would host the form."""
    return asyncio.run(coro)


def fill(form: CardForm, number: str, first: str, last: str = "") -> None:
    form.number.value = number
    form.first_name.value = first
    form.last_name.value = last


async def click(form: CardForm, button) -> None:
    button.click()
    await form.last_task


def upload(widget, path: Path) -> None:
    """What the browser sends when a user picks a file (ipywidgets 8 FileUpload value)."""
    data = path.read_bytes()
    widget.value = ({"name": path.name, "type": "image/jpeg", "size": len(data), "content": memoryview(data),
                     "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)},)


def test_number_is_normalized_as_the_field_is_left_and_its_owner_shown():
    """'(415) 555-2671' becomes +14155552671 with a tick, and the sandbox's owner (Blooio) is named."""

    async def body():
        form = CardForm(sandbox=True)
        form.number.value = "(415) 555-2671"
        assert form.number.value == "+14155552671"
        assert "✓ +14155552671" in form.number_note.value
        await form.lookup_task
        assert form.owners == ["blooio"]
        assert form.provider.label == "owner: blooio" and form.provider.value == "auto"
        # one look-up (each provider's numbers listed once), not one per rewrite of the field
        assert [form.sandbox.state()[p]["requests"] for p in ("blooio", "sendblue", "linq")] == [1, 1, 1]

    run(body())


def test_repaired_number_says_what_was_assumed():
    """A number with a 00 prefix is accepted and the note says how it was read."""
    form = CardForm(sandbox=True)
    form.number.value = "0049 151 23456789"
    assert form.number.value == "+4915123456789"
    assert "00" in form.number_note.value and "+4915123456789" in form.number_note.value


def test_a_wrong_number_shows_the_reason_and_apply_sends_nothing():
    """'555-0100' is flagged with the fix; Apply refuses with the column and value and writes nothing."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "555-0100", "Ana")
        assert "cardkit-bad" in form.number_note.value and "add the area code" in form.number_note.value
        await click(form, form.apply_button)
        assert form.status.kind == "error"
        assert "Not sent" in form.status.text and "'555-0100'" in form.status.text
        assert "add the area code" in form.status.text
        assert form.last_results is None
        assert all(form.sandbox.state()[p]["writes"] == 0 for p in ("blooio", "sendblue", "linq"))

    run(body())


def test_plan_shows_the_difference_then_apply_sets_the_card_at_the_owner():
    """Plan lists each field as 'changes'; Apply creates the card; later Plans show 'already so' and now → after."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "+1 415 555 2673", "Chloé", "Martin")
        form.sharing_enabled.value = "true"
        await click(form, form.plan_button)
        assert form.status.kind == "ok" and form.status.text.startswith("blooio: create")
        assert form.last_plan["status"].tolist() == ["planned"]
        assert form.output.value.count(">changes: ") == 3  # first_name, last_name, sharing, with now → after
        assert "changes: sharing_enabled: no → yes" in form.output.value
        assert form.sandbox.state()["blooio"]["writes"] == 0, "plan never writes"

        await click(form, form.apply_button)
        assert form.status.kind == "ok" and "blooio: applied" in form.status.text
        assert form.last_results[["number", "provider", "status"]].values.tolist() == [
            ["+14155552673", "blooio", "applied"]]
        card = form.sandbox.state()["blooio"]["cards"]["+14155552673"]
        assert card["first_name"] == "Chloé" and card["last_name"] == "Martin"
        assert card["sharing"]["enabled"] is True

        await click(form, form.plan_button)
        assert form.last_plan["action"].tolist() == ["unchanged"]
        assert ">changes" not in form.output.value and form.output.value.count(">already so<") == 3

        form.first_name.value = "Chloe"
        await click(form, form.plan_button)
        now = form.last_difference.set_index("field")
        assert now.loc["first_name", ["new value", "blooio now", "blooio"]].tolist() == [
            "Chloe", "Chloé", "changes: first_name: Chloé → Chloe"]
        assert now.loc["last_name", ["blooio now", "blooio"]].tolist() == ["Martin", "already so"]
        assert now.loc["sharing", "blooio now"].startswith("enabled=true")
        assert form.sandbox.state()["blooio"]["cards"]["+14155552673"]["first_name"] == "Chloé", "plan never writes"

    run(body())


def test_uploaded_photo_is_previewed_prepared_and_sent_to_linq():
    """An uploaded JPEG shows as the square JPEG that will be sent; Apply at Linq sets its image."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "(408) 555-0111", "Nia", "Brown")
        upload(form.photo_upload, PHOTOS / "big_wide.jpg")
        await form.preview_task
        preview = Image.open(io.BytesIO(form.photo_preview.value))
        assert preview.format == "JPEG" and preview.size == (1024, 1024)  # from a 2000×1250 original
        assert "1024×1024 JPEG" in form.photo_note.value and "centre-cropped to a square" in form.photo_note.value
        await click(form, form.apply_button)
        assert form.status.kind == "ok", form.status.text
        assert form.last_results["provider"].tolist() == ["linq"]
        assert "photo" in form.last_results["changed"].iloc[0]
        assert form.sandbox.state()["linq"]["cards"]["+14085550111"]["image_url"]

    run(body())


def test_an_unreadable_upload_is_refused_in_the_photo_note():
    """A file that is not an image gets a ✗ with the reason, no preview, and no crash."""

    async def body():
        form = CardForm(sandbox=True)
        upload(form.photo_upload, PHOTOS / "not_an_image.jpg")
        await form.preview_task
        assert "cardkit-bad" in form.photo_note.value and "not a photo" in form.photo_note.value
        assert form.photo_preview.layout.display == "none" and form.status.kind == "idle"

    run(body())


def test_provider_refusal_is_shown_with_the_providers_reason():
    """A Blooio number on the standard plan: Apply ends in an error naming the 403 and the remedy."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "202 555 0147", "Gus", "Lee")
        await click(form, form.apply_button)
        assert form.status.kind == "error"
        assert "403" in form.status.text and "Dedicated" in form.status.text
        assert form.last_results["status"].tolist() == ["failed"]

    run(body())


def test_chosen_provider_overrides_the_owner():
    """Picking Linq for a Blooio number sends it to Linq (which refuses it), never to Blooio."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "+1 415 555 2671", "Ana", "Ruiz")
        form.provider.value = "linq"
        await click(form, form.apply_button)
        assert form.last_results["provider"].tolist() == ["linq"]
        assert form.last_results["status"].tolist() == ["failed"] and form.status.kind == "error"
        assert form.sandbox.state()["blooio"]["writes"] == 0

    run(body())


def test_sendblue_without_photo_is_refused_naming_what_to_fill_in():
    """Sendblue needs a last name and a photo: the form says so per field before sending anything."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "+1 312 555 0182", "Hana")
        form.provider.value = "sendblue"
        await click(form, form.apply_button)
        assert form.status.kind == "error" and form.status.text.startswith("Not sent")
        assert "Last name is empty — Sendblue needs a last name" in form.status.text
        assert "Photo is empty — Sendblue needs a photo" in form.status.text and "row 2" not in form.status.text
        assert form.sandbox.state()["sendblue"]["writes"] == 0

    run(body())


def test_without_providers_or_sandbox_the_form_says_what_to_configure(monkeypatch: pytest.MonkeyPatch):
    """No sandbox and no credentials: Apply explains which variable to set; nothing leaves the machine."""
    for variable in credential_variables():
        monkeypatch.delenv(variable, raising=False)

    async def body():
        form = CardForm()
        fill(form, "+14155552671", "Ana")
        await form.lookup_task
        assert "no provider configured" in form.provider.label
        await click(form, form.apply_button)
        assert form.status.kind == "error" and "API_KEY" in form.status.text
        assert "Unexpected" not in form.status.text

    run(body())


def test_a_bad_region_is_shown_in_the_form_not_raised():
    """An unknown region makes the number callback fail; the form shows the message instead of losing it."""
    form = CardForm(sandbox=True, region="XX")
    form.number.value = "415 555 2671"
    assert form.status.kind == "error" and "unknown region 'XX'" in form.status.text


def test_one_sandbox_per_form_keeps_state_between_edit_and_plan():
    """Two forms rehearse in separate sandboxes; one form's Apply is seen by its own next Plan."""

    async def body():
        first, second = CardForm(sandbox=True), CardForm(sandbox=True)
        for form in (first, second):
            fill(form, "+14155552672", "Ben", "Okafor")
        await click(first, first.apply_button)
        await click(first, first.plan_button)
        await click(second, second.plan_button)
        assert first.last_plan["action"].tolist() == ["unchanged"]
        assert second.last_plan["action"].tolist() == ["create"]

    run(body())


def test_given_sandbox_instance_is_used_as_is():
    """A Sandbox passed in (e.g. with latency) is the one the form talks to."""

    async def body():
        box = Sandbox()
        form = CardForm(sandbox=box)
        fill(form, "+16175550199", "Fatima", "Haddad")
        await click(form, form.apply_button)
        assert form.sandbox is box and "+16175550199" in box.state()["blooio"]["cards"]

    run(body())


def test_sharing_alone_is_applied_to_a_standard_plan_blooio_number_without_a_name():
    """The form on a Blooio number whose plan sets only sharing: no name, sharing on → applied."""

    async def body():
        box = Sandbox()
        form = CardForm(sandbox=box)
        form.number.value = BLOOIO_STANDARD
        form.sharing_enabled.value = "true"
        await click(form, form.apply_button)
        assert (form.status.kind, form.status.text) == ("ok", "blooio: applied (sharing)")
        assert box.state()["blooio"]["cards"][BLOOIO_STANDARD] == {"sharing": {"enabled": True}}

    run(body())


def test_photo_by_url_is_previewed_as_apply_fetches_it_in_the_sandbox():
    """A placeholder https URL the in-process sandbox serves (as apply fetches it: no DNS lookup,
    the sandbox is the whole network): the preview shows what will be sent."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "415 555 2674", "Jade", "Wong")
        form.photo_url.value = "https://example.com/photos/jade.jpg"
        await form.preview_task
        assert "cardkit-warn" not in form.photo_note.value
        assert form.photo_note.value.startswith("Will send a 500×500 JPEG"), form.photo_note.value
        assert form.photo_preview.layout.display == "" and form.photo_preview.value[:2] == b"\xff\xd8"
        await click(form, form.apply_button)
        assert form.status.kind == "ok", form.status.text
        assert form.last_results[["provider", "status"]].values.tolist() == [["sendblue", "applied"]]
        assert "photo" in form.last_results["changed"].iloc[0]

    run(body())


def test_a_photo_url_that_cannot_be_downloaded_for_a_preview_is_a_warning_not_an_error():
    """No preview (Sendblue and Linq download a URL themselves, so it may still work): the note
    warns, the form's status is not turned into an error."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "415 555 2674", "Jade", "Wong")
        form.photo_url.value = "https://photos.nowhere.example/jade.jpg"
        await form.preview_task
        assert "cardkit-warn" in form.photo_note.value and "No preview" in form.photo_note.value
        assert "404" in form.photo_note.value and form.status.kind != "error"
        assert form.photo_preview.layout.display == "none"

    run(body())


def widget_state_text(widget) -> str:
    """Every synced value of a widget tree (what the browser receives), as one string."""
    import json

    parts = [json.dumps(widget.get_state(), default=repr)]
    for child in getattr(widget, "children", ()):
        parts.append(widget_state_text(child))
    return "\n".join(parts)


def test_an_api_key_never_reaches_the_page_or_the_results():
    """With an adapter built from a key, neither the widgets' state, the repr nor the results show it."""
    import cardkit

    async def body():
        box = Sandbox()
        key = box.credentials["blooio"]["api_key"]
        adapter = cardkit.Blooio(api_key=key, base_url=box.base_urls()["blooio"])
        form = CardForm(sandbox=box, providers=[adapter])
        fill(form, "+14155552671", "Ana", "Ruiz")
        assert form.provider.label == "as given to the form"
        await click(form, form.apply_button)
        assert form.status.kind == "ok", form.status.text
        shown = widget_state_text(form) + repr(form) + form.last_results.to_csv()
        assert key not in shown and "+14155552671" in shown

    run(body())


def test_photo_url_is_downloaded_previewed_and_sent_to_blooio():
    """A photo at an https URL (the sandbox's media host) is fetched, previewed, and sent to Blooio as bytes."""

    async def body():
        form = CardForm(sandbox=True)
        url = form.sandbox.upload((PHOTOS / "cmyk.jpg").read_bytes(), origin="https://sandbox.local")
        fill(form, "+1 212 555 0123", "Dana", "Kim")
        form.photo_url.value = url
        await form.preview_task
        preview = Image.open(io.BytesIO(form.photo_preview.value))
        assert preview.format == "JPEG" and preview.mode == "RGB" and preview.width == preview.height
        assert "CMYK converted to RGB" in form.photo_note.value
        await click(form, form.apply_button)
        assert form.last_results[["provider", "status"]].values.tolist() == [["blooio", "applied"]]
        assert "photo" in form.last_results["changed"].iloc[0]

    run(body())


def test_a_plain_http_photo_url_is_refused_with_the_fix():
    """http:// is refused before any download, and the note says to use https."""

    async def body():
        form = CardForm(sandbox=True)
        form.photo_url.value = "http://example.com/photos/jade.jpg"
        await form.preview_task
        assert "cardkit-bad" in form.photo_note.value and "https" in form.photo_note.value

    run(body())


def test_configured_providers_over_real_http_like_the_real_thing(served_sandbox: str):
    """No sandbox= at all: credentials and URLs come from the environment, requests go over loopback HTTP."""
    import httpx

    async def body():
        form = CardForm()
        fill(form, "(408) 555-0111", "Nia", "Brown")
        await form.lookup_task
        assert form.owners == ["linq"]
        upload(form.photo_upload, PHOTOS / "nia.jpg")
        await form.preview_task
        await click(form, form.apply_button)
        assert form.status.kind == "ok", form.status.text
        assert form.last_results[["provider", "status"]].values.tolist() == [["linq", "applied"]]

    run(body())
    card = httpx.get(served_sandbox + "/_sandbox/state", timeout=10).json()["linq"]["cards"]["+14085550111"]
    assert card["first_name"] == "Nia" and card["image_url"].startswith(served_sandbox)


def test_plan_at_sendblue_says_what_it_cannot_show_and_does_not_use():
    """Sendblue never returns the photo and has no sharing settings: the difference says so instead of guessing."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "+1 312 555 0182", "Hana", "Sato")
        form.sharing_enabled.value = "true"
        upload(form.photo_upload, PHOTOS / "ivan.jpg")
        await form.preview_task
        await click(form, form.plan_button)
        rows = form.last_difference.set_index("field")
        assert rows.loc["photo", "sendblue now"] == "(provider doesn't say)"
        assert rows.loc["sharing", "sendblue"] == "not used by sendblue"
        assert rows.loc["first_name", ["sendblue now", "sendblue"]].tolist()[0] == "(none)"
        assert rows.loc["first_name", "sendblue"].startswith("changes: first_name:")

    run(body())


def test_plan_still_works_when_blooio_cannot_read_cards_yet():
    """Blooio's card GET answering 'coming soon' (as its SDK warns): Plan still plans, 'now' says it can't tell."""

    async def body():
        form = CardForm(sandbox=Sandbox(blooio_card_read="coming_soon"))
        fill(form, "+1 415 555 2672", "Ben", "Okafor")
        await click(form, form.plan_button)
        assert form.status.kind == "ok" and form.last_plan["status"].tolist() == ["planned"]
        rows = form.last_difference.set_index("field")
        assert set(rows["blooio now"]) == {"(provider doesn't say)"}
        await click(form, form.apply_button)
        assert form.last_results["status"].tolist() == ["applied"]

    run(body())


def test_fill_takes_a_validated_row_with_its_photo_and_sharing_and_applies_it():
    """A row of validate(read_cards(sample)) fills every field; its photo is previewed; Apply sends it all."""
    import cardkit

    async def body():
        checked = cardkit.validate(cardkit.read_cards(PHOTOS.parent / "cards.csv"))
        form = CardForm(sandbox=True).fill(checked[checked["row"] == 3].iloc[0])
        await form.preview_task
        assert (form.number.value, form.first_name.value, form.last_name.value) == ("+14155552672", "Ben", "Okafor")
        assert (form.sharing_enabled.value, form.sharing_audience.value) == ("true", "1")
        assert form.photo_note.value.startswith("Will send a ") and "from PNG" in form.photo_note.value
        await click(form, form.apply_button)
        assert form.status.text == "blooio: applied (first_name, last_name, photo, sharing)"

    run(body())


def test_fill_with_unvalidated_sharing_words_says_what_it_left_alone():
    """'yes' / 'contacts only' straight from a sheet aren't guessed: they stay 'leave as is' and the form says so."""
    form = CardForm(sandbox=True).fill({"number": "+14155552671", "first_name": "Ana",
                                        "sharing_enabled": "yes", "sharing_audience": "contacts only"})
    assert form.sharing_enabled.value == "" and form.status.kind == "warning"
    assert "Share name ('yes')" in form.status.text and "pick the value in the list" in form.status.text


async def _seed_sendblue_profile(box: Sandbox, number: str, display_name: str) -> None:
    """Give a Sendblue number a profile with a display name, as another tool would have (real HTTP)."""
    import httpx

    creds, url = box.credentials["sendblue"], box.base_urls()["sendblue"]
    async with httpx.AsyncClient(transport=box.transport(), base_url=url, headers={
            "sb-api-key-id": creds["key_id"], "sb-api-secret-key": creds["secret"]}) as client:
        reply = await client.post("/api/v2/contact-sharing/profile", json={
            "fromNumber": number, "firstName": "Carol", "lastName": "Shaw",
            "photoUrl": "https://images.example.com/carol.jpg", "displayName": display_name})
        assert reply.status_code == 200


def test_display_name_field_is_offered_only_where_the_provider_has_one():
    """Sendblue (owner or picked) shows the display-name field; Blooio and Linq don't."""

    async def body():
        form = CardForm(sandbox=True)
        assert form.display_name.layout.display == "none"
        form.number.value = "+13125550182"  # Sendblue's in the sandbox
        await form.lookup_task
        assert form.owners == ["sendblue"] and form.display_name.layout.display == ""
        form.provider.value = "blooio"
        assert form.display_name.layout.display == "none"
        form.provider.value = "sendblue"
        assert form.display_name.layout.display == ""
        assert "keep the current one" in form.display_name.placeholder

    run(body())


def test_a_display_name_the_form_did_not_set_is_kept():
    """'Carol at Acme' set elsewhere survives a form that changes only the last name (Sendblue replaces whole)."""

    async def body():
        box = Sandbox()
        await _seed_sendblue_profile(box, "+14155552674", "Carol at Acme")
        form = CardForm(sandbox=box)
        fill(form, "+14155552674", "Carol", "Shaw-Lee")
        form.photo_url.value = "https://images.example.com/carol.jpg"
        await form.lookup_task
        await click(form, form.plan_button)
        assert "display_name" not in set(form.last_difference["field"])
        await click(form, form.apply_button)
        assert form.status.kind == "ok" and "sendblue: applied (last_name, photo)" in form.status.text
        card = box.state()["sendblue"]["cards"]["+14155552674"]
        assert (card["lastName"], card["displayName"]) == ("Shaw-Lee", "Carol at Acme")
        form.display_name.value = "Carol — Acme sales"  # typed: it replaces the old one
        await click(form, form.apply_button)
        assert box.state()["sendblue"]["cards"]["+14155552674"]["displayName"] == "Carol — Acme sales"

    run(body())


def test_messages_speak_to_the_person_editing_the_card():
    """An empty first name reads 'The first name is empty — fill it in'; an unowned number points at the Provider list."""

    async def body():
        form = CardForm(sandbox=True)
        fill(form, "+14155552671", "")
        await click(form, form.apply_button)
        assert form.status.kind == "error" and form.status.text.startswith("Not sent — The first name is empty")
        assert "row 2" not in form.status.text and "first_name" not in form.status.text
        fill(form, "+12025550199", "Ada")  # nobody in the sandbox owns it
        await form.lookup_task
        await click(form, form.apply_button)
        assert form.status.kind == "error" and "pick its provider in the Provider list" in form.status.text
        assert "provider column" not in form.status.text

    run(body())


def test_a_form_offers_a_static_snapshot_for_pages_without_widgets():
    """Its mime bundle has text/html: the fields as filled, the status, and a note that it is a snapshot."""
    form = CardForm(sandbox=True).fill({"number": "+14155552671", "first_name": "Grace", "last_name": "Hopper"})
    bundle = form._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    snapshot = data["text/html"]
    assert "A snapshot of this form" in snapshot and "Grace" in snapshot and "Hopper" in snapshot
    assert "+14155552671" in snapshot and "<script" not in snapshot
