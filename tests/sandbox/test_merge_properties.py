"""Property: any sequence of Blooio PUTs and Linq PATCHes leaves exactly the documented merge of them."""

from __future__ import annotations

import asyncio

import httpx
from hypothesis import given, settings, strategies as st

from cardkit.sandbox import Sandbox

names = st.one_of(st.none(), st.text(alphabet="abcXYZ é", min_size=1, max_size=6))
sharing = st.fixed_dictionaries({}, optional={"enabled": st.booleans(), "audience": st.sampled_from([0, 1]),
                                              "name_format": st.sampled_from([0, 1])})
blooio_updates = st.lists(st.fixed_dictionaries({}, optional={"first_name": names, "last_name": names,
                                                              "sharing": sharing}), min_size=1, max_size=6)
linq_updates = st.lists(st.fixed_dictionaries({}, optional={"first_name": st.text(alphabet="abc", min_size=1, max_size=4),
                                                            "last_name": st.text(alphabet="abc", max_size=4)}),
                        min_size=1, max_size=2)


def send_all(sandbox: Sandbox, requests) -> list[int]:
    async def run():
        async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
            return [(await client.request(*request[:2], **request[2])).status_code for request in requests]

    return asyncio.run(run())


@settings(max_examples=60, deadline=None)
@given(blooio_updates)
def test_blooio_card_is_the_merge_of_every_put(updates):
    """Top-level fields and sharing sub-fields both merge: the stored card is the fold of all bodies."""
    sandbox = Sandbox()
    headers = {"Authorization": f"Bearer {sandbox.credentials['blooio']['api_key']}"}
    url = "/blooio/v2/api/me/numbers/+14155552671/contact-card"
    statuses = send_all(sandbox, [("PUT", url, {"json": body, "headers": headers}) for body in updates])
    assert statuses == [200] * len(updates)
    expected: dict = {}
    for body in updates:
        for key, value in body.items():
            expected[key] = {**expected.get(key, {}), **value} if key == "sharing" else value
    assert sandbox.state()["blooio"]["cards"]["+14155552671"] == expected


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="abc", min_size=1, max_size=4), linq_updates)
def test_linq_card_is_the_create_merged_with_every_patch(first_name, patches):
    """A Linq POST then PATCHes (within the budget) leave the POST's card with each PATCH's fields applied."""
    sandbox = Sandbox()
    headers = {"Authorization": f"Bearer {sandbox.credentials['linq']['api_key']}"}
    line = "+14085550111"
    requests = [("POST", "/linq/api/partner/v3/contact_card",
                 {"json": {"phone_number": line, "first_name": first_name}, "headers": headers})]
    requests += [("PATCH", "/linq/api/partner/v3/contact_card",
                  {"json": body, "params": {"phone_number": line}, "headers": headers}) for body in patches]
    assert send_all(sandbox, requests) == [200] * len(requests)
    expected = {"first_name": first_name, "last_name": None}
    for body in patches:
        expected.update({key: value or None for key, value in body.items()})
    card = sandbox.state()["linq"]["cards"][line]
    assert {key: card[key] for key in expected} == expected
