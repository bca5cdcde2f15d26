"""One retry policy for every kind of operation: card operations, number discovery and card
sharing meet the sandbox's seeded faults and retry, give up and say so in the same words."""

from __future__ import annotations

import logging
import re

import pytest

from cardkit.engine import apply, share_card
from cardkit.engine.retry_policy import RetryPolicy
from cardkit.errors import Permanent, Transient
from cardkit.sandbox import Sandbox

from .conftest import BLOOIO, cards_of

RETRYING = re.compile(r"^retrying after attempt (\d+): \S")
GAVE_UP = re.compile(r"^gave up after (\d+) attempts?: \S")


def always_failing() -> Sandbox:
    """Every request meets one of the provider's own transient errors."""
    return Sandbox(fault_rate=1.0, fault_mix={"error": 1.0})


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the retry policy announced, in order."""
    return [r.getMessage() for r in caplog.records if r.name == "cardkit.retries"]


def test_card_operations_retry_then_give_up_in_the_policys_words(tmp_path, caplog):
    """A card operation says "retrying after attempt 1", then "gave up after 3 attempts"."""
    caplog.set_level(logging.INFO, logger="cardkit.retries")
    results = apply(cards_of([{"Phone": BLOOIO, "First Name": "Ana"}], tmp_path), "blooio",
                    sandbox=always_failing(), progress=False, max_attempts=3)
    assert GAVE_UP.match(results.loc[0, "message"]) and results.loc[0, "attempts"] == 3
    announced = said(caplog)
    assert [RETRYING.match(m).group(1) for m in announced[:2]] == ["1", "2"]
    assert announced[2] == results.loc[0, "message"]


def test_number_discovery_retries_and_gives_up_in_the_same_words(tmp_path, caplog):
    """Listing numbers for routing retries under the same policy; the row quotes its give-up."""
    caplog.set_level(logging.INFO, logger="cardkit.retries")
    results = apply(cards_of([{"Phone": BLOOIO, "First Name": "Ana"}], tmp_path), "blooio,linq",
                    sandbox=always_failing(), progress=False, max_attempts=2)
    message = results.loc[0, "message"]
    for provider in ("blooio", "linq"):
        listed = message.split(f"{provider}'s numbers could not be listed: ", 1)[1]
        assert GAVE_UP.match(listed) and GAVE_UP.match(listed).group(1) == "2"
    announced = said(caplog)
    assert sum(bool(RETRYING.match(m)) for m in announced) == 2       # one retry per provider
    assert sum(bool(GAVE_UP.match(m)) for m in announced) == 2


def test_sharing_retries_and_gives_up_in_the_same_words(caplog):
    """Sharing a card retries under the same policy and its result says it gave up, and what to do."""
    caplog.set_level(logging.INFO, logger="cardkit.retries")
    results = share_card("+14155550100", provider="blooio", sandbox=always_failing(), max_attempts=2)
    row = results.iloc[0]
    assert row["status"] == "failed" and row["attempts"] == 2 and row["http_status"] >= 500
    assert GAVE_UP.match(row["message"]) and row["message"].endswith("share the card again later")
    assert [bool(RETRYING.match(m)) for m in said(caplog)] == [True, False]


def test_a_permanent_failure_is_never_retried_and_keeps_its_own_words():
    """The policy ends a Permanent failure at once with its message; a Transient gets its wait."""
    policy = RetryPolicy(max_attempts=5)
    refused = Permanent("Blooio answered 401 — check BLOOIO_API_KEY")
    decision = policy.after(refused, 1)
    assert (decision.retry, decision.message) == (False, refused.message)
    busy = Transient("Linq answered 503 (code 4004)", retry_after=30.0)
    assert policy.after(busy, 1).retry and policy.after(busy, 5).message.startswith("gave up after 5 attempts")
