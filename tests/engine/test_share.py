"""Sharing the card into chats in bulk: routed per account, journaled and resumable, one
message per chat even when a send lands but times out — over HTTP against the sandbox."""

from __future__ import annotations

import uuid

import pytest

import cardkit
from cardkit.columns import RESULT_COLUMNS
from cardkit.engine.journal import Journal
from cardkit.sandbox import Sandbox

from .conftest import BLOOIO, BLOOIO_2, LINQ, NOBODY, SENDBLUE, cards_of, write_sheet
from .test_accounts import EAST, EU, KEYS, US, WEST, accounts, accounts_seed  # noqa: F401 (fixture)


def chats_sheet(tmp_path, rows, name="chats.csv"):
    return write_sheet(tmp_path / name, rows)


def with_messages(box: Sandbox) -> dict[str, int]:
    """Messages carrying the card, per chat, as the sandbox counted them."""
    return dict(box.state()["blooio"]["shares"]["with_message"])


def active_linq_cards(box: Sandbox, numbers, tmp_path) -> None:
    """Linq shares only from a line with an active card: apply one first."""
    cards = cards_of([{"Phone": n, "First Name": "L"} for n in numbers], tmp_path, name="linq_cards.csv")
    assert set(cardkit.apply(cards, "linq", sandbox=box, progress=False)["status"]) == {"applied"}


def test_a_sheet_of_chats_is_shared_per_provider_with_a_chat_column(sandbox, tmp_path):
    """Blooio sends the card with the message (from the row's number); Linq shares it (no message);
    Sendblue and unknown numbers are reported; every row has a verdict and its chat."""
    active_linq_cards(sandbox, [LINQ], tmp_path)
    linq_chat = str(uuid.uuid4())
    sheet = chats_sheet(tmp_path, [
        {"From": BLOOIO, "Chat": "+15551230001", "Message": "Hello"},
        {"From": BLOOIO_2, "Chat": "(415) 555-2690", "Message": ""},
        {"From": BLOOIO, "Chat": "+15551230003,ada@example.com", "Message": ""},
        {"From": LINQ, "Chat": linq_chat, "Message": ""},
        {"From": SENDBLUE, "Chat": "+15551230004", "Message": ""},
        {"From": NOBODY, "Chat": "+15551230005", "Message": ""},
        {"From": BLOOIO, "Chat": "", "Message": ""},
    ])
    results = cardkit.share(sheet, message="Default text", sandbox=sandbox, progress=False)
    assert list(results.columns) == list(RESULT_COLUMNS)
    assert results["chat"].tolist()[:4] == ["+15551230001", "+14155552690", "+15551230003,ada@example.com", linq_chat]
    assert results["status"].tolist() == ["applied"] * 4 + ["invalid"] * 3
    assert results["action"].tolist()[:4] == ["share"] * 4
    # the number a share went from is reported only where cardkit chose it (a Blooio message)
    assert results["number"].tolist()[:4] == [BLOOIO, BLOOIO_2, BLOOIO, ""]
    assert "Sendblue has no API to share" in results.loc[4, "message"]
    assert "no configured provider owns" in results.loc[5, "message"]
    assert "Chat: empty" in results.loc[6, "message"]
    # a row's own message, else --message: every Blooio chat got one message carrying the card
    assert with_messages(sandbox) == {"+15551230001": 1, "+14155552690": 1, "+15551230003,ada@example.com": 1}
    assert sandbox.state()["linq"]["shares"] == {linq_chat: 1}


def test_a_staged_share_does_not_report_a_number_it_did_not_use(sandbox):
    """Blooio's staging takes no sending number: the result shows none and says so."""
    staged = cardkit.share_card("+15551230000", provider="blooio", from_number=BLOOIO, sandbox=sandbox)
    row = staged.iloc[0]
    assert row["status"] == "applied" and row["number"] == ""
    assert "staged" in row["message"] and f"from_number {BLOOIO} was not used" in row["message"]
    sent = cardkit.share_card("+15551230000", provider="blooio", from_number=BLOOIO, text="Hi", sandbox=sandbox)
    assert sent.loc[0, ["status", "number"]].tolist() == ["applied", BLOOIO]


def test_a_plan_of_shares_says_what_would_be_sent_and_sends_nothing(sandbox, tmp_path):
    """dry_run routes and checks every chat and shares nothing."""
    sheet = chats_sheet(tmp_path, [{"Number": BLOOIO, "Chat": "+15551230001", "Message": "Hi"}])
    results = cardkit.share(sheet, sandbox=sandbox, dry_run=True, progress=False)
    assert results.loc[0, "status"] == "planned"
    assert results.loc[0, "message"].startswith("would share (a message with the card to +15551230001, from")
    assert with_messages(sandbox) == {}


