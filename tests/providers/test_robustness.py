"""Whatever a provider answers, an adapter ends in a result or a ProviderError — never a crash."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings, strategies as st

from cardkit.contacts import Contact, SendblueContacts
from cardkit.providers import Blooio, Card, Current, Linq, ProviderError, Reply, Sendblue, Sharing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
# bodies shaped like the providers' own, with arbitrary values inside
shaped = st.one_of(
    json_values,
    st.fixed_dictionaries({"error": json_values, "message": json_values, "code": json_values}),
    st.fixed_dictionaries({"success": st.just(False), "error": st.dictionaries(
        st.sampled_from(["status", "code", "message", "retry_after"]), json_values)}),
    st.fixed_dictionaries({"status": json_values, "data": json_values}),
    st.fixed_dictionaries({"contact_cards": st.lists(st.dictionaries(
        st.sampled_from(["phone_number", "first_name", "last_name", "image_url", "is_active"]), json_values))}),
    st.fixed_dictionaries({"numbers": json_values, "phone_numbers": json_values, "contact": json_values}),
)
replies = st.builds(Reply, status=st.integers(100, 599), body=shaped,
                    headers=st.dictionaries(st.sampled_from(["Retry-After", "retry-after-ms", "x"]),
                                            st.text(max_size=12), max_size=2))

ADAPTERS = [Blooio(api_key="k"), Sendblue(api_key="k", api_secret="s"), Linq(api_key="k")]
CARD = Card("+14085550111", "Ada", "Lovelace", photo_bytes=b"\xff\xd8\xffjpeg", photo_digest="d",
            photo_url="https://cdn.example.com/a.jpg", sharing=Sharing(True, 0, 0))


def drive(coroutine):
    try:
        return asyncio.run(coroutine)
    except ProviderError as failure:
        assert isinstance(failure.message, str) and failure.message
        return failure


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.lists(replies, min_size=3, max_size=3))
def test_any_reply_gives_a_result_or_a_provider_failure(answers):
    """read, write, list_numbers and share of every adapter survive arbitrary replies."""
    for adapter in ADAPTERS + [SendblueContacts(ADAPTERS[1], create_missing=True)]:
        queue = list(answers) * 3

        async def send(method, path, *, params=None, json=None):
            return queue.pop(0)

        card = Contact("+14085550111", "Ada", tags=("vip",)) if isinstance(adapter, SendblueContacts) else CARD
        drive(adapter.list_numbers(send))
        current = drive(adapter.read(send, card.number))
        if isinstance(current, Current):
            adapter.change(card, current)
        drive(adapter.write(send, card, current if isinstance(current, Current) else Current(known=False)))
        if not isinstance(adapter, SendblueContacts):
            drive(adapter.share(send, "+15557654321"))
