"""The bodies cardkit sends use only the field names the vendors' own SDKs send.

The SDKs (`blooio`, `linq-python`, `sendblue`) are the reference for the wire: every key of
every request body recorded here must be a wire name of the matching SDK params type.
Sendblue's contact-sharing endpoints are not in its SDK, so they are checked against the
documented fields (provider-docs/002) instead.
"""

from __future__ import annotations

import json
import typing

from cardkit.providers import Card, Sharing
from cardkit.sandbox import Sandbox

from .test_contacts import SHEET
from .test_sandbox_adapters import DIGEST, JPEG, Wire


def wire_names(params_type) -> set[str]:
    """The JSON keys an SDK TypedDict sends (aliases where the SDK renames)."""
    names = set()
    for key, hint in typing.get_type_hints(params_type, include_extras=True).items():
        aliases = [getattr(m, "alias", None) for m in getattr(hint, "__metadata__", ())]
        names.add(next((a for a in aliases if a), key))
    return names


def bodies(wire: Wire, method: str, path_part: str) -> list[dict]:
    return [json.loads(r.content) for r in wire.requests
            if r.method == method and path_part in r.url.path and r.content]


def test_blooio_card_body_matches_the_sdk():
    """PUT contact-card keys (and sharing's) are those of blooio's ContactCardUpdateParams."""
    from blooio.types.me.numbers.contact_card_update_params import ContactCardUpdateParams, Sharing as SdkSharing

    wire = Wire()
    wire.apply(wire.blooio, Card("+14155552671", "Ada", "Lovelace", photo_bytes=JPEG, photo_digest=DIGEST,
                                 sharing=Sharing(True, 0, 1)))
    (body,) = bodies(wire, "PUT", "contact-card")
    assert set(body) <= wire_names(ContactCardUpdateParams)
    assert set(body["sharing"]) <= wire_names(SdkSharing)


def test_blooio_message_share_body_matches_the_sdk():
    """The share-with-a-message body uses MessageSendParams' names."""
    from blooio.types.chats.message_send_params import MessageSendParams

    wire = Wire()
    wire.run(wire.blooio, "share", "+15557654321", text="hello", from_number="+14155552671")
    (body,) = bodies(wire, "POST", "/messages")
    assert set(body) <= wire_names(MessageSendParams)


def test_linq_create_and_update_bodies_match_the_sdk():
    """POST keys ⊆ ContactCardCreateParams, PATCH keys ⊆ ContactCardUpdateParams (minus the query)."""
    from linq.types.contact_card_create_params import ContactCardCreateParams
    from linq.types.contact_card_update_params import ContactCardUpdateParams

    wire = Wire()
    url = wire.upload()
    wire.apply(wire.linq, Card("+14085550111", "Ada", "Lovelace", photo_url=url))
    wire.apply(wire.linq, Card("+14085550111", "Augusta", "King", photo_url=url))
    (created,) = bodies(wire, "POST", "contact_card")
    (updated,) = bodies(wire, "PATCH", "contact_card")
    assert set(created) <= wire_names(ContactCardCreateParams)
    assert set(updated) <= wire_names(ContactCardUpdateParams) - {"phone_number"}


def test_sendblue_profile_body_has_the_documented_fields():
    """Contact sharing is not in the SDK: the POST carries exactly the documented fields."""
    wire = Wire()
    url = wire.upload()
    wire.apply(wire.sendblue, Card("+13125550182", "Ada", "Lovelace", photo_url=url, display_name="Ada at Acme"))
    (body,) = bodies(wire, "POST", "contact-sharing/profile")
    assert set(body) == {"fromNumber", "firstName", "lastName", "photoUrl", "displayName"}


def test_sendblue_contact_bodies_match_the_sdk(tmp_path):
    """Contacts: POST keys ⊆ ContactCreateParams (no company_name there), PUT ⊆ ContactUpdateParams."""
    from sendblue_api.types.contact_create_params import ContactCreateParams
    from sendblue_api.types.contact_update_params import ContactUpdateParams

    import cardkit

    sheet = tmp_path / "contacts.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    box = Sandbox()
    seen: list = []
    original = box.app

    async def recording(scope, receive, send):
        if scope["type"] == "http" and "/api/v2/contacts" in scope["path"] and scope["method"] in ("POST", "PUT"):
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            seen.append((scope["method"], json.loads(body)))
            done = False

            async def replay():
                nonlocal done
                if done:
                    return {"type": "http.disconnect"}
                done = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await original(scope, replay, send)
        return await original(scope, receive, send)

    box.app = recording              # the engine reaches the app through box.transport()
    cardkit.update_contacts(sheet, sandbox=box, progress=False, create_missing=True)
    posts = [b for m, b in seen if m == "POST"]
    puts = [b for m, b in seen if m == "PUT"]
    assert posts and puts, seen          # row 2 has a company: created, then PUT
    for body in posts:
        assert set(body) <= wire_names(ContactCreateParams)
    for body in puts:
        assert set(body) <= wire_names(ContactUpdateParams)
    assert box.state()["sendblue"]["contacts"]["+13125550182"]["company_name"] == "Acme"