def test_shares_are_routed_across_accounts_and_resumed_by_account(accounts, tmp_path):  # noqa: F811
    """Two Blooio and two Linq accounts: each chat goes from the account owning its number, the
    account column says which, and a re-run with the journal shares nothing again."""
    box = Sandbox(seed=accounts_seed())
    for numbers, account in ((US, "linq-us"), (EU, "linq-eu")):
        cards = cards_of([{"Phone": numbers[0], "First Name": "L"}], tmp_path, name=f"{account}.csv")
        assert cardkit.apply(cards, accounts=accounts, sandbox=box, progress=False)["account"].tolist() == [account]
    chats = [str(uuid.uuid4()), str(uuid.uuid4())]
    sheet = chats_sheet(tmp_path, [
        {"Number": EAST[0], "Chat": "+15551230001", "Message": "East"},
        {"Number": WEST[0], "Chat": "+15551230002", "Message": "West"},
        {"Number": US[0], "Chat": chats[0], "Message": ""},
        {"Number": EU[0], "Chat": chats[1], "Message": ""},
    ])
    journal = tmp_path / "chats.journal.sqlite"
    first = cardkit.share(sheet, accounts=accounts, sandbox=box, journal=journal, progress=False)
    assert first["account"].tolist() == ["blooio-east", "blooio-west", "linq-us", "linq-eu"]
    assert first["status"].tolist() == ["applied"] * 4
    again = cardkit.share(sheet, accounts=accounts, sandbox=box, journal=journal, progress=False)
    assert again["status"].tolist() == ["unchanged"] * 4
    assert all(m.startswith("already applied in run") for m in again["message"])
    assert with_messages(box) == {"+15551230001": 1, "+15551230002": 1}
    assert box.state()["linq"]["shares"] == {chats[0]: 1, chats[1]: 1}
    with Journal(journal) as opened:
        assert opened.results(first.attrs["cardkit"]["run_id"])["chat"].tolist()[:2] == ["+15551230001", "+15551230002"]
    text = journal.read_bytes()
    assert not any(key.encode() in text for key in KEYS.values())


def test_a_send_that_lands_but_times_out_leaves_one_message_in_the_chat(tmp_path):
    """The first send is applied, then hangs past the deadline; the retry carries the same
    Idempotency-Key, Blooio refuses a second copy, and the chat holds one message."""
    for fault_seed in range(200):
        box = Sandbox(fault_rate=0.5, fault_mix={"hang": 1.0}, fault_seed=fault_seed, hang_seconds=2)
        results = cardkit.share_card("+15551230009", provider="blooio", text="Once only", from_number=BLOOIO,
                                     sandbox=box, timeout=0.3)
        log = box.state()["faults"]
        first_landed_and_hung = bool(log) and log[0]["path"].endswith("/messages") and log[0]["applied"]
        if first_landed_and_hung and results.loc[0, "status"] == "applied":   # a later attempt answered
            break
    else:
        pytest.fail("no fault seed gave a send that landed, hung, and was then answered")
    row = results.iloc[0]
    assert row["attempts"] >= 2 and "an earlier attempt had landed" in row["message"]
    assert with_messages(box) == {"+15551230009": 1}
    assert box.state()["blooio"]["messages_by_chat"] == {"+15551230009": 1}


def test_the_idempotency_key_is_kept_across_a_resumed_run(sandbox, tmp_path):
    """A share a stopped run left unconfirmed is sent again under the first run's key."""
    sheet = chats_sheet(tmp_path, [{"Number": BLOOIO, "Chat": "+15551230011", "Message": "Hi"}])
    journal = tmp_path / "chats.journal.sqlite"
    first = cardkit.share(sheet, sandbox=sandbox, journal=journal, progress=False)
    assert first.loc[0, "status"] == "applied"
    with Journal(journal) as opened:           # as if the run had died after sending
        opened._db.execute("UPDATE ops SET state='sending', status=NULL")
        (key,) = opened._db.execute("SELECT idempotency_key FROM ops").fetchone()
    assert key.startswith("cardkit-")
    again = cardkit.share(sheet, sandbox=sandbox, journal=journal, progress=False)
    assert again.loc[0, "status"] == "applied"
    assert "Idempotency-Key" in again.loc[0, "message"]
    with Journal(journal) as opened:
        keys = [k for (k,) in opened._db.execute("SELECT idempotency_key FROM ops ORDER BY rowid")]
    assert keys == [key, key]
    assert with_messages(sandbox) == {"+15551230011": 1}
    assert sandbox.state()["blooio"]["messages_by_chat"] == {"+15551230011": 1}
